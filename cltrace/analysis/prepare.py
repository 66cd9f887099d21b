"""The preparing stage of the staircase analysis: a samples DataFrame (samples.build_samples) in, a
``Prepared`` out, ready to be measured (configs.configurations) and tested (steps.py).

Contract (everything the analysis does to the samples before it counts anything happens here, once):
- parameter columns are typed by values.py's rule (samples.to_number); the repetition counters of
  ``ignore`` and columns without any value are no parameters;
- the swept parameter is the one asked for (a ValueError, with the message the CLI shows, when it is
  missing or not numeric), else ``channels`` in a network sweep, else the numeric parameter with most values
  (``choose_param``); None when there is none (a note says so);
- failed runs are cleaned up: a failed run without launches takes the value every other sample agrees on for
  a parameter it lacks (``place_failed``); one that still lacks a grouping parameter is left out of the
  configurations, with a note (``drop_unplaced``); ``status``/``run_id`` keep every sample for the summary;
- ``by`` (the grouping parameters) defaults to the parameters other than the swept one that vary among the
  usable samples (in a network sweep, none of the shape tags that follow from the layer); it may be given as
  a list or as a function (params, param) -> list;
- ``key`` = the grouping parameters, then the swept one: what makes a configuration.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

import pandas as pd

from .samples import param_columns, to_number

# Parameters that number repetitions rather than configurations.
DEFAULT_IGNORE = ("repeat", "repeat_index", "rep", "iter", "iteration", "trial", "seed")
# A network sweep (cltrace network) tags every run layer, channels, distance and the layer's shape: the shape and
# the region (conv_bench names it after the shape) follow from the layer, the distance from (layer, channels), so
# the default analysis sweeps channels per layer and groups by none of them.
NETWORK_TAGS = ("layer", "channels", "distance")
NETWORK_DERIVED = ("distance", "input", "kernel", "stride", "pad", "shared", "region")

GroupBy = Union[None, list, Callable[[list, str], list]]


def is_network_sweep(params) -> bool:
    return all(t in params for t in NETWORK_TAGS)


@dataclass
class Prepared:
    samples: pd.DataFrame            # typed, failed runs placed, unplaced ones left out
    params: list                     # the parameter columns (typed, without the ignored ones)
    param: str | None                # the swept parameter
    by: list                         # grouping parameters (may include param; key leaves it out)
    network: bool
    status: pd.Series                # every sample's status, before unplaced failed runs were left out
    run_ids: pd.Series               # and its run_id
    notes: list = field(default_factory=list)

    @property
    def group_by(self) -> list:
        return [b for b in self.by if b != self.param]

    @property
    def key(self) -> list:
        return self.group_by + ([self.param] if self.param else [])


def choose_param(samples: pd.DataFrame, params: list[str]) -> str | None:
    """The numeric parameter with the most distinct values (ties: first by name)."""
    best, best_n = None, 1
    for p in sorted(params):
        col = samples[p]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            n = col.nunique(dropna=True)
            if n > best_n:
                best, best_n = p, n
    return best


def typed_params(samples: pd.DataFrame, ignore=DEFAULT_IGNORE) -> tuple[pd.DataFrame, list]:
    """(a copy of the samples with every parameter column typed, the parameters)."""
    samples = samples.copy()
    params = [p for p in param_columns(samples) if p not in ignore and samples[p].notna().any()]
    for p in params:
        samples[p] = to_number(samples[p])
    return samples, params


def place_failed(samples: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """A failed run without launches has no region, so none of the region's tags: where every other sample
    agrees on a parameter, the failed one gets that value instead of forming a group of its own
    ("region=None")."""
    if "status" not in samples.columns:
        return samples
    failed = (samples["status"] == "failed-run").to_numpy()
    if not failed.any() or failed.all():
        return samples
    for p in params:
        miss = failed & samples[p].isna().to_numpy()
        others = samples.loc[~failed, p]
        if miss.any() and others.notna().all() and others.nunique() == 1:
            samples.loc[miss, p] = others.iloc[0]
    return samples


def drop_unplaced(samples: pd.DataFrame, group_by: list[str], notes: list[str]) -> pd.DataFrame:
    """Failed runs that still miss a grouping parameter belong to no group: left out of the tables (they
    stay in summary.failed_runs), with a note."""
    if "status" not in samples.columns or not group_by:
        return samples
    lost = (samples["status"] == "failed-run") & samples[group_by].isna().any(axis=1)
    if not lost.any():
        return samples
    runs = sorted({int(r) for r in samples.loc[lost, "run_id"]}) if "run_id" in samples.columns else []
    notes.append(f"{len(runs) or int(lost.sum())} failed run(s) without launches carry no "
                 f"{', '.join(group_by)}: left out of the configurations" +
                 (f" (run_id {', '.join(map(str, runs[:10]))}{' ...' if len(runs) > 10 else ''})" if runs else ""))
    return samples[~lost]


def _sweep_param(samples, params, param, network, notes):
    if param is None and network:
        notes.append("a network sweep (cltrace network): channels swept per layer")
        param = "channels"
    elif param is None:
        param = choose_param(samples, params)
        notes.append("no numeric parameter with more than one value: nothing to sweep" if param is None
                     else f"sweep parameter chosen automatically: {param}")
        return param
    if param not in samples.columns:
        raise ValueError(f"no parameter named {param!r}; parameters are: {', '.join(params) or 'none'}")
    if not pd.api.types.is_numeric_dtype(samples[param]):
        raise ValueError(f"parameter {param!r} is not numeric (values like {samples[param].dropna().iloc[0]!r})")
    return param


def prepare(samples: pd.DataFrame, param: str | None = None, *, by: GroupBy = None,
            ignore=DEFAULT_IGNORE) -> Prepared:
    """The samples made ready for the analysis (the module's contract)."""
    notes = list(samples.attrs.get("notes", []))
    samples, params = typed_params(samples, ignore)
    network = is_network_sweep(params)
    param = _sweep_param(samples, params, param, network, notes)
    samples = place_failed(samples, params)
    status = samples["status"] if "status" in samples.columns else pd.Series(dtype=object)
    runs = samples["run_id"] if "run_id" in samples.columns else pd.Series(dtype="int64")
    if callable(by):
        by = by(params, param)
    elif by is None:
        usable = samples[status != "failed-run"] if (status != "failed-run").any() else samples
        by = [p for p in params if p != param and usable[p].nunique(dropna=False) > 1
              and not (network and param == "channels" and p in NETWORK_DERIVED)]
    by = list(by)
    samples = drop_unplaced(samples, [b for b in by if b != param], notes)
    return Prepared(samples=samples, params=params, param=param, by=by, network=network, status=status,
                    run_ids=runs, notes=notes)
