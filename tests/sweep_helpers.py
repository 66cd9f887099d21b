"""What the sweep integration tests (test_sweep_cli.py, test_sweep_records.py) share: the tiny program they
sweep, the bare system tree every sweep reads, and waiting for runs to be recorded."""
import sqlite3
import sys
import time

PY = sys.executable
# A tiny "benchmark": fails for c=3, sleeps when asked, never touches OpenCL (the sweep logic is under test).
PROG = "import sys, time; c = int(sys.argv[1]); time.sleep(float(sys.argv[2])); sys.exit(5 if c == 3 else 0)"


def bare_system(tmp_path_factory, monkeypatch):
    """An empty system tree (no cpufreq, no /proc): no governor is read or written. Each module makes it its
    autouse fixture: `_bare_system = pytest.fixture(autouse=True)(bare_system)`."""
    monkeypatch.setenv("CLTRACE_SYSTEM_ROOT", str(tmp_path_factory.mktemp("bare-system")))
    monkeypatch.delenv("POCL_AFFINITY", raising=False)


def runs_recorded(path) -> int:
    """The runs in the trace at path so far (0 while it does not exist or is being created)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
            return c.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_for_runs(path, n, proc, deadline_s=120) -> None:
    """Until the sweep `proc` writing path has recorded n runs; AssertionError if it exits first or after
    deadline_s."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        if runs_recorded(path) >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} runs after {deadline_s} s")
