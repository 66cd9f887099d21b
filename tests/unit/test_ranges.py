"""The one range notation (cltrace/ranges.py) and the places that write ranges through it."""
import ast
import pathlib

import pytest

from cltrace.ranges import number_text, ranges_text, span_text

PKG = pathlib.Path(__file__).resolve().parents[2] / "cltrace"


@pytest.mark.parametrize("values, text", [
    ([77, 78, 79, 80, 93, 94, 95, 96], "77..80, 93..96"),
    ([96, 93, 95, 94, 94], "93..96"),                      # unsorted, repeated
    ([88, 90, 91, 97], "88, 90..91, 97"),
    ([92.0, 93.0], "92..93"),                              # whole floats as digits, as the report's values are
    ([1.5, 2.5, 3.5], "1.5, 2.5, 3.5"),                    # not whole: no run
    ([2000000, 2000001], "2000000..2000001"),              # no 2e+06
    ([], "none"),
])
def test_ranges_text(values, text):
    assert ranges_text(values) == text


def test_span_and_number_text():
    assert span_text(197, 200.0) == "197..200" and span_text(5, 5.0) == "5"
    assert number_text(7.0) == "7" and number_text(0.25) == "0.25"
    assert ranges_text([], empty="-") == "-"


def _dash_ranges(path: pathlib.Path) -> list:
    """f-strings of the form f"{a}-{b}" (two fields joined by a bare '-'): a range written by hand."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for a, mid, b in zip(parts, parts[1:], parts[2:]):
                if (isinstance(a, ast.FormattedValue) and isinstance(b, ast.FormattedValue)
                        and isinstance(mid, ast.Constant) and mid.value in ("-", "..")):
                    found.append(f"{path.relative_to(PKG.parent)}:{node.lineno}")
    return found


def test_ranges_of_values_are_written_only_by_the_ranges_module():
    """No module writes f"{lo}-{hi}" or f"{lo}..{hi}" itself: every range goes through cltrace.ranges.
    Named exceptions: names that join two fields with '-' but are no range of values."""
    allowed = {"cltrace/sweep/farm.py",            # a key: prefix-token-index
               "cltrace/capture/launcher.py",      # a file name: N-basename
               "cltrace/analysis/sweep_labels.py",  # the user's values as typed, in their order (20..5 step 5)
               "cltrace/cli/network.py"}            # a 95% interval of ms at 4 decimals
    hits = [h for p in sorted(PKG.rglob("*.py")) if p.name != "ranges.py" for h in _dash_ranges(p)
            if h.split(":")[0] not in allowed]
    assert hits == []
