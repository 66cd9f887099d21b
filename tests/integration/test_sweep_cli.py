"""cltrace sweep: tagging, failures recorded and skipped over, --resume, Ctrl-C keeps finished runs."""
import signal
import subprocess
import sys
import time

import cltrace

PY = sys.executable
# A tiny "benchmark": fails for c=3, sleeps when asked, never touches OpenCL (the sweep logic is under test).
PROG = "import sys, time; c = int(sys.argv[1]); time.sleep(float(sys.argv[2])); sys.exit(5 if c == 3 else 0)"


def test_sweep_tags_runs_and_goes_on_after_a_failure(tmp_path, cli):
    p = cli("sweep", "-q", "-p", "c=1:4", "-p", "m=a,b", "--repeat", "2", "-o", "s.db", "--",
            PY, "-c", PROG, "{c}", "0", "{m}", cwd=tmp_path)
    assert p.returncode == 1                      # a run failed
    lines = p.stderr.splitlines()
    assert lines[0] == "cltrace: 16/16 runs recorded in s.db; 4 failed"
    assert lines[1].startswith("cltrace:   failed: c=3 m=a (exit 5)")
    t = cltrace.open(str(tmp_path / "s.db"))
    assert len(t.runs) == 16
    params = t.params
    assert sorted(params.columns) == ["c", "m"]
    failed = t.runs[t.runs.status == "failed"]
    assert set(params.loc[failed.run_id, "c"]) == {3} and set(failed.exit_status) == {5}
    assert sorted(t.runs.repeat_index.unique()) == [0, 1]
    assert (t.notes.kind == "stderr-tail").sum() == 4


def test_resume_skips_completed_configurations(tmp_path, cli):
    args = ["sweep", "-q", "-p", "c=1:2", "--repeat", "2", "-o", "r.db", "--", PY, "-c", PROG, "{c}", "0"]
    assert cli(*args, cwd=tmp_path).returncode == 0
    p = cli(*args[:-6], "--resume", *args[-6:], cwd=tmp_path)
    assert p.returncode == 0
    assert "cltrace: resume: 4 runs already done, 0 to go" in p.stderr
    assert len(cltrace.open(str(tmp_path / "r.db")).runs) == 4
    p = cli(*[a if a != "--repeat" else a for a in args[:4]], "--repeat", "3", "-o", "r.db", "--resume", "--",
            PY, "-c", PROG, "{c}", "0", cwd=tmp_path)
    assert "resume: 4 runs already done, 2 to go" in p.stderr
    assert len(cltrace.open(str(tmp_path / "r.db")).runs) == 6


def _runs_recorded(path) -> int:
    import sqlite3
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
            return c.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_ctrl_c_stops_cleanly_and_keeps_finished_runs(tmp_path):
    cmd = [PY, "-m", "cltrace.cli.main", "sweep", "-q", "-p", "c=1:50", "--repeat", "1", "-o", "i.db", "--",
           PY, "-c", PROG, "{c}", "0.3"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _runs_recorded(tmp_path / "i.db") < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: finished runs are kept; continue with --resume" in err
    assert "Traceback" not in err
    t = cltrace.open(str(tmp_path / "i.db"))
    done = t.runs[t.runs.status == "ok"]
    assert 2 <= len(done) < 50
    assert set(t.runs.status) <= {"ok", "interrupted"}


def test_dry_run_prints_the_plan(tmp_path, cli):
    p = cli("sweep", "--dry-run", "-p", "c=2:1", "-p", "m=x", "--", "prog", "--c={c}", "{m}", cwd=tmp_path)
    assert p.returncode == 0
    assert p.stdout.splitlines()[:2] == ["[1/6] prog --c=2 x", "[2/6] prog --c=1 x"]
