"""Control characters written out, long names shortened in the middle, tag values typed."""
import pandas as pd
import pytest

from cltrace.analysis.values import parse_value, typed_tags, typed_values
from cltrace.report.safe_text import escape_controls, escape_frame, shorten_middle, shorten_names


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2J", "\\x1b[2J"),                                  # clear screen
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),               # OSC: set the terminal title
    ("a\tb\nc", "a\\x09b\\x0ac"),
    ("\x9b31m", "\\x9b31m"),                                  # C1 CSI
    ("abc\u202egnp.exe", "abc\\u202egnp.exe"),                # bidi override
    ("[red]x[/]", "[red]x[/]"),                               # markup is the renderer's business: kept
    ("plain µs ±2%", "plain µs ±2%"),
])
def test_escape_controls(raw, shown):
    assert escape_controls(raw) == shown


def test_one_escaping_rule_for_the_cli_and_the_report():
    """The CLI's printable() (cltrace/printable.py) and the report's escape_controls are one function."""
    from cltrace.printable import printable
    assert escape_controls is printable
    assert printable("\x1b[2J\t\u202e") == "\\x1b[2J\\x09\\u202e"


def test_escape_controls_can_keep_newlines():
    assert escape_controls("line 1\nline\x1b 2", keep_newlines=True) == "line 1\nline\\x1b 2"


def test_shorten_middle_keeps_both_ends():
    name = "conv_forward_" + "x" * 60 + "_M61_K576"
    short = shorten_middle(name, 26)
    assert short == "conv_forward_…xxx_M61_K576" and len(short) == 26
    assert shorten_middle("XgemmDirectTN", 26) == "XgemmDirectTN"


def test_shorten_names_leaves_numbers_and_short_words():
    text = "conv_forward_" + "x" * 60 + "_M61 g=32x128 l=32x1 wg=128; 0.123456789012345678901234567890"
    assert shorten_names(text, 20) == ("conv_forwa…xxxxx_M61 g=32x128 l=32x1 wg=128; "
                                       "0.123456789012345678901234567890")


def test_escape_frame_for_csv_keeps_numbers():
    df = pd.DataFrame({"kernel\x1b": ["k\x1b]0;t\x07"], "ms": [1.5]})
    out = escape_frame(df)
    assert list(out.columns) == ["kernel\\x1b", "ms"]
    assert out.iloc[0].tolist() == ["k\\x1b]0;t\\x07", 1.5]


def test_tags_are_typed_like_sweep_parameters():
    assert typed_values(["64", "92", None]) == [64, 92, None]
    assert typed_values(["0.5", "1"]) == [0.5, 1.0]
    assert typed_values(["92", "gemm"]) == ["92", "gemm"]          # one key never mixes types
    assert typed_values(["inf", "1"]) == ["inf", "1"]              # not finite: text, as sweep.plan.is_number
    assert parse_value("1e3") == 1000.0 and parse_value("007") == 7 and parse_value("x") == "x"
    assert typed_tags([{"channels": "8", "method": "gemm"}, {"channels": "9"}]) == \
        [{"channels": 8, "method": "gemm"}, {"channels": 9}]
