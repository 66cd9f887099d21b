"""Per-process units: one value per (configuration, process).

The process is the unit of replication. Measured on PoCL, 20-80% of the variance
of a kernel's log latency lies between processes of one command (thread placement,
memory layout, frequency), so the iterations inside one process are not independent
samples: a confidence computed from them grows with iterations that carry no new
information. Every test in this package therefore sees one value per process.

The value of a unit is the median of its process's usable samples of that
configuration: the samples ``usable_mask`` lets count, the one rule for that (configs.py counts
the iterations of a configuration with it too). The median, not the mean: one preempted iteration must
not move a process's value, and with the usual 5-20 iterations the median is
nearly as efficient as the mean on clean data. Tests work on its logarithm
(``log_median``), where ratios are differences and the spread is roughly the same
at every latency level.

``run_id`` and ``first_sample`` (the smallest sample_id of the unit) place it in run order: rounds.py
derives the rounds a permutation test permutes within.

``within_sigma`` is the spread of the iterations inside the process (1.4826 x MAD of
their logs): shown in reports, never used as the noise of a test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

UNIT_COLUMNS = ["config_id", "unit", "n_samples", "median_ns", "log_median", "within_sigma", "run_id",
                "first_sample"]


def unit_keys(samples: pd.DataFrame) -> pd.Series:
    """The process a sample came from: its process_id, or -(run_id + 1) for a sample without a process
    (a failed run's placeholder row)."""
    n = len(samples)
    pid = pd.to_numeric(samples["process_id"], errors="coerce").to_numpy(dtype=float) \
        if "process_id" in samples.columns else np.full(n, np.nan)
    run = pd.to_numeric(samples["run_id"], errors="coerce").fillna(0).to_numpy(dtype=float) \
        if "run_id" in samples.columns else np.zeros(n)
    return pd.Series(np.where(np.isnan(pid), -(run + 1), pid).astype(np.int64), index=samples.index)


def usable_mask(samples: pd.DataFrame, config_ids: np.ndarray) -> np.ndarray:
    """Which samples count (the one rule, for the units and for configs.py's iteration statistics): ok ones,
    or cold ones of a configuration that has no ok sample, with a positive, finite latency."""
    st = samples["status"].to_numpy()
    ok = st == "ok"
    cold = st == "cold"
    has_ok = pd.Series(ok).groupby(config_ids).transform("any").to_numpy()
    lat = samples["latency_ns"].to_numpy(dtype=float)
    return (ok | (cold & ~has_ok)) & np.isfinite(lat) & (lat > 0)


def process_units(samples: pd.DataFrame, config_ids: np.ndarray) -> pd.DataFrame:
    """One row per (configuration, process) with a usable sample: UNIT_COLUMNS.

    ``config_ids`` gives each sample's configuration (aligned with ``samples``)."""
    config_ids = np.asarray(config_ids)
    if samples.empty:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    use = usable_mask(samples, config_ids)
    n = len(samples)
    run = pd.to_numeric(samples["run_id"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64) \
        if "run_id" in samples.columns else np.full(n, -1, dtype=np.int64)
    sid = pd.to_numeric(samples["sample_id"], errors="coerce").fillna(0).to_numpy(dtype=np.int64) \
        if "sample_id" in samples.columns else np.arange(n, dtype=np.int64)
    frame = pd.DataFrame({"config_id": config_ids[use], "unit": unit_keys(samples).to_numpy()[use],
                          "y": np.log(samples["latency_ns"].to_numpy(dtype=float)[use]),
                          "run": run[use], "sid": sid[use]})
    if frame.empty:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    keys = ["config_id", "unit"]
    g = frame.groupby(keys, sort=True)["y"]
    med = g.median()
    frame["dev"] = (frame["y"] - g.transform("median")).abs()
    mad = frame.groupby(keys, sort=True)["dev"].median() * 1.4826
    first = frame.groupby(keys, sort=True)[["run", "sid"]].min()
    out = pd.DataFrame({"n_samples": g.size(), "log_median": med, "within_sigma": mad,
                        "run_id": first["run"], "first_sample": first["sid"]}).reset_index()
    out["median_ns"] = np.exp(out["log_median"])
    out["config_id"] = out["config_id"].astype("int64")
    return out[UNIT_COLUMNS]


def unit_estimates(units: pd.DataFrame, config_ids) -> pd.DataFrame:
    """Per configuration: n_processes, median_ns (the median of its per-process medians), level_ns (exp of
    the mean of its units' log medians), the spread between processes (between_sigma, SD of log medians,
    ddof 1) and inside them (within_sigma, median over its processes), and the per-process medians
    (process_median_ns, sorted)."""
    cols = ["config_id", "n_processes", "level_ns", "between_sigma", "within_sigma", "process_median_ns",
            "median_ns"]
    rows: list = []
    by = dict(tuple(units.groupby("config_id", sort=True))) if len(units) else {}
    for cid in config_ids:
        u = by.get(cid)
        if u is None or u.empty:
            rows.append((cid, 0, np.nan, np.nan, np.nan, [], np.nan))
            continue
        y = u["log_median"].to_numpy(dtype=float)
        procs = sorted(float(v) for v in u["median_ns"])
        rows.append((cid, len(y), float(np.exp(y.mean())), float(np.std(y, ddof=1)) if len(y) > 1 else np.nan,
                     float(np.median(u["within_sigma"])), procs, float(np.median(procs))))
    return pd.DataFrame(rows, columns=cols)
