"""Result tables as JSON-ready records: numpy and pandas scalars as Python ones, NaN/inf/NA as None.

Kept below the report and the network layer, which both serialise analysis tables with it (the report's
layout of a staircase result is report/staircase_json.py)."""
import math

import numpy as np
import pandas as pd

# Columns of a result table that no record carries: raw latencies, signature tuples, per-process logs.
DROP = {"latencies", "signature", "process_logs"}


def jsonable(v):
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "to_dict"):
        return jsonable(v.to_dict())
    return v


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-serialisable records of a result table (without the DROP columns)."""
    if df is None or df.empty:
        return []
    cols = [c for c in df.columns if c not in DROP]
    return [jsonable(r) for r in df[cols].to_dict("records")]
