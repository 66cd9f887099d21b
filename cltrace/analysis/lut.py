"""The latency lookup table pruning tools consume: one row per (region, parameters) configuration."""
import pandas as pd

from .configs import config_stats
from .samples import param_columns

LUT_STATS = ["median_ms", "p10_ms", "p90_ms", "n", "signature_hash"]
MS_DECIMALS = 6


def latency_lut(samples: pd.DataFrame) -> pd.DataFrame:
    """Columns: region (layer), every parameter, then median_ms, p10_ms, p90_ms, n, signature_hash."""
    if samples.empty:
        return pd.DataFrame(columns=["region"] + LUT_STATS)
    params = [p for p in param_columns(samples) if samples[p].notna().any()]
    cfg = config_stats(samples, params)
    out = cfg[params].copy()
    for q in ("median", "p10", "p90"):      # to the nanosecond: device timers count whole ns
        out[f"{q}_ms"] = (cfg[f"{q}_ns"] / 1e6).round(MS_DECIMALS)
    out["n"] = cfg["n"]
    out["signature_hash"] = cfg["signature_hash"]
    if "region" not in out.columns:
        out.insert(0, "region", "")
    return out.reset_index(drop=True)
