"""Noise-aware step detection along one numeric parameter.

Method (docs/analysis.md states it in full):
- work on y = log(latency); within each group (one combination of the other
  parameters) sort configurations by the swept parameter;
- noise: a pooled within-configuration scale sigma (median of the per-config
  variances, each divided by the median of its chi-square distribution, so it
  is median-unbiased and robust to a few noisy configs); when no configuration
  has two samples, 1.365 * 1.4826 * MAD of the residuals from a centred rolling
  median of 5 configuration medians (the factor calibrated on Gaussian noise);
- each configuration's scale is moderated towards sigma (s_i^2 = (df_i v_i +
  d0 sigma^2) / (df_i + d0), d0 = prior_df), so n = 1 configs use sigma;
- neighbour pairs compare medians: z = (m_b - m_a) / sqrt(se_a^2 + se_b^2)
  with se = 1.2533 s / sqrt(n) (n >= 3; s / sqrt(n) below), p two-sided normal;
- Holm correction over every neighbour pair of the analysis; a step is a pair
  with p_holm < alpha AND |ratio - 1| >= min_effect;
- ramps: adjacent significant pairs in the same direction, each smaller than
  ramp_max_ratio, are merged into one step (kind "ramp").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ROLLING_MAD_FACTOR = 1.365   # sigma / (1.4826 MAD) of y - rolling_median_5(y), Gaussian y
SIGMA_FLOOR = 1e-6           # identical samples: any difference is "significant"; min_effect gates

STEP_COLUMNS = ["group", "group_label", "param", "from_value", "to_value", "from_config_id",
                "to_config_id", "latency_before_ns", "latency_after_ns", "ratio", "direction",
                "z", "p_value", "p_adjusted", "confidence", "kind", "n_pairs", "n_before",
                "n_after", "noise_sigma"]


def group_label(group: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items()) if group else "all"


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (step-down, monotone)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def pooled_sigma(logs: list[np.ndarray]) -> tuple[float, str]:
    """Pooled scale of log latency from a list of per-config log samples."""
    ratios = []
    for y in logs:
        df = len(y) - 1
        if df >= 1:
            from scipy import stats      # ~1 s to import: only when a sweep is analysed
            ratios.append(np.var(y, ddof=1) * df / stats.chi2.ppf(0.5, df))
    if ratios:
        return max(float(np.sqrt(np.median(ratios))), SIGMA_FLOOR), "within-config"
    meds = np.array([np.median(y) for y in logs if len(y)])
    if len(meds) >= 5:
        roll = pd.Series(meds).rolling(5, center=True, min_periods=1).median().to_numpy()
        r = meds - roll
        mad = np.median(np.abs(r - np.median(r)))
        return max(float(ROLLING_MAD_FACTOR * 1.4826 * mad), SIGMA_FLOOR), "rolling-median"
    return np.nan, "none"


def _scale(y: np.ndarray, sigma: float, prior_df: float) -> float:
    df = len(y) - 1
    v = np.var(y, ddof=1) if df >= 1 else 0.0
    return float(np.sqrt((df * v + prior_df * sigma ** 2) / (df + prior_df)))


def _se(y: np.ndarray, sigma: float, prior_df: float) -> float:
    c = 1.2533 if len(y) >= 3 else 1.0
    return c * _scale(y, sigma, prior_df) / np.sqrt(len(y))


def compare(ya: np.ndarray, yb: np.ndarray, sigma: float, prior_df: float = 5.0) -> tuple[float, float]:
    """(z, two-sided p) for the difference of medians of two log-latency samples."""
    if not np.isfinite(sigma):
        return np.nan, np.nan
    se = np.hypot(_se(ya, sigma, prior_df), _se(yb, sigma, prior_df))
    z = (np.median(yb) - np.median(ya)) / max(se, SIGMA_FLOOR)
    from scipy import stats
    return float(z), float(2 * stats.norm.sf(abs(z)))


def iter_groups(configs: pd.DataFrame, by: list[str]):
    """Yield (group dict, sub-DataFrame of usable configs sorted by nothing)."""
    usable = configs[(configs["n"] > 0) & np.isfinite(configs["median_ns"].astype(float))
                     & (configs["median_ns"].astype(float) > 0)]
    if not by:
        yield {}, usable
        return
    for key, g in usable.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        yield {k: (None if pd.isna(v) else v) for k, v in zip(by, key)}, g


def neighbour_pairs(configs: pd.DataFrame, param: str, by: list[str], prior_df: float = 5.0) -> pd.DataFrame:
    """Every neighbour pair (ascending param) in every group, with z, p and Holm p."""
    rows = []
    all_logs = [np.log(np.asarray(v, dtype=float)) for v in configs.loc[configs["n"] > 0, "latencies"]]
    global_sigma, global_src = pooled_sigma(all_logs)
    for group, g in iter_groups(configs, by):
        g = g[g[param].notna()].sort_values(param, kind="stable")
        logs = [np.log(np.asarray(v, dtype=float)) for v in g["latencies"]]
        n_multi = sum(len(y) >= 2 for y in logs)
        sigma, src = pooled_sigma(logs) if n_multi >= 3 or n_multi == 0 else (global_sigma, global_src)
        if not np.isfinite(sigma):
            sigma = global_sigma
        recs = g.to_dict("records")
        for i in range(len(recs) - 1):
            a, b = recs[i], recs[i + 1]
            z, p = compare(logs[i], logs[i + 1], sigma, prior_df)
            rows.append({"group": group, "group_label": group_label(group), "param": param,
                         "from_value": a[param], "to_value": b[param],
                         "from_config_id": a["config_id"], "to_config_id": b["config_id"],
                         "latency_before_ns": a["median_ns"], "latency_after_ns": b["median_ns"],
                         "ratio": b["median_ns"] / a["median_ns"], "z": z, "p_value": p,
                         "n_before": a["n"], "n_after": b["n"], "noise_sigma": sigma,
                         "noise_source": src})
    P = pd.DataFrame(rows, columns=STEP_COLUMNS + ["noise_source"])
    if len(P):
        pv = P["p_value"].to_numpy(dtype=float)
        adj = np.full(len(P), np.nan)
        ok = np.isfinite(pv)
        adj[ok] = holm(pv[ok])
        P["p_adjusted"] = adj
        P["confidence"] = 1 - adj
        P["direction"] = np.where(P["ratio"] > 1, "up", np.where(P["ratio"] < 1, "down", "flat"))
        P["kind"] = "step"
        P["n_pairs"] = 1
    return P


def _merge_ramps(S: pd.DataFrame, ramp_max_ratio: float) -> pd.DataFrame:
    out: list[dict] = []
    for rec in S.to_dict("records"):
        prev = out[-1] if out else None
        small = max(rec["ratio"], 1 / rec["ratio"]) < ramp_max_ratio
        if (prev is not None and small and prev["_small"] and prev["group_label"] == rec["group_label"]
                and prev["to_config_id"] == rec["from_config_id"] and prev["direction"] == rec["direction"]):
            prev.update(to_value=rec["to_value"], to_config_id=rec["to_config_id"],
                        latency_after_ns=rec["latency_after_ns"], n_after=rec["n_after"],
                        kind="ramp", n_pairs=prev["n_pairs"] + 1,
                        z=min(prev["z"], rec["z"], key=abs),
                        p_value=max(prev["p_value"], rec["p_value"]),
                        p_adjusted=max(prev["p_adjusted"], rec["p_adjusted"]))
            prev["ratio"] = prev["latency_after_ns"] / prev["latency_before_ns"]
            prev["confidence"] = 1 - prev["p_adjusted"]
        else:
            out.append(dict(rec, _small=small))
    M = pd.DataFrame(out, columns=list(S.columns) + ["_small"])
    return M.drop(columns="_small")


def detect_steps(configs: pd.DataFrame, param: str, by: list[str] | None = None, *, alpha: float = 0.01,
                 min_effect: float = 0.02, merge_ramps: bool = True, ramp_max_ratio: float = 1.15,
                 prior_df: float = 5.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(steps, pairs): significant steps (STEP_COLUMNS) and all neighbour-pair tests."""
    by = [b for b in (by or []) if b != param]
    pairs = neighbour_pairs(configs, param, by, prior_df)
    if pairs.empty:
        return pd.DataFrame(columns=STEP_COLUMNS), pairs
    effect = np.abs(np.log(pairs["ratio"].astype(float))) >= np.log1p(min_effect)
    pairs["significant"] = (pairs["p_adjusted"] < alpha) & effect
    steps = pairs[pairs["significant"]][STEP_COLUMNS].reset_index(drop=True)
    if merge_ramps and len(steps):
        steps = _merge_ramps(steps, ramp_max_ratio)
    return steps.reset_index(drop=True), pairs
