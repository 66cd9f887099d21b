"""Per-configuration statistics of a samples DataFrame.

A configuration is one unique combination of the parameter columns.  Its
statistics use the samples with status ``ok``; when a configuration has no
``ok`` sample but has ``cold`` ones, the cold samples are used instead and the
row is flagged ``cold_only`` (its latencies include compilation).  Samples of
failed runs and samples with missing device times never enter the statistics;
they are counted (``n_failed``, ``n_untimed``) and the failed run ids listed.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from .samples import param_columns

STAT_COLUMNS = ["config_id", "n", "median_ns", "p10_ns", "p90_ns", "mean_ns", "std_ns",
                "n_cold_excluded", "n_untimed", "n_failed", "failed_runs", "cold_only",
                "signature_hash", "signature_text", "signature", "signature_varies",
                "n_signatures", "latencies", "kernel_median_ns"]


def _stats(g: pd.DataFrame) -> dict:
    st = g["status"].to_numpy()
    ok = st == "ok"
    cold = st == "cold"
    cold_only = not ok.any() and cold.any()
    use = cold if cold_only else ok
    lat = g["latency_ns"].to_numpy(dtype=float)[use]
    hashes = g["signature_hash"].to_numpy()[use]
    sigs = g["signature"].to_numpy()[use] if "signature" in g.columns else np.array([()] * use.sum())
    texts = g["signature_text"].to_numpy()[use]
    if len(hashes):
        dom = Counter(hashes).most_common(1)[0][0]
        i = int(np.flatnonzero(hashes == dom)[0])
        dom_sig, dom_text = sigs[i], texts[i]
    else:
        dom, dom_sig, dom_text = "", (), ""
    failed = sorted({int(r) for r in g.loc[st == "failed-run", "run_id"]})
    per_kernel = [d for d in (g["kernel_ns"].to_numpy()[use] if "kernel_ns" in g.columns else [])
                  if isinstance(d, dict)]
    names = sorted({k for d in per_kernel for k in d})
    kernel_median = {k: float(np.median([d.get(k, 0.0) for d in per_kernel])) for k in names}
    n = int(len(lat))
    return {
        "n": n,
        "median_ns": float(np.median(lat)) if n else np.nan,
        "p10_ns": float(np.percentile(lat, 10)) if n else np.nan,
        "p90_ns": float(np.percentile(lat, 90)) if n else np.nan,
        "mean_ns": float(lat.mean()) if n else np.nan,
        "std_ns": float(lat.std(ddof=1)) if n > 1 else (0.0 if n == 1 else np.nan),
        "n_cold_excluded": 0 if cold_only else int(cold.sum()),
        "n_untimed": int((st == "untimed").sum()),
        "n_failed": int((st == "failed-run").sum()),
        "failed_runs": failed,
        "cold_only": bool(cold_only),
        "signature_hash": dom,
        "signature_text": dom_text,
        "signature": dom_sig,
        "signature_varies": bool(len(set(hashes)) > 1),
        "n_signatures": int(len(set(hashes))),
        "latencies": lat,
        "kernel_median_ns": kernel_median,     # median device time of each kernel within one sample
    }


def config_stats(samples: pd.DataFrame, params: list[str] | None = None) -> pd.DataFrame:
    """One row per configuration: the parameter columns, then STAT_COLUMNS.

    ``params`` defaults to every parameter column of ``samples``.  Rows are
    sorted by the parameters; ``config_id`` numbers them in that order.
    """
    params = list(param_columns(samples) if params is None else params)
    if samples.empty:
        return pd.DataFrame(columns=params + STAT_COLUMNS)
    rows = []
    if params:
        for key, g in samples.groupby(params, dropna=False, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            rows.append(dict(zip(params, key), **_stats(g)))
    else:
        rows.append(_stats(samples))
    out = pd.DataFrame(rows)
    out.insert(len(params), "config_id", np.arange(len(out), dtype="int64"))
    return out[params + STAT_COLUMNS]
