"""The plot's legend names every mark as it is drawn; labels from the trace carry no control characters."""
import matplotlib.pyplot as plt
from trace_factory import sweep_trace

import cltrace
from cltrace.analysis.staircase import analyse
from cltrace.report.plot import figure


def test_legend_explains_whiskers_and_dotted_steps(tmp_path):
    path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), repeats=3,
                       variants=[{"method": "a\x1b[2J"}, {"method": "b"}])
    with cltrace.open(path) as t:
        result = analyse(t.samples(), compute_units=t.compute_units_by_run())
    assert len(result.steps) == 2
    fig = figure(result)
    try:
        handles = {h.get_label(): h for h in fig.legends[0].legend_handles}
        step = handles["step (dotted): label x<ratio> <cause>, red up / green down"]
        assert step.get_linestyle() == ":" and step.get_marker() in ("None", None, "")
        whiskers = handles["whiskers: fastest..slowest process (each by its median)"]
        assert whiskers.get_marker() == "|" and whiskers.get_linestyle() == "None"
        assert {"level between steps (the verdict)", "best count (stair right edge)",
                "hazard: significantly slower than unpruned", "unpruned latency (largest count)",
                "median, dispatch: conv[l 8]"} <= set(handles)
        # the step lines in the panels are drawn dotted, as the legend says
        dotted = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_linestyle() == ":"]
        assert len(dotted) == 2
        titles = [ax.get_title(loc="left") for ax in fig.axes]
        assert titles == ["method=a\\x1b[2J", "method=b"]
    finally:
        plt.close(fig)


def test_extra_driver_jobs_are_marked_where_the_target_runs_them(tmp_path):
    from cltrace.analysis.dispatch_jobs import job_context
    from cltrace.analysis.targets import target
    from cltrace.analysis.whatif import parse_what_if
    path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=(1, 2, 3, 4, 5, 6), repeats=2)
    with cltrace.open(path) as t:
        result = analyse(t.samples(), jobs=job_context(target("mali-g72-mp12"), parse_what_if(["conv=3"])))
    fig = figure(result)
    try:
        label = "extra driver job on target mali-g72-mp12 (what-if local size, computed from the traced sizes)"
        handles = {h.get_label(): h for h in fig.legends[0].legend_handles}
        assert handles[label].get_marker() == "^"
        # global 64*C with local 3 leaves a remainder unless 3 divides C: 1, 2, 4, 5 carry a second job
        marks = [c for ax in fig.axes for c in ax.collections if tuple(c.get_offsets()[:, 1]) == (0.03,) * 4]
        assert [list(c.get_offsets()[:, 0]) for c in marks] == [[1, 2, 4, 5]]
    finally:
        plt.close(fig)
    plain = figure(analyse(cltrace.open(path).samples()))
    try:
        assert not any(h.get_label().startswith("extra driver job") for h in plain.legends[0].legend_handles)
    finally:
        plt.close(plain)
