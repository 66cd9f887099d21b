"""Configurations of a samples DataFrame: one row per unique combination of the key parameters.

``config_id`` is assigned here, once (``assign_config_ids``: the configurations sorted by the parameters, missing
values included, numbered in that order); the per-process units (units.py) and every later table use these ids.

Which samples count is units.usable_mask, the one rule: ``ok`` samples with a positive, finite latency; a
configuration with no ``ok`` sample uses its ``cold`` ones instead and is flagged ``cold_only`` (its latencies
include compilation). Samples of failed runs and samples with missing device times never count; they are
counted (``n_failed``, ``n_untimed``) and the failed run ids listed.

Every level statistic of a configuration comes from its per-process units (the process is the unit of
replication, units.py): ``n_processes``, ``median_ns`` (the median of the per-process medians), ``level_ns``,
``between_sigma``, ``within_sigma``, ``process_median_ns`` and ``process_logs`` (their logs, for steps.py), and
``kernel_median_ns`` (per kernel, the median over the processes of each one's median time of that kernel).
The spread of the iterations, pooled over the processes, keeps names that say so: ``n`` (usable iterations),
``iter_median_ns``, ``iter_p10_ns``, ``iter_p90_ns``, ``iter_mean_ns``, ``iter_std_ns`` (ddof 1), ``latencies``.
"""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import numpy as np
import pandas as pd

from .samples import param_columns
from .units import UNIT_COLUMNS, process_units, unit_estimates, unit_keys, usable_mask

STAT_COLUMNS = ["config_id", "n", "iter_median_ns", "iter_p10_ns", "iter_p90_ns", "iter_mean_ns", "iter_std_ns",
                "n_cold_excluded", "n_untimed", "n_failed", "failed_runs", "cold_only",
                "signature_hash", "signature_text", "signature", "signature_varies",
                "n_signatures", "latencies", "kernel_median_ns"]
LEVEL_COLUMNS = ["n_processes", "median_ns", "level_ns", "between_sigma", "within_sigma", "process_median_ns",
                 "process_logs"]


class Configurations(NamedTuple):
    table: pd.DataFrame          # one row per configuration: the key parameters, STAT_COLUMNS, LEVEL_COLUMNS
    units: pd.DataFrame          # the per-process units (units.UNIT_COLUMNS)
    sample_ids: np.ndarray       # each sample's config_id, aligned with the samples


def assign_config_ids(samples: pd.DataFrame, params: list[str]) -> np.ndarray:
    """Each sample's config_id: the rank of its parameter combination among the sorted combinations."""
    if params and len(samples):
        return samples.groupby(params, dropna=False, sort=True).ngroup().to_numpy(dtype=np.int64)
    return np.zeros(len(samples), dtype=np.int64)


def _kernel_medians(kernel_ns, units) -> dict:
    """kernel -> the median over the processes of each process's median device time of that kernel within one
    sample (0 in a sample that did not run it): a level, so from the units like median_ns."""
    per_unit: dict = {}
    for d, u in zip(kernel_ns, units):
        if isinstance(d, dict):
            per_unit.setdefault(u, []).append(d)
    names = sorted({k for ds in per_unit.values() for d in ds for k in d})
    return {k: float(np.median([np.median([d.get(k, 0.0) for d in ds]) for ds in per_unit.values()]))
            for k in names}


def _stats(g: pd.DataFrame, use: np.ndarray, units: np.ndarray) -> dict:
    st = g["status"].to_numpy()
    ok = st == "ok"
    cold = st == "cold"
    cold_only = not ok.any() and cold.any()
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
    kernel_median = _kernel_medians(g["kernel_ns"].to_numpy()[use] if "kernel_ns" in g.columns else [], units[use])
    n = int(len(lat))
    return {
        "n": n,
        "iter_median_ns": float(np.median(lat)) if n else np.nan,
        "iter_p10_ns": float(np.percentile(lat, 10)) if n else np.nan,
        "iter_p90_ns": float(np.percentile(lat, 90)) if n else np.nan,
        "iter_mean_ns": float(lat.mean()) if n else np.nan,
        "iter_std_ns": float(lat.std(ddof=1)) if n > 1 else (0.0 if n == 1 else np.nan),
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
        "kernel_median_ns": kernel_median,     # per kernel: median over processes of its median within one sample
    }


def configurations(samples: pd.DataFrame, params: list[str] | None = None) -> Configurations:
    """The configurations of the samples (one row each: the parameter columns, STAT_COLUMNS, LEVEL_COLUMNS,
    sorted by the parameters and numbered in that order), their per-process units and each sample's
    config_id. ``params`` defaults to every parameter column of ``samples``."""
    params = list(param_columns(samples) if params is None else params)
    if samples.empty:
        return Configurations(pd.DataFrame(columns=params + STAT_COLUMNS + LEVEL_COLUMNS),
                              pd.DataFrame(columns=UNIT_COLUMNS), np.zeros(0, dtype=np.int64))
    ids = assign_config_ids(samples, params)
    use = usable_mask(samples, ids)
    unit_of = unit_keys(samples).to_numpy()
    stats, firsts = [], []
    for cid, pos in pd.Series(np.arange(len(samples))).groupby(ids, sort=True):
        pos = pos.to_numpy()
        firsts.append(pos[0])
        stats.append({"config_id": int(cid), **_stats(samples.iloc[pos], use[pos], unit_of[pos])})
    table = pd.concat([samples[params].iloc[firsts].reset_index(drop=True), pd.DataFrame(stats)], axis=1)
    table = table[params + STAT_COLUMNS]
    table["config_id"] = table["config_id"].astype("int64")
    units = process_units(samples, ids)
    est = unit_estimates(units, table["config_id"].tolist())
    table = table.merge(est, on="config_id", how="left")
    logs = dict(tuple(units.groupby("config_id")["log_median"])) if len(units) else {}
    table["process_logs"] = [np.asarray(logs[c], dtype=float) if c in logs else np.empty(0)
                             for c in table["config_id"]]
    return Configurations(table[params + STAT_COLUMNS + LEVEL_COLUMNS], units, ids)


def config_stats(samples: pd.DataFrame, params: list[str] | None = None) -> pd.DataFrame:
    """The table of ``configurations`` alone."""
    return configurations(samples, params).table
