"""The text report at 80 and 120 columns: no line wider, no number broken, long kernel names shortened in the
middle (whole in JSON/CSV), $COLUMNS honoured when piped, and nothing from the trace reaching the terminal
as a control sequence or as rich markup."""
import io
import json
import re

import pytest
from trace_factory import sweep_trace

import cltrace
from cltrace.cli.main import main
from cltrace.report.cells import cell
from cltrace.report.render import render, to_text
from cltrace.report.safe_text import shorten_middle
from cltrace.report.text_table import Column, column_groups, name_limit, output_width
from cltrace.report.trace_report import build_report

LONG = "conv2d_nchw_direct_" + "winograd_tile4x4_" * 4 + "M61_K576"          # 92 characters, as libraries make
HOSTILE = "\x1b]0;pwned\x07[bold red]boom[/]\x1b[2J"


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("layout")
    return sweep_trace(str(d / "t.db"), str(d), channels=(1, 2, 3, 4), repeats=3, kernel=LONG,
                       extra_tags={"note": HOSTILE}, command="./app\x1b[31m")


def _text(path, width, out_cls=io.StringIO):
    """The text report as printed at `width` columns (on a terminal: without rich's own colour codes)."""
    buf = out_cls()
    with cltrace.open(path) as t:
        to_text(build_report(t), buf, width=width)
    return re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue()) if out_cls is Terminal else buf.getvalue()


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("out_cls", [io.StringIO, Terminal])
def test_tables_fit_and_never_break_a_number(trace_path, width, out_cls):
    text = _text(trace_path, width, out_cls)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    with cltrace.open(trace_path) as t:
        doc = build_report(t)
    kernels = next(s for s in doc.sections if s.key == "kernels").table
    words = {w for line in lines for w in re.split(r"[\s|│]+", line)}
    for col in ("total_ms", "mean_ms", "median_ms", "min_ms", "max_ms", "share"):
        for v in kernels[col]:
            assert cell(v) in words, (col, cell(v))          # each number printed whole, on one line
    short = shorten_middle(LONG, name_limit(width))
    assert short in text and LONG not in text and short.startswith("conv2d_nchw") and short.endswith("M61_K576")


def test_long_names_are_whole_in_json_and_csv(trace_path):
    with cltrace.open(trace_path) as t:
        doc = build_report(t)
    out = {}
    for fmt in ("json", "csv"):
        buf = io.StringIO()
        render(doc, fmt, buf)
        out[fmt] = buf.getvalue()
    assert json.loads(out["json"])["kernels"][0]["kernel"] == LONG
    assert f",{LONG}," in out["csv"]


def test_control_characters_and_markup_from_the_trace_are_shown_not_obeyed(trace_path):
    for cls in (io.StringIO, Terminal):
        raw = io.StringIO() if cls is io.StringIO else Terminal()
        with cltrace.open(trace_path) as t:
            to_text(build_report(t), raw, width=200)
        text = raw.getvalue()
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)          # rich's own colours on a terminal
        assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text and "\x1b[31m" not in text
        assert "note=\\x1b]0;pwned\\x07[bold red]boom[/]\\x1b[2J" in plain     # the tag, written out
        assert "command: ./app\\x1b[31m --channels {channels}" in plain         # the command too
    for fmt in ("markdown", "csv"):
        buf = io.StringIO()
        with cltrace.open(trace_path) as t:
            render(build_report(t), fmt, buf)
        assert "\x1b" not in buf.getvalue() and "\\x1b]0;pwned\\x07" in buf.getvalue(), fmt


def test_piped_output_honours_columns(trace_path, monkeypatch, capsys):
    assert output_width(environ={"COLUMNS": "100"}) == 100
    assert output_width(environ={"COLUMNS": "10"}) == 40          # too narrow to lay anything out
    assert output_width(environ={}) == 200                        # piped, no COLUMNS: wide
    monkeypatch.setenv("COLUMNS", "90")
    assert main(["report", trace_path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) == 90


def test_split_tables_repeat_their_key_columns():
    cols = [Column("kernel", ["gemm_v4"]), Column("global", ["32x2"])] + \
        [Column(f"stat{i}_ms", ["0.01234"], right=True) for i in range(8)]
    # 7 + 6 + 4 x 8 characters and 5 gaps of 3 make 60: four statistics per part, the keys repeated
    assert column_groups(cols, 60, keys=2) == [[0, 1, 2, 3, 4, 5], [0, 1, 6, 7, 8, 9]]
    assert column_groups(cols, 200, keys=2) == [list(range(10))]
