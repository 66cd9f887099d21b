"""Per-layer channels -> latency tables for pruning tools, from the per-process units (units.py).

One row per (layer, other parameters, swept parameter): the layer is the `layer` tag where the runs carry one
(`cltrace network` tags every run with the layer naming its shape; the region, conv_bench's shape name, is then
left out), else the region name (empty when the program had no regions), the other parameters (e.g. method, board)
stay columns, the swept parameter (default: the numeric one with most values, as in `analyse`) is the key a pruning
search looks up. Every figure comes from the processes of the configuration (one value per process: the median of
its warm samples), never from the iterations as if they were independent.

The one lookup table of cltrace (`cltrace export --format lookup`, and `--format lut`, its alias). It is made
from the prepared samples (prepare.py), the configurations and their units (configs.py) alone: no test runs.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .configs import configurations
from .prepare import prepare

LAYER = "layer"
CONFIDENCE = 0.95
LOOKUP_STATS = ["median_ms", "interval_low_ms", "interval_high_ms", "processes"]


def _lookup_by(params: list, param: str) -> list:
    """Every parameter but the swept one is a column of the table; the region only where no layer names it."""
    return [p for p in params if p != param and not (p == "region" and LAYER in params)]


def lookup_configs(samples: pd.DataFrame, param: str | None = None):
    """(the configurations (configs.py) of every parameter combination, the swept parameter, the grouping
    parameters). Raises ValueError when there is no numeric parameter to look up by."""
    prep = prepare(samples, param, by=_lookup_by)
    if prep.param is None:
        raise ValueError("no numeric parameter with several values to look latency up by "
                         "(sweep one with cltrace sweep -p NAME=a:b)")
    return configurations(prep.samples, prep.key).table, prep.param, prep.group_by


def _interval(process_ns) -> tuple:
    """95% confidence interval of the level (geometric mean of the per-process medians): t with n-1
    degrees of freedom on the log scale; (nan, nan) with fewer than two processes."""
    y = np.log(np.asarray(process_ns, dtype=float))
    if len(y) < 2:
        return math.nan, math.nan
    from scipy import stats      # here, not at import: scipy.stats costs every cltrace command ~1 s to load
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(y) - 1) * np.std(y, ddof=1) / math.sqrt(len(y))
    return float(np.exp(y.mean() - half)), float(np.exp(y.mean() + half))


def latency_lookup(samples: pd.DataFrame, param: str | None = None) -> pd.DataFrame:
    """NetAdapt/LACP-style lookup: layer, the other parameters, the swept parameter, median_ms (the
    configuration's median_ns: the median of the per-process medians), interval_low_ms/interval_high_ms
    (CONFIDENCE interval of the level), processes (how many processes measured it). Sorted by layer,
    parameters, swept value."""
    configs, param, by = lookup_configs(samples, param)
    others = [b for b in by if b not in ("region", LAYER)]
    rows = []
    for _, c in configs.iterrows():
        procs = list(c["process_median_ns"]) if isinstance(c["process_median_ns"], (list, tuple)) else []
        low, high = _interval(procs)
        med = float(c["median_ns"])
        rows.append({LAYER: layer_name(c, by),
                     **{b: c[b] for b in others}, param: c[param],
                     "median_ms": med / 1e6, "interval_low_ms": low / 1e6, "interval_high_ms": high / 1e6,
                     "processes": len(procs)})
    out = pd.DataFrame(rows, columns=[LAYER] + others + [param] + LOOKUP_STATS)
    for col in LOOKUP_STATS[:3]:
        out[col] = out[col].round(6)            # the nanosecond
    out.attrs["param"] = param
    return out.sort_values([LAYER] + others + [param], kind="stable").reset_index(drop=True)


def layer_name(c, by) -> str:
    """The layer of a configuration: its `layer` tag, else its region, else ''."""
    key = LAYER if LAYER in by else "region" if "region" in by else None
    return "" if key is None or pd.isna(c[key]) else str(c[key])


def per_process_ms(samples: pd.DataFrame, param: str | None = None):
    """(configs, param, grouping parameters) with `process_ms`: each configuration's per-process medians, ms."""
    configs, param, by = lookup_configs(samples, param)
    configs = configs.copy()
    configs["process_ms"] = [[round(v / 1e6, 6) for v in (p if isinstance(p, (list, tuple)) else [])]
                             for p in configs["process_median_ns"]]
    return configs, param, by
