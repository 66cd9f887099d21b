"""Ctrl-C or SIGTERM that reaches cltrace after the traced program exited but before cltrace reaped it: there is
no program left to pass it on to (a signal sent to a zombie is lost), so it is cltrace's own interrupt. The run
is what the program made of it; late_signal tells the caller to stop once the run is stored. The window is
arranged by holding the reaper (tests/interrupt_window.py), so these tests do not depend on timing."""
import os
import signal
import sys

import pytest

from cltrace.capture import launcher

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from interrupt_window import late_signal_hook


@pytest.fixture
def stray():
    """A SIGINT/SIGTERM handler of the test's own around run_traced: a signal run_traced did not handle is
    recorded here instead of ending the test session."""
    seen = []
    old = {s: signal.signal(s, lambda n, _f: seen.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    real_spawn = launcher.spawn
    yield seen
    launcher.spawn = real_spawn
    for s, h in old.items():
        signal.signal(s, h)


def _run(tmp_path, argv):
    d = tmp_path / "capture"
    d.mkdir()
    return launcher.run_traced(argv, mode="layer", capture_dir=str(d))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_program_exited_is_cltraces_own_and_the_run_stays_ok(tmp_path, stray, signum):
    late_signal_hook(signum, when="ended")
    r = _run(tmp_path, ["true"])
    assert (r.status, r.exit_status, r.signal, r.late_signal) == ("ok", 0, None, signum)   # before: interrupted
    assert stray == []


def test_a_signal_while_the_program_runs_is_passed_on_to_it(tmp_path, stray):
    late_signal_hook(signal.SIGINT, when="running")
    r = _run(tmp_path, ["sleep", "30"])
    assert (r.status, r.exit_status, r.signal, r.late_signal) == ("interrupted", 130, signal.SIGINT, None)
    assert r.wall_s < 20 and stray == []


def test_a_program_that_failed_before_the_signal_stays_interrupted(tmp_path, stray):
    """It may have ended by the same Ctrl-C, which a terminal sends to it too: 'interrupted', as before."""
    late_signal_hook(signal.SIGINT, when="ended")
    r = _run(tmp_path, ["false"])
    assert (r.status, r.exit_status, r.late_signal) == ("interrupted", 1, signal.SIGINT)
    assert stray == []


def test_without_a_signal_nothing_is_late(tmp_path, stray):
    r = _run(tmp_path, ["true"])
    assert (r.status, r.late_signal) == ("ok", None)


def test_has_ended_sees_a_zombie_without_reaping_it():
    import subprocess
    import time
    from interrupt_window import state
    p = subprocess.Popen(["true"])
    while state(p.pid) != "Z":
        time.sleep(0.001)
    assert launcher.has_ended(p) and state(p.pid) == "Z"     # still there for Popen's wait to collect
    assert p.wait() == 0 and launcher.has_ended(p)
    q = subprocess.Popen(["sleep", "30"])
    try:
        assert not launcher.has_ended(q)
    finally:
        q.kill()
        q.wait()
