"""Recommendations from configurations and steps: stair edges, Pareto frontier,
hazards, speedup versus pruning distance, best count under constraints.

The reference ("unpruned") configuration of a group is the one with the largest
value of the swept parameter.  All latencies are configuration medians.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .steps import compare, group_label, iter_groups, pooled_sigma


def _groups(configs: pd.DataFrame, param: str, by: list[str]):
    for group, g in iter_groups(configs, [b for b in by if b != param]):
        g = g[g[param].notna()].sort_values(param, kind="stable")
        if len(g):
            yield group, group_label(group), g


def stair_edges(configs: pd.DataFrame, steps: pd.DataFrame, param: str, by: list[str]) -> pd.DataFrame:
    """Right edges of stairs: configs whose next higher value is a step up, plus each group's maximum."""
    up = {} if steps.empty else {
        (r["group_label"], r["from_config_id"]): r for r in steps.to_dict("records") if r["direction"] == "up"}
    rows = []
    for group, label, g in _groups(configs, param, by):
        recs = g.to_dict("records")
        for i, c in enumerate(recs):
            s = up.get((label, c["config_id"]))
            is_max = i == len(recs) - 1
            if s is not None or is_max:
                rows.append({"group": group, "group_label": label, "value": c[param],
                             "config_id": c["config_id"], "latency_ns": c["median_ns"],
                             "next_value": None if s is None else s["to_value"],
                             "step_ratio": None if s is None else s["ratio"], "is_max": is_max})
    return pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns",
                                       "next_value", "step_ratio", "is_max"])


def pareto(configs: pd.DataFrame, param: str, by: list[str], tol: float = 0.0) -> pd.DataFrame:
    """Configs not dominated by another with more channels and a latency at most (1 + tol) times theirs.

    Walking from the largest value down, a config joins the frontier when its median is below
    the best median seen so far divided by (1 + tol); tol = min_effect keeps noise inside a flat
    stair from adding points (epsilon-Pareto).  tol = 0 is the plain frontier.
    """
    rows = []
    for group, label, g in _groups(configs, param, by):
        best = np.inf
        for c in reversed(g.to_dict("records")):
            if c["median_ns"] * (1 + tol) < best:
                best = c["median_ns"]
                rows.append({"group": group, "group_label": label, "value": c[param],
                             "config_id": c["config_id"], "latency_ns": c["median_ns"]})
    out = pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns"])
    return out.sort_values(["group_label", "value"], kind="stable").reset_index(drop=True)


def hazards(configs: pd.DataFrame, param: str, by: list[str], *, alpha: float = 0.01,
            min_effect: float = 0.02, prior_df: float = 5.0) -> pd.DataFrame:
    """Configs significantly slower than their group's maximum (Bonferroni within the group)."""
    rows = []
    for group, label, g in _groups(configs, param, by):
        recs = g.to_dict("records")
        ref = recs[-1]
        logs = [np.log(np.asarray(c["latencies"], dtype=float)) for c in recs]
        sigma, _ = pooled_sigma(logs)
        m = max(1, len(recs) - 1)
        for c, y in zip(recs[:-1], logs[:-1]):
            factor = c["median_ns"] / ref["median_ns"]
            if factor < 1 + min_effect:
                continue
            z, p = compare(logs[-1], y, sigma, prior_df)
            p_adj = min(1.0, p * m) if np.isfinite(p) else np.nan
            if np.isfinite(p_adj) and p_adj >= alpha:
                continue
            rows.append({"group": group, "group_label": label, "value": c[param],
                         "config_id": c["config_id"], "latency_ns": c["median_ns"],
                         "ref_value": ref[param], "ref_latency_ns": ref["median_ns"],
                         "factor": factor, "p_adjusted": p_adj})
    return pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns",
                                       "ref_value", "ref_latency_ns", "factor", "p_adjusted"])


def speedups(configs: pd.DataFrame, param: str, by: list[str]) -> pd.DataFrame:
    """speedup = latency(max) / latency(value) against removed = max - value (the seed paper's figures)."""
    rows = []
    for group, label, g in _groups(configs, param, by):
        ref = g.iloc[-1]
        for c in g.to_dict("records"):
            rows.append({"group": group, "group_label": label, "value": c[param],
                         "removed": ref[param] - c[param], "latency_ns": c["median_ns"],
                         "speedup": ref["median_ns"] / c["median_ns"]})
    return pd.DataFrame(rows, columns=["group", "group_label", "value", "removed", "latency_ns", "speedup"])


def best_config(configs: pd.DataFrame, param: str, by: list[str], *, budget_ns: float | None = None,
                min_value: float | None = None) -> pd.DataFrame:
    """Per group, the recommended value of ``param``.

    With a latency budget: the largest value whose median meets the budget (and
    is >= min_value when given).  With only min_value: the fastest value >=
    min_value, ties (within 0.5%) broken towards more channels.  Groups where
    nothing qualifies get value None and a reason.
    """
    rows = []
    for group, label, g in _groups(configs, param, by):
        ref = g.iloc[-1]
        cand = g
        if min_value is not None:
            cand = cand[cand[param] >= min_value]
        if budget_ns is not None:
            cand = cand[cand["median_ns"] <= budget_ns]
            pick = cand.iloc[-1] if len(cand) else None
            why = "most channels within the latency budget"
        else:
            if len(cand):
                fastest = cand["median_ns"].min()
                pick = cand[cand["median_ns"] <= fastest * 1.005].iloc[-1]
            else:
                pick = None
            why = "fastest at or above the minimum count"
        rows.append({"group": group, "group_label": label,
                     "value": None if pick is None else pick[param],
                     "config_id": None if pick is None else pick["config_id"],
                     "latency_ns": None if pick is None else pick["median_ns"],
                     "speedup": None if pick is None else ref["median_ns"] / pick["median_ns"],
                     "reason": why if pick is not None else "no configuration satisfies the constraints"})
    return pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns",
                                       "speedup", "reason"])
