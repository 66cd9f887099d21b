"""Blocked designs: one process measured several configurations of a group.

On this machine 20-80% of the variance of a kernel's log latency lies between processes (docs/noise.md), so a
sweep that runs one process per configuration compares configurations through that noise. When one process
measures several configurations (``cltrace sweep --block K``, conv_bench's ``--out-channels 3,1,7``), the process
is a *block*: the difference between two configurations measured in the same process carries no process effect.

The unit stays one value per (configuration, process) (units.py); what changes is the test:
- each unit's log median is taken relative to its process: ``y - mean(y of its process) + grand mean``, so the
  process effect cancels (with every process measuring every configuration of the group, a configuration's mean
  is unchanged; with incomplete blocks, differences between configurations that seldom share a process shrink,
  which costs power, never validity);
- the permutation test permutes configuration labels among the units of one process (changepoints.segment with
  these blocks): under "no change" the labels inside a process are exchangeable because the process measured
  its configurations in a random order, so the test is exact whatever a process's level, and whatever drifts
  inside it. A/A stays honest (bench/bench_aa.py --block).

A process that measured one configuration of the group carries no contrast inside a block: its units are left
out of the blocked test (a note says how many). When that would leave a configuration with fewer than two
units the group keeps the design of separate processes (rounds.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..ranges import span_text
from .rounds import MIN_ORDERED, value_ordered

MIN_UNITS = 2              # units per configuration a blocked test needs (steps.MIN_PROCESSES)


@dataclass
class BlockedDesign:
    """The units of one group, blocked by process: what changepoints.segment tests."""
    values: list                       # per configuration, the kept units' log medians relative to their process
    blocks: list                       # per process, positions of its units in the configuration-major vector
    n_blocks: int = 0
    n_units: int = 0
    n_dropped: int = 0                 # units of processes that measured one configuration of the group
    ordered: int = 0                   # blocks of >= MIN_ORDERED units measured in the order of the swept value
    checked: int = 0                   # blocks of >= MIN_ORDERED units
    sizes: tuple = field(default=(0, 0))   # fewest and most configurations per process


def blocked_design(units: list, values: list) -> BlockedDesign | None:
    """``units[i]``: the units of configuration i (a DataFrame with ``unit``, the process, and ``time``, the rank in
    run order; rounds.unit_rounds), aligned with ``values[i]`` (their log medians). None when no process of the
    group measured two of its configurations, or when leaving out single-configuration processes would leave a
    configuration with fewer than MIN_UNITS units."""
    if not units or any("unit" not in u.columns for u in units):
        return None
    proc = np.concatenate([u["unit"].to_numpy(dtype=np.int64) for u in units])
    time = np.concatenate([u["time"].to_numpy(dtype=np.int64) if "time" in u.columns
                           else np.zeros(len(u), np.int64) for u in units])
    y = np.concatenate([np.asarray(v, dtype=float) for v in values])
    cfg = np.repeat(np.arange(len(units)), [len(u) for u in units])
    if len(proc) != len(y):
        return None
    uniq, inv, per = np.unique(proc, return_inverse=True, return_counts=True)
    if not (per >= 2).any():
        return None
    keep = per[inv] >= 2
    if (np.bincount(cfg[keep], minlength=len(units)) < MIN_UNITS).any():
        return None
    proc, time, y, cfg, inv = proc[keep], time[keep], y[keep], cfg[keep], inv[keep]
    sums = np.bincount(inv, weights=y, minlength=len(uniq))
    counts = np.bincount(inv, minlength=len(uniq))
    adj = y - sums[inv] / np.maximum(counts[inv], 1) + y.mean()
    order = np.argsort(cfg, kind="stable")            # configuration-major, as changepoints._Design concatenates
    adj, proc, time, cfg = adj[order], proc[order], time[order], cfg[order]
    out_values = [adj[cfg == i] for i in range(len(units))]
    blocks, ordered, checked, sizes = [], 0, 0, []
    for p in np.unique(proc):
        pos = np.flatnonzero(proc == p)
        pos = pos[np.argsort(time[pos], kind="stable")]
        blocks.append(pos)
        sizes.append(len(pos))
        if len(pos) >= MIN_ORDERED:
            checked += 1
            ordered += value_ordered(cfg[pos], time[pos])
    return BlockedDesign(values=out_values, blocks=blocks, n_blocks=len(blocks), n_units=int(len(adj)),
                         n_dropped=int((~keep).sum()), ordered=int(ordered), checked=int(checked),
                         sizes=(int(min(sizes)), int(max(sizes))))


def design_for(per_config: dict, config_ids, values: list) -> BlockedDesign | None:
    """The blocked design of one group from ``per_config`` (config_id -> its units, rounds.unit_rounds) or None."""
    if not per_config or any(c not in per_config for c in config_ids):
        return None
    return blocked_design([per_config[c] for c in config_ids], values)


def note(label: str, d: BlockedDesign) -> str:
    """What the analysis says about a blocked group."""
    size = span_text(d.sizes[0], d.sizes[1])
    text = (f"blocked design ({label}): {d.n_blocks} processes measured {size} configurations each; the test "
            f"compares configurations inside each process (the process effect cancels) and permutes "
            f"configuration labels among the units of one process")
    if d.n_dropped:
        text += (f"; {d.n_dropped} unit(s) of processes that measured a single configuration carry no "
                 f"within-process contrast and are left out of the test")
    if d.checked and 2 * d.ordered >= d.checked and d.checked >= 2:
        text += (f"; {d.ordered} of {d.checked} processes measured their configurations in the order of the "
                 f"swept value, so drift inside a process looks like a step: measure them in a random order "
                 f"(cltrace sweep --block does; conv_bench --order-seed)")
    return text


def is_blocked(units: pd.DataFrame) -> bool:
    """Whether any process of ``units`` measured more than one configuration."""
    if units is None or not len(units) or "unit" not in units.columns:
        return False
    return bool((units.groupby("unit")["config_id"].nunique() >= 2).any())
