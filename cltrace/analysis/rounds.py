"""Rounds and run order of the per-process units: the blocks a permutation test may permute within.

A sweep measures its configurations in rounds: `cltrace sweep --repeat R` runs one pass over all
configurations per repetition, and --adaptive adds rounds of re-runs. The noise of this machine is
not independent from run to run: measured on 56 real A/A sweeps (conv_bench, 36 processes each, run
one after the other) the per-process log medians have an autocorrelation of 0.16 / 0.08 / 0.04 at
lags 1 / 2 / 3 runs (load bursts, PoCL's thread placement persisting), and rounds differ in level by
up to a third of the spread between processes. When a round runs its configurations in the order of
the swept value (`--order interleave`, `sequential`), neighbours in time are neighbours in value: a
burst over three runs lifts three adjacent configurations together, which the old test (units
exchangeable over the whole sweep) took for a step.

Pure functions over the units table (units.py, with its ``run_id`` and ``first_sample`` columns):
- ``unit_rounds``: each unit's round (its rank among the units of its configuration, in run order:
  the k-th process of every configuration is in round k, whatever the --order) and its time (rank
  of the unit in run order);
- ``value_ordered``: whether a round ran its configurations in the order of the swept value (or
  its reverse). Such a round is no randomised block: a group with one keeps the free permutation
  (changepoints.segment), and the report says that drift can then look like a step.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_ORDERED = 3          # a round of fewer units is in value order by chance alone


def unit_rounds(units: pd.DataFrame) -> pd.DataFrame:
    """``units`` (config_id, unit, run_id, first_sample) -> the same rows with ``round`` (0-based rank of
    the unit among its configuration's units in run order) and ``time`` (0-based rank in run order)."""
    out = units.copy()
    if out.empty:
        out["round"] = pd.Series(dtype="int64")
        out["time"] = pd.Series(dtype="int64")
        return out
    run = pd.to_numeric(out["run_id"], errors="coerce").fillna(-1).to_numpy(dtype=float) \
        if "run_id" in out.columns else np.zeros(len(out))
    first = pd.to_numeric(out["first_sample"], errors="coerce").fillna(0).to_numpy(dtype=float) \
        if "first_sample" in out.columns else np.arange(len(out), dtype=float)
    order = np.lexsort((out["unit"].to_numpy(), first, run))
    time = np.empty(len(out), dtype=np.int64)
    time[order] = np.arange(len(out))
    out["time"] = time
    out["round"] = out.assign(_t=time).sort_values("_t").groupby("config_id").cumcount().reindex(out.index)
    out["round"] = out["round"].astype("int64")
    return out


def value_ordered(config_index: np.ndarray, time: np.ndarray) -> bool:
    """True when the units of one round, taken in run order, visit the configurations in ascending or
    descending order of the swept value (``config_index``: position of each unit's configuration along
    the sweep). A round of fewer than MIN_ORDERED units is not called ordered."""
    if len(config_index) < MIN_ORDERED:
        return False
    c = np.asarray(config_index)[np.argsort(time, kind="stable")]
    d = np.diff(c)
    return bool((d > 0).all() or (d < 0).all())


def blocks(rounds: list, times: list) -> list:
    """Per round present: (unit positions in the concatenated configuration-major unit vector, sorted by
    run time; whether the round is value-ordered). ``rounds[i]`` / ``times[i]`` hold the round and time
    of each unit of configuration i, in the order of its values."""
    r = np.concatenate([np.asarray(x, dtype=np.int64) for x in rounds]) if rounds else np.empty(0, np.int64)
    t = np.concatenate([np.asarray(x, dtype=np.int64) for x in times]) if times else np.empty(0, np.int64)
    cfg = np.repeat(np.arange(len(rounds)), [len(x) for x in rounds])
    out = []
    for b in np.unique(r):
        pos = np.flatnonzero(r == b)
        pos = pos[np.argsort(t[pos], kind="stable")]
        out.append((pos, value_ordered(cfg[pos], t[pos])))
    return out
