"""Latency steps along one numeric parameter, tested on per-process units.

Contract: configurations (config_stats rows plus ``process_logs``, the log medians of their
processes: units.py) in, and out a ``StepVerdicts``: the steps (STEP_COLUMNS), the segments
(runs of configurations at one latency level), every neighbour pair (descriptive, with the
segment it falls in), the undecided candidates, and the configurations that got no test.

Method (docs/analysis.md states it in full):
- within each group (one combination of the other parameters) configurations are sorted by
  the swept parameter; those with fewer than ``min_processes`` processes get no verdict;
- changepoints.segment finds the change points over the whole sequence, at level
  alpha / (number of groups tested): the chance of any false step in the analysis is at most
  alpha, whatever the noise looks like (permutation-calibrated);
- a step's p-value is multiplied by the number of groups (``p_adjusted``); confidence is
  1 - p_adjusted;
- a change whose location set holds configurations between its two levels is a ramp over that
  range (kind ``ramp``), not an exact step; two changes in the same direction at most RAMP_GAP
  configurations apart, or whose location sets overlap, are one ramp (with this noise a short plateau
  between two steps cannot be told from a level that drifts over those counts: "the level changes over
  this range" is what the data support).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .blocks import design_for, note as blocked_note
from .changepoints import segment

STEP_COLUMNS = ["group", "group_label", "param", "from_value", "to_value", "from_config_id",
                "to_config_id", "location_from", "location_to", "latency_before_ns", "latency_after_ns",
                "ratio", "direction", "stat", "p_value", "p_adjusted", "confidence", "kind", "n_pairs",
                "n_before", "n_after", "noise_sigma"]
SEGMENT_COLUMNS = ["group", "group_label", "first_value", "last_value", "level_ns", "n_configs",
                   "n_processes", "config_ids"]
PAIR_COLUMNS = ["group", "group_label", "param", "from_value", "to_value", "from_config_id", "to_config_id",
                "latency_before_ns", "latency_after_ns", "ratio", "n_before", "n_after", "tested", "step"]
UNDECIDED_COLUMNS = ["group", "group_label", "from_value", "to_value", "ratio", "p_adjusted", "reason",
                     "config_ids"]
MIN_PROCESSES = 2            # a configuration needs this many processes for any verdict
UNDECIDED_P = 0.2            # a split with p_adjusted below this (and a big enough effect) is undecided
LOCATION_OPEN = "step found, its place is open"
RAMP_GAP = 3                 # two changes the same way at most this many configurations apart are one ramp


def group_label(group: dict) -> str:
    """'method=gemm, region=L15'; a parameter the group's runs do not carry is 'method unset' (not 'None')."""
    return ", ".join(f"{k} unset" if v is None else f"{k}={v}" for k, v in group.items()) if group else "all"


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


@dataclass
class StepVerdicts:
    steps: pd.DataFrame
    pairs: pd.DataFrame
    segments: pd.DataFrame
    undecided: pd.DataFrame
    untested: pd.DataFrame               # configurations without enough processes: group_label, value, config_id
    noise: dict = field(default_factory=dict)     # group_label -> (sigma between processes, threshold, n_perm)
    alpha_group: float = float("nan")
    rounds: dict = field(default_factory=dict)    # group_label -> (rounds, value-ordered rounds, permuted within)
    notes: list = field(default_factory=list)     # blocked designs (blocks.py)


def _merge_ramps(rows: list[dict]) -> list[dict]:
    out: list[dict] = []
    for r in rows:
        prev = out[-1] if out else None
        if (prev is not None and prev["group_label"] == r["group_label"] and prev["direction"] == r["direction"]
                and (r["_j"] - prev["_j"] <= RAMP_GAP or r["_from_index"] <= prev["_to_index"]
                     or r["_loc_from"] < prev["_loc_to"])):
            prev.update(to_value=r["to_value"], to_config_id=r["to_config_id"], location_to=r["location_to"],
                        _loc_to=max(prev["_loc_to"], r["_loc_to"]), _j=r["_j"],
                        latency_after_ns=r["latency_after_ns"], n_after=r["n_after"], kind="ramp",
                        n_pairs=max(prev["_to_index"], r["_to_index"]) - prev["_from_index"],
                        _to_index=max(prev["_to_index"], r["_to_index"]),
                        stat=min(prev["stat"], r["stat"], key=abs), p_value=max(prev["p_value"], r["p_value"]),
                        p_adjusted=max(prev["p_adjusted"], r["p_adjusted"]))
            prev["ratio"] = prev["latency_after_ns"] / prev["latency_before_ns"]
            prev["confidence"] = 1 - prev["p_adjusted"]
        else:
            out.append(dict(r))
    return out


def detect_steps(configs: pd.DataFrame, param: str, by: list[str] | None = None, *, alpha: float = 0.01,
                 min_effect: float = 0.02, merge_ramps: bool = True, min_processes: int = MIN_PROCESSES,
                 n_perm: int | None = None, units: pd.DataFrame | None = None) -> StepVerdicts:
    """Steps along ``param`` in every group of ``by``; ``configs`` needs ``process_logs``. ``units``
    (rounds.unit_rounds of the units behind ``process_logs``, in the same order) keeps the permutation
    test inside rounds; without it the units of a group are permuted freely (no run order known)."""
    per_config = {}
    if units is not None and len(units) and {"round", "time"} <= set(units.columns):
        per_config = dict(tuple(units.groupby("config_id", sort=False)))
    by = [b for b in (by or []) if b != param]
    groups = []
    untested = []
    for group, g in iter_groups(configs, by):
        g = g[g[param].notna()].sort_values(param, kind="stable")
        k = np.array([len(v) for v in g["process_logs"]], dtype=int)
        for r in g[k < min_processes].to_dict("records"):
            untested.append({"group": group, "group_label": group_label(group), "value": r[param],
                             "config_id": r["config_id"], "n_processes": len(r["process_logs"])})
        groups.append((group, g, g[k >= min_processes]))
    n_tested = sum(len(t) >= 2 for _, _, t in groups)
    alpha_g = alpha / max(n_tested, 1)
    steps, pairs, segs, undecided, noise, rounds, notes = [], [], [], [], {}, {}, []
    for group, g, t in groups:
        label = group_label(group)
        recs = g.to_dict("records")
        step_pairs = set()
        if len(t) >= 2:
            kw: dict = {} if n_perm is None else {"n_perm": n_perm}
            blocked = design_for(per_config, list(t["config_id"]), list(t["process_logs"]))
            if blocked is not None:      # processes measured several configurations: they are the blocks
                kw["blocked"] = blocked
                notes.append(blocked_note(label, blocked))
            elif per_config:
                kw.update(rounds=[per_config[c]["round"].to_numpy() for c in t["config_id"]],
                          times=[per_config[c]["time"].to_numpy() for c in t["config_id"]])
            seg = segment([np.asarray(v, dtype=float) for v in t["process_logs"]], alpha=alpha_g,
                          min_effect=min_effect, seed=label, **kw)
            noise[label] = (seg.noise_sigma, seg.threshold, seg.n_permutations)
            rounds[label] = (seg.n_rounds, seg.ordered_rounds, seg.within_rounds)
            tr = t.to_dict("records")
            rows = []
            for cp in seg.change_points:
                a, b = tr[cp.index], tr[cp.index + 1]
                i0, i1 = (cp.index, cp.index + 1) if cp.ramp is None else (cp.ramp[0], cp.ramp[1] + 1)
                if cp.ramp is not None:      # the level changes over several counts: a ramp over them
                    a, b = tr[i0], tr[i1]
                p_adj = min(1.0, cp.p_value * n_tested)
                rows.append({"group": group, "group_label": label, "param": param, "from_value": a[param],
                             "to_value": b[param], "from_config_id": a["config_id"], "to_config_id": b["config_id"],
                             "location_from": tr[cp.location[0]][param], "location_to": tr[cp.location[1] + 1][param],
                             "latency_before_ns": float(np.exp(cp.level_before)),
                             "latency_after_ns": float(np.exp(cp.level_after)),
                             "ratio": float(np.exp(cp.level_after - cp.level_before)),
                             "direction": "up" if cp.level_after > cp.level_before else "down",
                             "stat": cp.stat, "p_value": cp.p_value, "p_adjusted": p_adj, "confidence": 1 - p_adj,
                             "kind": "step" if cp.ramp is None else "ramp", "n_pairs": i1 - i0,
                             "n_before": cp.n_before, "n_after": cp.n_after,
                             "noise_sigma": seg.noise_sigma, "_from_index": i0, "_to_index": i1,
                             "_loc_from": cp.location[0], "_loc_to": cp.location[1] + 1, "_j": cp.index})
            # a step whose place is open (its location interval is wider than its pair) is undecided in
            # place: more processes for the configurations of its two segments narrow it
            seg_of = {i: (a, b) for a, b, _, _ in seg.segments for i in range(a, b + 1)}
            for r in rows:
                if r["location_from"] != r["from_value"] or r["location_to"] != r["to_value"]:
                    first, last = seg_of[r["_from_index"]][0], seg_of[r["_to_index"]][1]
                    undecided.append({"group": group, "group_label": label, "from_value": r["location_from"],
                                      "to_value": r["location_to"], "ratio": r["ratio"],
                                      "p_adjusted": r["p_adjusted"], "reason": LOCATION_OPEN,
                                      "config_ids": [tr[i]["config_id"] for i in range(first, last + 1)]})
            # two changes in one direction around a single configuration: one stair over two counts
            rows = _merge_ramps(rows) if merge_ramps else rows
            steps += rows
            for r in rows:
                step_pairs.add((r["from_value"], r["to_value"]))
            for a, b, lvl, n_units in seg.segments:
                segs.append({"group": group, "group_label": label, "first_value": tr[a][param],
                             "last_value": tr[b][param], "level_ns": float(np.exp(lvl)), "n_configs": b - a + 1,
                             "n_processes": n_units, "config_ids": [tr[i]["config_id"] for i in range(a, b + 1)]})
            for c in seg.candidates:
                p_adj = min(1.0, c.p_value * n_tested)
                if p_adj < UNDECIDED_P and abs(c.effect) >= np.log1p(min_effect):
                    first, last = c.segment
                    undecided.append({"group": group, "group_label": label, "from_value": tr[c.index][param],
                                      "to_value": tr[c.index + 1][param], "ratio": float(np.exp(c.effect)),
                                      "p_adjusted": p_adj, "reason": "possible step, not significant yet",
                                      "config_ids": [tr[i]["config_id"] for i in range(first, last + 1)]})
        few = [r for r in recs if len(r["process_logs"]) < min_processes]
        if few and len(recs) >= 2:
            undecided.append({"group": group, "group_label": label, "from_value": few[0][param],
                              "to_value": few[-1][param], "ratio": np.nan, "p_adjusted": np.nan,
                              "reason": f"fewer than {min_processes} processes",
                              "config_ids": [r["config_id"] for r in few]})
        ok = {r["config_id"] for r in t.to_dict("records")} if len(t) else set()
        for a, b in zip(recs[:-1], recs[1:]):
            pairs.append({"group": group, "group_label": label, "param": param, "from_value": a[param],
                          "to_value": b[param], "from_config_id": a["config_id"], "to_config_id": b["config_id"],
                          "latency_before_ns": a["median_ns"], "latency_after_ns": b["median_ns"],
                          "ratio": b["median_ns"] / a["median_ns"], "n_before": len(a["process_logs"]),
                          "n_after": len(b["process_logs"]),
                          "tested": a["config_id"] in ok and b["config_id"] in ok,
                          "step": any(f <= a[param] and b[param] <= to for f, to in step_pairs)})
    S = pd.DataFrame(steps, columns=STEP_COLUMNS)[STEP_COLUMNS]
    return StepVerdicts(steps=S.reset_index(drop=True), pairs=pd.DataFrame(pairs, columns=PAIR_COLUMNS),
                        segments=pd.DataFrame(segs, columns=SEGMENT_COLUMNS),
                        undecided=pd.DataFrame(undecided, columns=UNDECIDED_COLUMNS),
                        untested=pd.DataFrame(untested, columns=["group", "group_label", "value", "config_id",
                                                                 "n_processes"]),
                        noise=noise, alpha_group=alpha_g, rounds=rounds, notes=notes)
