"""A group whose runs lack a parameter another group has (a lone `cltrace run` appended to a sweep) is labelled
'method unset', never 'method=None'."""
import io

from trace_factory import sweep_trace

import cltrace
from cltrace.analysis.steps import group_label
from cltrace.report.render import to_text
from cltrace.report.trace_report import build_report


def test_a_missing_parameter_is_unset():
    assert group_label({"method": "gemm", "region": "L15"}) == "method=gemm, region=L15"
    assert group_label({"method": None, "region": "L16"}) == "method unset, region=L16"
    assert group_label({}) == "all"


def test_the_report_never_prints_none_for_a_missing_tag(tmp_path):
    path = sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=(1, 2, 3), repeats=2,
                       variants=[{"method": "gemm"}, {}])
    with cltrace.open(path) as t:
        doc = build_report(t)
    buf = io.StringIO()
    to_text(doc, buf, width=300)
    text = buf.getvalue()
    assert "None" not in text
    assert "[method unset] channels=" in text and "[method=gemm] channels=" in text
