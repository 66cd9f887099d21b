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
