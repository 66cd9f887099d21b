"""The sweep's progress bar: an adaptive round grows it and titles it; log lines go through it."""
from cltrace.cli.sweep_progress import SweepProgress


def test_an_adaptive_round_grows_the_bar(capsys):
    with SweepProgress(2, enabled=True, grows=True) as p:
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
