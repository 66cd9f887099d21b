"""The staircase part of the report: steps with their processes, undecided candidates, dispatch facts."""
from cltrace.analysis.synthetic import StepSpec, SweepSpec, make_staircase
from cltrace.report.staircase_section import staircase_sections


def _sections(samples, **kw):
    return {s.key: s for s in staircase_sections(samples, "channels", **kw)}


def test_steps_dispatch_changes_and_processes_in_the_report():
    spec = SweepSpec(list(range(60, 70)), [StepSpec(64, 1.0, "dispatch-count"), StepSpec(66, 1.6, "unexplained")])
    sec = _sections(make_staircase([spec], sigma=0.02, n=5, seed=3).samples)
    steps = sec["steps"].table
    assert list(zip(steps["from"], steps["to"])) == [(66, 67)] and list(steps["procs"]) == ["21/9"]
    assert list(steps["confidence"]) == [">=0.999"]
    assert sec["dispatch_changes"].lines == ["channels=64->65: extra dispatch: conv_tail (1 more launch)"]
    cfg = sec["configs"].table
    assert set(cfg["procs"]) == {3} and (cfg["procs_min_ms"] <= cfg["median_ms"]).all()
    assert "undecided" not in sec


def test_one_process_per_configuration_is_undecided_with_the_remedy():
    spec = SweepSpec(list(range(8, 16)), [StepSpec(11, 2.0)])
    sec = _sections(make_staircase([spec], sigma=0.02, n=5, seed=1, processes=1).samples)
    assert sec["steps"].table.empty
    assert sec["undecided"].lines == ["channels=8..15: fewer than 2 processes",
                                      "(re-run with cltrace sweep --resume --adaptive, or a larger --repeat)"]
    assert any("--repeat 3" in n for n in sec["notes"].lines)
