"""The sweep's progress bar: an adaptive round grows it and titles it; log lines go through it. Not on a terminal
(a log), plain lines at most every tenth of the runs or PLAIN_INTERVAL_S, and a summary line at the end."""
import io

from cltrace.sweep.progress import PLAIN_INTERVAL_S, SweepProgress


def test_an_adaptive_round_grows_the_bar(capsys):
    with SweepProgress(2, enabled=True, grows=True, terminal=True) as p:
        p.start("c=1")
        p.done("c=1", 1.5)
        p.grow(3, "round 1")
        p.log("adaptive round 1: 2 candidate steps undecided; re-running 3 configurations")
        task = p._progress.tasks[0]
        assert (task.total, task.completed, task.description) == (5, 1, "round 1")
        assert p.total == 5
    err = capsys.readouterr().err
    assert "cltrace: adaptive round 1: 2 candidate steps undecided; re-running 3 configurations\n" in err
    assert "round 1" in err.splitlines()[-1]


def test_quiet_or_empty():
    assert SweepProgress(0, enabled=True).enabled is False          # nothing to run, nothing to grow
    assert SweepProgress(0, enabled=True, grows=True).enabled is True   # --resume with only rounds left
    assert SweepProgress(5, enabled=False, grows=True).enabled is False


def test_log_without_a_bar(capsys):
    with SweepProgress(3, enabled=False) as p:
        p.grow(2, "round 1")
        p.log("adaptive: no re-runs: every verdict is decided")
        assert p.total == 5
    assert capsys.readouterr().err == "cltrace: adaptive: no re-runs: every verdict is decided\n"


class _Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_a_log_gets_plain_lines_every_tenth_and_a_summary():
    out, clock = io.StringIO(), _Clock()           # StringIO.isatty() is False: a log, not a terminal
    with SweepProgress(20, enabled=True, stream=out, clock=clock) as p:
        assert p._progress is None                  # no rich bar
        for i in range(1, 21):
            clock.t += 1.5
            p.start(f"channels={i}")
            if i == 7:
                p.failed("channels=7", 3, "boom")
            p.done(f"channels={i}", None if i == 7 else 0.25 * i)
    lines = out.getvalue().splitlines()
    assert "\u2501" not in out.getvalue() and "\u2026" not in out.getvalue()       # no bar, nothing cut off
    assert lines[0] == "cltrace: sweep 2/20 runs (10%), 0:00:03 elapsed, eta 0:00:27; last: channels=2 -> 0.500 ms"
    assert "cltrace: failed channels=7 (exit 3) boom" in lines
    assert lines[-2] == "cltrace: sweep 20/20 runs (100%), 0:00:30 elapsed, eta 0:00:00; last: channels=20 -> 5.000 ms"
    assert lines[-1] == "cltrace: sweep finished: 20/20 runs in 0:00:30, 1 failed"
    assert len(lines) == 10 + 1 + 1                 # one per tenth, the failure, the summary


def test_a_slow_log_gets_a_line_every_interval():
    out, clock = io.StringIO(), _Clock()
    with SweepProgress(1000, enabled=True, stream=out, clock=clock) as p:
        for i in range(1, 6):                       # 5 runs of 1000: no tenth reached, but minutes pass
            clock.t += PLAIN_INTERVAL_S / 2
            p.done(f"c={i}", 1.0)
    lines = out.getvalue().splitlines()
    assert [ln.split(",")[0] for ln in lines] == ["cltrace: sweep 2/1000 runs (0%)", "cltrace: sweep 4/1000 runs (0%)",
                                                  "cltrace: sweep finished: 5/1000 runs in 0:01:15"]


def test_a_quiet_sweep_prints_no_progress():
    out = io.StringIO()
    with SweepProgress(3, enabled=False, stream=out) as p:
        p.done("c=1", 1.0)
    assert out.getvalue() == ""
