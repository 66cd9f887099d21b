"""A Ctrl-C between a program's exit and cltrace reaping it stops a sweep as any Ctrl-C does (before: it was
forwarded to the exited program; the run was stored as 'interrupted' though the program had finished). The
window is arranged by holding cltrace's reaper (tests/interrupt_window.py): deterministic."""
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from interrupt_window import HOOK

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cltrace_with_hook(args, tmp_path, sig="SIGINT", run_no=2):
    code = HOOK.format(tests=TESTS, sig=sig, run_no=run_no)
    env = {**os.environ, "CLTRACE_SYSTEM_ROOT": str(tmp_path / "no-system")}   # no governor read or written
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=300)


def _runs(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT status, exit_status FROM runs ORDER BY run_id").fetchall()


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_late_signal_stops_the_sweep_after_the_run_is_stored(tmp_path, sig):
    db = tmp_path / "s.db"
    sweep = ["sweep", "-o", str(db), "--repeat", "1", "--order", "sequential", "--allow-unused-param",
             "-p", "c=1:5", "--", "true"]
    p = _cltrace_with_hook(sweep, tmp_path, sig)
    assert p.returncode == 130, p.stderr
    lines = p.stderr.splitlines()
    assert lines[-2:] == [f"cltrace: 2/5 runs recorded in {db}",
                          "cltrace: interrupted: finished runs are kept; continue with --resume"]
    assert _runs(db) == [("ok", 0), ("ok", 0)]          # before: the second 'interrupted', and re-run by --resume
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", *sweep[:1], "--resume", *sweep[1:]],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300,
                       env={**os.environ, "CLTRACE_SYSTEM_ROOT": str(tmp_path / "no-system")})
    assert p.returncode == 0, p.stderr
    assert _runs(db) == [("ok", 0)] * 5


def test_cltrace_run_records_the_run_and_exits_as_interrupted(tmp_path):
    db = tmp_path / "r.db"
    p = _cltrace_with_hook(["run", "-o", str(db), "--", "true"], tmp_path, run_no=1)
    assert p.returncode == 128 + signal.SIGINT, p.stderr
    assert p.stderr == f"cltrace: 0 kernel launches from 0 processes written to {db}\n"
    assert _runs(db) == [("ok", 0)]
