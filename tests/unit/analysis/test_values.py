"""values.py is the one rule for reading a tag as a number: the list form (report tags), the samples' parameter
columns (samples.to_number) and Trace.params (trace._numeric_if_all) all give the same values."""
import math

import pandas as pd
import pytest

from cltrace.analysis.samples import to_number
from cltrace.analysis.values import parse_value, typed_column, typed_values
from cltrace.trace import _numeric_if_all

CASES = [
    (["1", "2", None], [1, 2, None], int),
    (["1", "2"], [1, 2], int),
    ([" 64", "128 "], [64, 128], int),                # blanks around a number do not matter
    (["1.5", "2"], [1.5, 2.0], float),
    (["64.0", "3"], [64.0, 3.0], float),               # "64.0" is a float, not a whole number
    (["1e3", "7"], [1000.0, 7.0], float),
    (["a", "1"], ["a", "1"], None),                    # one text value keeps the whole key as text
    (["inf", "1"], ["inf", "1"], None),                # not finite: text
    (["nan", "1"], ["nan", "1"], None),
    ([True, False], [True, False], None),              # a bool is no number
]


def _plain(values):
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v for v in values]


@pytest.mark.parametrize("raw, typed, kind", CASES)
def test_the_three_readers_follow_one_rule(raw, typed, kind):
    assert typed_values(raw) == typed
    col = to_number(pd.Series(raw, dtype=object))
    assert _plain(col.tolist()) == typed
    nullable = _numeric_if_all(pd.Series(raw, dtype=object))
    assert _plain(nullable.tolist()) == typed
    if kind is int:
        assert str(nullable.dtype) == "Int64"
        assert col.dtype == ("int64" if None not in raw else "float64")     # int64 cannot hold a missing value
    elif kind is float:
        assert str(nullable.dtype) == "Float64" and col.dtype == "float64"
    else:
        assert col.dtype == object


def test_one_value_and_numeric_columns():
    assert [parse_value(v) for v in ("92", "0.5", "x", " 7 ")] == [92, 0.5, "x", 7]
    ints = pd.Series([1, 2, 3])
    assert typed_column(ints) is ints                  # already numbers: as they are
    huge = typed_column(pd.Series([str(2 ** 70), "1"], dtype=object))
    assert huge.dtype == "float64" and huge.tolist() == [float(2 ** 70), 1.0]
