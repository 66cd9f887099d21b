"""The overhead benchmark's null driver (bench/bench_overhead.py --driver null): bench/programs' overhead
loop on tests/programs' fake ICD as the only vendor, its log off. What the benchmark's figures rest on:
every launch is recorded with the fake's made-up device times in each sync pattern and capture mode, the
app's own events are left to the app, and "off" really writes no log."""
import os
import subprocess

import pytest

import cltrace
from conftest import ROOT

BENCH_PROGRAMS = os.path.join(ROOT, "bench", "programs")
NS_PER_ITEM = 1000      # the fake ICD's device time per work-item
GLOBAL = 64             # the overhead loop's global size
LAUNCHES, WARMUP = 300, 200


@pytest.fixture(scope="module")
def overhead():
    subprocess.run(["make", "-s", "-C", BENCH_PROGRAMS], check=True)
    return os.path.join(BENCH_PROGRAMS, "bin", "overhead")


@pytest.mark.parametrize("mode", ["layer", "preload"])
@pytest.mark.parametrize("pattern", [[], ["--finish-every", "1"], ["--app-event"]], ids=["trivial", "sync", "event"])
def test_null_driver_records_every_launch(cli, programs, overhead, tmp_path, mode, pattern):
    vendors = tmp_path / "vendors"
    vendors.mkdir()
    (vendors / "null.icd").write_text(programs("libcltrace_fake_icd.so") + "\n")
    env = {"OCL_ICD_VENDORS": str(vendors), "FAKE_ICD_LOG": "off"}
    db = tmp_path / "t.db"
    p = cli("run", "-q", "-o", db, "--mode", mode, "--", overhead, "trivial", "--launches", LAUNCHES, *pattern,
            cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    assert f"launches={LAUNCHES} " in p.stdout and f"warmup={WARMUP} " in p.stdout
    assert sorted(os.listdir(tmp_path)) == ["t.db", "vendors"]          # no log file, nothing else
    L = cltrace.open(str(db)).launches
    assert len(L) == LAUNCHES + WARMUP
    assert set(L["times_status"]) == {"ok"}
    assert (L["duration_ns"] == GLOBAL * NS_PER_ITEM).all()
    assert (L["own_event"] == (0 if "--app-event" in pattern else 1)).all()


@pytest.mark.parametrize("pattern", [[], ["--finish-every", "1"], ["--app-event"]], ids=["trivial", "sync", "event"])
def test_self_timed_reads_the_device_times_of_every_launch(programs, overhead, tmp_path, pattern):
    """bench_overhead.py --self-timed: the untraced program itself reads four timestamps of every timed launch."""
    vendors = tmp_path / "vendors"
    vendors.mkdir()
    (vendors / "null.icd").write_text(programs("libcltrace_fake_icd.so") + "\n")
    env = dict(os.environ, OCL_ICD_VENDORS=str(vendors), FAKE_ICD_LOG="off")
    p = subprocess.run([overhead, "trivial", "--launches", str(LAUNCHES), "--self-timed", *pattern],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert " self_timed=1 " in p.stdout and f" stamp_reads={4 * LAUNCHES} " in p.stdout
    assert f" device_ns_per_launch={GLOBAL * NS_PER_ITEM}.0" in p.stdout
