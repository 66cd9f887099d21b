"""An integer sweep gets integer ticks on its channel axis (no 85.0, 87.5, 92.5)."""
import matplotlib.pyplot as plt
from trace_factory import sweep_trace

import cltrace
from cltrace.analysis.staircase import analyse
from cltrace.report.plot import figure


def _ticks(tmp_path, channels):
    path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=channels, repeats=2, step_at=channels[2])
    with cltrace.open(path) as t:
        result = analyse(t.samples(), compute_units=t.compute_units_by_run())
    fig = figure(result)
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        lo, hi = ax.get_xlim()
        return [float(v) for v in ax.get_xticks() if lo <= v <= hi]
    finally:
        plt.close(fig)


def test_integer_parameter_gets_integer_ticks(tmp_path):
    # 84..100: matplotlib's default locator puts ticks at 85.0, 87.5, 90.0, 92.5, ...
    ticks = _ticks(tmp_path, tuple(range(84, 101)))
    assert ticks and all(v == int(v) for v in ticks), ticks


def test_few_integer_values_get_integer_ticks(tmp_path):
    ticks = _ticks(tmp_path, (5, 6, 7, 8))
    assert ticks and all(v == int(v) for v in ticks), ticks
