"""One value as a renderer shows it: the text of a cell (text, markdown, csv) or a JSON value. Shared by
render.py and text_render.py (and json_report.py), below all three."""
import math
from typing import Any

import numpy as np
import pandas as pd


def cell(v: Any) -> str:
    """One value as the text of a table cell or field: "-" for missing, floats to 4 significant figures
    (1 decimal from 100 up, 3 from 1 up), lists and dicts joined."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "-"
    if isinstance(v, (float, np.floating)):
        if v == 0:
            return "0"
        a = abs(float(v))
        if a >= 100:
            return f"{v:.1f}"
        if a >= 1:
            return f"{v:.3f}"
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


def jsonable(v: Any) -> Any:
    """The value as plain JSON types: numpy scalars as Python ones, frames as lists of records, NaN and
    infinities as null."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in v]
    if isinstance(v, pd.DataFrame):
        return [jsonable(r) for r in v.to_dict("records")]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v
