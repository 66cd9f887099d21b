"""Tag values read back as the values they were: numbers where every value of a key is a number.

The store keeps tags as text (`run_tags.value`, the JSON of `regions.tags`). A sweep's `-p channels=64:128`
means numbers, so a reader gets them back as numbers. This module is the one rule for that, used by
`Trace.params`, the samples' parameter columns (samples.to_number), the report's tags and the analysis:

- a value is a number when it is an int or float (not a bool) or text that Python's float() reads after
  stripping blanks, and the number is finite ("nan", "inf" and True stay text);
- a key is numeric when every present value of it is a number (missing values do not count); it is whole
  when every present value is an int or whole-number text (``[+-]?\\d+``): ints, else floats ("64.0" is a
  float);
- a key with any value that is not a number keeps every value as it was, so one key never mixes types.

`typed_values` applies it to a list of values, `typed_column` to a pandas column.
"""
import math
import re
from typing import Dict, Iterable, List, Optional

_WHOLE = re.compile(r"[+-]?\d+")


def _number(text) -> Optional[float]:
    """The value as a finite float, or None when it is no number by this module's rule."""
    if isinstance(text, bool) or type(text).__name__ == "bool_":
        return None
    if isinstance(text, (int, float)):
        return float(text) if math.isfinite(text) else None
    try:
        v = float(str(text).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _whole(v) -> bool:
    return isinstance(v, int) or bool(_WHOLE.fullmatch(str(v).strip()))


def key_kind(present: Iterable) -> Optional[type]:
    """int, float or None (not numeric) for the present (non-missing) values of one key."""
    present = list(present)
    if not present or any(_number(v) is None for v in present):
        return None
    return int if all(_whole(v) for v in present) else float


def _as(kind: type, v):
    return int(str(v).strip()) if kind is int else _number(v)


def typed_values(values: Iterable) -> List:
    """The values of one key (None: missing), as ints, floats or (when any is not a number) the original
    values."""
    values = list(values)
    kind = key_kind(v for v in values if v is not None)
    if kind is None:
        return values
    return [None if v is None else _as(kind, v) for v in values]


def typed_column(col, nullable: bool = False):
    """A pandas column typed by the same rule (missing: NA/NaN/None). A numeric column other than bool is
    already typed and comes back as it is, as does a column that is not numeric by the rule. A numeric key
    becomes Int64/Float64 when ``nullable``, else int64 (whole, nothing missing) or float64."""
    import numpy as np
    import pandas as pd
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col
    mask = col.notna().to_numpy()
    if not mask.any():
        return col
    present = col[mask].astype(object)
    uniq = pd.unique(present.to_numpy())
    kind = key_kind(uniq)
    if kind is None:
        return col
    conv = {u: _as(kind, u) for u in uniq}
    if kind is int and any(abs(v) >= 2 ** 63 for v in conv.values()):
        kind, conv = float, {u: _number(u) for u in uniq}       # beyond int64: as floats
    vals = present.map(conv).to_numpy(dtype=np.int64 if kind is int else float)
    if nullable:
        out = pd.Series(pd.NA, index=col.index, dtype="Int64" if kind is int else "Float64")
    elif kind is int and mask.all():
        out = pd.Series(np.zeros(len(col), dtype=np.int64), index=col.index)
    else:
        out = pd.Series(np.nan, index=col.index, dtype=float)
    out[mask] = vals
    return out


def parse_value(text):
    """One value on its own: int, float or the text."""
    return typed_values([text])[0]


def typed_tags(tag_dicts: List[Dict[str, object]]) -> List[Dict[str, object]]:
    """Tag dicts (one per run or region) with every key typed across all of them."""
    keys = list(dict.fromkeys(k for d in tag_dicts for k in d))
    typed = {k: typed_values([d.get(k) for d in tag_dicts]) for k in keys}
    return [{k: typed[k][i] for k in d} for i, d in enumerate(tag_dicts)]
