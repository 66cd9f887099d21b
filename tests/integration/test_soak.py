"""The soak bench (bench/bench_soak.py) as a real test: a short soak, every check it prints.

The full soak is 30 minutes (issue 27); here 40 s of the same multi-threaded program (six finish patterns,
app events) at 25k launches/s, about a million launches, under the real shim on PoCL."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "bench", "bench_soak.py")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_short_soak_loses_nothing(tmp_path):
    # a million launches in 40 s cannot resolve an RSS slope of 1 MB per 10M launches: PoCL and malloc settle
    # in the first tens of seconds (a 3 MB step at ~30 s in a 5-minute soak), so the short soak allows 50 MB
    # per 10M launches, which still fails a leak of 5 bytes a launch; the 30-minute one holds 1. Nothing is
    # timed here (bench/README: goals live in the benches): no ingest rate, no report time; the report's
    # memory bound stays
    p = subprocess.run([sys.executable, BENCH, "--minutes", "0.67", "--rate", "25000", "--interval", "0.5",
                        "--rss-target", "50", "--min-ingest", "0", "--report-seconds", "0", "--keep",
                        str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    launched = int(re.search(r"program: ([\d,]+) launches", out).group(1).replace(",", ""))
    assert launched > 500_000
    assert f"{launched:,} launch rows of {launched:,} launched (0 lost)" in out
    assert f"{launched:,} distinct sequence numbers" in out
    for check in ("every launch recorded", "program RSS flat", "capture disk as predicted", "ingest rate held",
                  "report within its bound"):
        assert re.search(rf"CHECK {check}: .*: PASS$", out, re.M), out
    # every finish pattern ran
    for pattern in ("batch", "events", "waits", "sync", "shared", "marker"):
        assert re.search(rf"\b{pattern} [\d,]+", out), out
    assert out.rstrip().endswith("SOAK PASS")
