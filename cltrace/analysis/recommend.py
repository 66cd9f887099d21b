"""Recommendations from configurations and steps: stair edges, Pareto frontier,
hazards, speedup versus pruning distance, best count under constraints.

The reference ("unpruned") configuration of a group is the one with the largest
value of the swept parameter.  Every verdict uses ``segment_level_ns``: the level of
the segment (run of configurations between two significant steps) a configuration
lies in, so a recommendation never rests on the noise of one configuration and
survives a re-run exactly as the steps do.  Configurations that got no test (fewer
than two processes) keep their own median there.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .steps import group_label, iter_groups


def _level(c: dict) -> float:
    v = c.get("segment_level_ns")
    return c["median_ns"] if v is None or pd.isna(v) else v


def _groups(configs: pd.DataFrame, param: str, by: list[str]):
    for group, g in iter_groups(configs, [b for b in by if b != param]):
        g = g[g[param].notna()].sort_values(param, kind="stable")
        if len(g):
            yield group, group_label(group), g


def _slowest_segment(recs: list[dict]) -> bool:
    """Whether the last configuration (the group's maximum) lies in the slowest of several segments."""
    levels = {c["segment_id"]: _level(c) for c in recs if not pd.isna(c.get("segment_id", np.nan))}
    last = recs[-1].get("segment_id", np.nan)
    return len(levels) > 1 and not pd.isna(last) and levels[last] >= max(levels.values())


def stair_edges(configs: pd.DataFrame, param: str, by: list[str]) -> pd.DataFrame:
    """Right edges of stairs. A stair is a segment (``segment_id``: the configurations between two significant
    steps, the ones every cell, hazard and best count is read from). Its right edge is its largest count when the
    next tested count lies on a slower stair (a step up), plus each group's maximum unless it lies in the
    group's slowest segment (then every stair below it is faster: it is no best count). ``next_value`` is the
    first count of the slower stair, ``step_ratio`` the ratio of the two stairs' levels.

    The edge is where the analysis puts the step (the split of the segments), also when the step is a ramp or
    its place is open (``steps``' from_value/to_value and location_from/location_to are wider): one rule for
    the edges, the cells' levels and the best count, so a stair's edge is never a count below the stair's
    largest (issue 24: conv2_1's stair 24..26 had its edge at 25, the ramp's first count, and its best at 26)."""
    rows = []
    for group, label, g in _groups(configs, param, by):
        recs = g.to_dict("records")
        slowest_max = _slowest_segment(recs)
        tested = [c for c in recs if not pd.isna(c.get("segment_id", np.nan))]
        nxt = {a["config_id"]: b for a, b in zip(tested[:-1], tested[1:])}
        for i, c in enumerate(recs):
            b = nxt.get(c["config_id"])
            if b is not None and (b["segment_id"] == c["segment_id"] or _level(b) <= _level(c)):
                b = None                        # the next stair is no slower: c is no edge
            is_max = i == len(recs) - 1
            if b is not None or (is_max and not slowest_max):
                rows.append({"group": group, "group_label": label, "value": c[param],
                             "config_id": c["config_id"], "latency_ns": _level(c),
                             "next_value": None if b is None else b[param],
                             "step_ratio": None if b is None else _level(b) / _level(c), "is_max": is_max})
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
            if _level(c) * (1 + tol) < best:
                best = _level(c)
                rows.append({"group": group, "group_label": label, "value": c[param],
                             "config_id": c["config_id"], "latency_ns": _level(c)})
    out = pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns"])
    return out.sort_values(["group_label", "value"], kind="stable").reset_index(drop=True)


def hazards(configs: pd.DataFrame, steps: pd.DataFrame, param: str, by: list[str], *,
            min_effect: float = 0.02) -> pd.DataFrame:
    """Configs slower than their group's maximum by at least min_effect, with a significant step
    between them (they lie in another segment); ``confidence`` is the least of those steps'."""
    rows = []
    for group, label, g in _groups(configs, param, by):
        recs = g.to_dict("records")
        ref = recs[-1]
        st = steps[steps["group_label"] == label] if len(steps) else steps
        st_to, st_from = st["to_value"].to_numpy(), st["from_value"].to_numpy()
        st_conf = st["confidence"].to_numpy(dtype=float)
        for c in recs[:-1]:
            if pd.isna(c.get("segment_id")) or c.get("segment_id") == ref.get("segment_id"):
                continue
            factor = _level(c) / _level(ref)
            if factor < 1 + min_effect:
                continue
            between = (st_to > c[param]) & (st_from < ref[param])
            conf = float(st_conf[between].min()) if between.any() else np.nan
            rows.append({"group": group, "group_label": label, "value": c[param],
                         "config_id": c["config_id"], "latency_ns": _level(c),
                         "ref_value": ref[param], "ref_latency_ns": _level(ref),
                         "factor": factor, "confidence": conf})
    return pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns",
                                       "ref_value", "ref_latency_ns", "factor", "confidence"])


CANDIDATE_SAME_SEGMENT = "no significant step between it and the unpruned configuration"
CANDIDATE_NO_VERDICT = "measured in fewer than 2 processes: no verdict"


def hazard_candidates(configs: pd.DataFrame, found: pd.DataFrame, param: str, by: list[str], *,
                      min_effect: float = 0.02) -> pd.DataFrame:
    """Configs whose own median is at least (1 + min_effect) times the unpruned one's (a speedup below 1 in
    `speedups`) but that are not hazards (`found`): no significant step separates them from the maximum, or
    they have no verdict. Not findings: what more processes would decide."""
    cols = ["group", "group_label", "value", "config_id", "latency_ns", "ref_value", "ref_latency_ns", "factor",
            "n_processes", "reason"]
    known = set(found["config_id"]) if len(found) else set()
    rows = []
    for group, label, g in _groups(configs, param, by):
        recs = g.to_dict("records")
        ref = recs[-1]
        for c in recs[:-1]:
            if c["config_id"] in known or pd.isna(c["median_ns"]) or pd.isna(ref["median_ns"]):
                continue
            factor = c["median_ns"] / ref["median_ns"]
            if factor < 1 + min_effect:
                continue
            procs = c.get("n_processes", 0)
            procs = 0 if pd.isna(procs) else int(procs)
            rows.append({"group": group, "group_label": label, "value": c[param], "config_id": c["config_id"],
                         "latency_ns": c["median_ns"], "ref_value": ref[param], "ref_latency_ns": ref["median_ns"],
                         "factor": factor, "n_processes": procs,
                         "reason": CANDIDATE_NO_VERDICT if procs < 2 or ref.get("n_processes", 0) < 2
                         else CANDIDATE_SAME_SEGMENT})
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["group_label", "factor"], ascending=[True, False], kind="stable").reset_index(drop=True)


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
        cand = cand.assign(_level=[_level(c) for c in cand.to_dict("records")])
        if budget_ns is not None:
            cand = cand[cand["_level"] <= budget_ns]
            pick = cand.iloc[-1] if len(cand) else None
            why = "most channels within the latency budget"
        else:
            if len(cand):
                fastest = cand["_level"].min()
                pick = cand[cand["_level"] <= fastest * 1.005].iloc[-1]
            else:
                pick = None
            why = "fastest at or above the minimum count"
        rows.append({"group": group, "group_label": label,
                     "value": None if pick is None else pick[param],
                     "config_id": None if pick is None else pick["config_id"],
                     "latency_ns": None if pick is None else pick["_level"],
                     "speedup": None if pick is None else _level(ref) / pick["_level"],
                     "reason": why if pick is not None else "no configuration satisfies the constraints"})
    return pd.DataFrame(rows, columns=["group", "group_label", "value", "config_id", "latency_ns",
                                       "speedup", "reason"])
