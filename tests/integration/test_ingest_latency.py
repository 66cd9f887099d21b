"""The run latency a sweep's progress line shows is summed by the ingest (IngestStats.latency_ms) while it writes
the launches, not read back with a query per run: on real PoCL traces it equals what the query gives, the
query over the `launches` view that the progress line ran before, and run_latency_ms (the run's own launch
ranges), for one region, no region and two processes."""
import re

import pytest

from cltrace.record.session import trace_into
from cltrace.store.db import create_db, open_db
from cltrace.store.queries import run_latency_ms

VIEW_SUMS = ("SELECT region_id, SUM(duration_ns) FROM launches WHERE run_id = ? AND duration_ns IS NOT NULL "
             "GROUP BY region_id")


@pytest.fixture
def trace(tmp_path):
    conn = create_db(tmp_path / "t.db")
    yield conn
    conn.close()


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_the_ingests_latency_is_the_querys_on_real_runs(trace, programs, mode):
    runs = [
        ([programs("linked"), "300"], 300, 1),            # 300 launches in one region "loop"
        ([programs("loop"), "20", "10"], 200, 0),        # no region: the run's total device time
        ([programs("forker"), "40", "fork"], 80, 0),     # two processes, 40 launches each
        ([programs("linked"), "50"], 50, 1),             # after other runs: only its own launches count
    ]
    for argv, launches, regions in runs:
        traced = trace_into(trace, argv, mode=mode, stdout=open("/dev/null", "wb"))
        assert traced.child.status == "ok" and traced.stats.launches == launches
        sums = dict(trace.execute(VIEW_SUMS, (traced.run_id,)).fetchall())
        assert traced.stats.region_device_ns == sums
        assert len([r for r in sums if r is not None]) == regions
        latency = traced.stats.latency_ms()
        assert latency is not None and latency > 0
        assert latency == run_latency_ms(trace, traced.run_id) == sum(sums.values()) / 1e6


def test_the_progress_line_shows_the_runs_latency(tmp_path, cli, programs):
    p = cli("sweep", "-p", "n=40,80", "--repeat", "2", "-o", "s.db", "--", programs("linked"), "{n}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    shown = re.findall(r"last: n=(\d+) -> (\d+\.\d{3}) ms", p.stderr)      # one line per run here (4 runs)
    conn = open_db(tmp_path / "s.db")
    try:
        runs = conn.execute("SELECT r.run_id, t.value FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
                            "AND t.key = 'n' ORDER BY r.run_id").fetchall()
        assert len(runs) == 4
        assert shown == [(n, f"{run_latency_ms(conn, r):.3f}") for r, n in runs], p.stderr
    finally:
        conn.close()
