"""Dispatch changes along a sweep: facts, not statistics.

For every neighbour pair of configurations (ascending sweep parameter, within each group) whose dominant
dispatch signatures differ, one row per difference, whether or not the latency stepped there. The pair
classifier is attribution.pair_changes, the one attribute() uses for steps, so a step's causes and the
changes listed at its pair agree. Kinds: ``extra-dispatch``, ``dispatch-removed``, ``variant-switch``,
``work-group-split``, ``tile-padding``, ``waves``, ``routine-growth`` (see attribution), and, given a job context
(dispatch_jobs.JobContext), ``extra-job`` / ``job-removed``: the same launch run as another number of driver jobs
(jobs.job_changes: a non-uniform range split into uniform regions).

Kernels compare by family (kernel_family): a per-shape specialisation (``conv_M61_...`` -> ``conv_M62_...``)
is the same kernel, not a variant switch.

Routine growth is summarised, not listed per pair: a kernel whose global size follows the swept parameter
changes at nearly every pair, and one row per pair would drown the real changes. Each (group, family) with
routine growth gets one row spanning the first to the last pair where it grew (``n_pairs`` of them,
``routine`` True); every other row is one pair (``n_pairs`` 1). A wave crossing is always listed by itself,
routine kernel or not: it is the usual cause of stairs on GPUs.

Configurations without a signature (no usable sample) are left out, so their neighbours are compared with
each other.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .signatures import RepeatedSignature
from .attribution import kernel_family, pair_changes, routine_global_kernels, routine_work_group_kernels
from .jobs import job_changes

__all__ = ["CHANGE_COLUMNS", "dispatch_changes", "kernel_family", "link_steps"]

CHANGE_COLUMNS = ["change_id", "group_label", "param", "from_value", "to_value", "from_config_id",
                  "to_config_id", "kind", "kernel", "family", "before", "after", "text", "work_groups_before",
                  "work_groups_after", "rounds_before", "rounds_after", "routine", "n_pairs", "signature_varies"]
_INT = ["work_groups_before", "work_groups_after", "rounds_before", "rounds_after"]


def _label(r: dict, by: list[str]) -> str:
    # the format of steps.group_label, for configs that come without a group_label column
    return ", ".join(f"{b}={None if pd.isna(r[b]) else r[b]}" for b in by) if by else "all"


def _signature(s) -> tuple | RepeatedSignature:
    if isinstance(s, RepeatedSignature):      # a long periodic sample's: compared without expanding it
        return s
    return tuple(tuple(e) for e in s) if isinstance(s, (tuple, list, np.ndarray)) else ()


def dispatch_changes(configs: pd.DataFrame, param: str, by: list[str] | None = None,
                     compute_units: int | dict | None = None, share: float = 0.5, jobs=None) -> pd.DataFrame:
    """Every dispatch change between neighbour configurations (CHANGE_COLUMNS), in group order, then by
    ``from_value``. ``configs``: config_stats output (``signature``, ``signature_varies``, ``config_id`` and
    ``param``), with ``group_label`` (else made from ``by``). ``compute_units``: of the device that ran the sweep
    (Trace.compute_units()), or a dict group_label -> compute units; None: no wave is claimed. ``share``: a kernel
    whose global size changes on at least that share of the pairs where it runs is routine
    (routine_global_kernels). ``jobs``: a dispatch_jobs.JobContext; with it, job-count changes under each group's
    policy are listed too (their rounds over the context's cores)."""
    by = [b for b in (by or []) if b != param]
    if configs is None or configs.empty or param not in configs.columns:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    df = configs[configs[param].notna()]
    labels = df["group_label"] if "group_label" in df.columns else \
        pd.Series([_label(r, by) for r in df[by].to_dict("records")] if by else "all", index=df.index)
    rows: list[dict] = []
    for gi, label in enumerate(pd.unique(labels)):
        g = df[labels == label].sort_values(param, kind="stable")
        recs = [r for r in g[[param, "config_id", "signature", "signature_varies"]].to_dict("records")
                if _signature(r["signature"])]
        sides = [(_signature(a["signature"]), _signature(b["signature"])) for a, b in zip(recs, recs[1:])]
        routine = routine_global_kernels(sides, share)
        steady = routine_global_kernels(sides, share, steady=True)
        wg_routine = routine_work_group_kernels(sides, share)
        growth: dict[str | None, list] = {}
        for (a, b), (sa, sb) in zip(zip(recs, recs[1:]), sides):
            if sa == sb:
                continue
            base = {"group_label": label, "param": param, "from_value": a[param], "to_value": b[param],
                    "from_config_id": int(a["config_id"]), "to_config_id": int(b["config_id"]),
                    "signature_varies": bool(a["signature_varies"] or b["signature_varies"]),
                    "_g": gi}
            cu = compute_units.get(label) if isinstance(compute_units, dict) else compute_units
            found = pair_changes(sa, sb, routine, steady, cu, wg_routine)
            if jobs is not None:
                found += job_changes(sa, sb, jobs.policy_of(label), jobs.cores_of(label))
            for c in found:
                if c.kind == "routine-growth":
                    growth.setdefault(c.family, []).append((base, c))
                    continue
                rows.append({**base, "kind": c.kind, "kernel": c.kernel, "family": c.family, "before": c.before,
                             "after": c.after, "text": c.text, "work_groups_before": c.work_groups_before,
                             "work_groups_after": c.work_groups_after, "rounds_before": c.rounds_before,
                             "rounds_after": c.rounds_after, "routine": False, "n_pairs": 1})
        for fam, items in growth.items():
            rows.append(_growth_row(fam, items, param))
    if not rows:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    out = pd.DataFrame(rows)
    out["_i"] = np.arange(len(out))
    out = out.sort_values(["_g", "from_value", "_i"], kind="stable").reset_index(drop=True)
    out["change_id"] = np.arange(len(out), dtype="int64")
    for col in _INT:
        out[col] = pd.array(out[col].astype(object).where(out[col].notna(), None).tolist(), dtype="Int64")
    return out[CHANGE_COLUMNS]


def _growth_row(family: str | None, items: list, param: str) -> dict:
    """One routine-growth row for all the pairs where `family` grew routinely."""
    pairs = list(dict.fromkeys((b["from_config_id"], b["to_config_id"]) for b, _ in items))
    (first, c0), (last, c1) = items[0], items[-1]
    start, end = c0.renamed_from or c0.kernel, c1.kernel
    parts = []
    if any(c.before != c.after for _, c in items):
        parts.append(f"global {c0.before} -> {c1.after}")
    if start != end:
        parts.append(f"name {start} -> {end}")
    kernel = start if start == end else family
    where = (f"at {param} {first['from_value']} -> {last['to_value']}" if len(pairs) == 1 else
             f"from {param}={first['from_value']} to {last['to_value']}, changing at {len(pairs)} neighbour pairs")
    return {"group_label": first["group_label"], "param": param, "from_value": first["from_value"],
            "to_value": last["to_value"], "from_config_id": first["from_config_id"],
            "to_config_id": last["to_config_id"], "kind": "routine-growth", "kernel": kernel, "family": family,
            "before": c0.before, "after": c1.after,
            "text": f"routine growth: {kernel} {', '.join(parts) or 'specialised per shape'} ({where}; it follows "
                    f"{param})",
            "work_groups_before": c0.work_groups_before, "work_groups_after": c1.work_groups_after,
            "rounds_before": None, "rounds_after": None, "routine": True, "n_pairs": len(pairs),
            "signature_varies": any(b["signature_varies"] for b, _ in items), "_g": first["_g"]}


def link_steps(steps: pd.DataFrame, changes: pd.DataFrame) -> tuple[list[list[int]], list[bool]]:
    """Which changes each step spans, and which changes lie under some step. A step (steps.detect_steps row:
    ``group_label``, ``from_value``, ``to_value``; a ramp spans several pairs) spans the non-routine changes
    of its group whose pair lies within [from_value, to_value]. Returns (change_ids per step row, in the
    steps' order; per change row, True when a step spans it)."""
    at_step = [False] * (0 if changes is None else len(changes))
    if steps is None or steps.empty or changes is None or changes.empty:
        return [[] for _ in range(0 if steps is None else len(steps))], at_step
    ch = changes[~changes["routine"].astype(bool)]
    pos = {cid: i for i, cid in enumerate(changes["change_id"])}
    out = []
    for r in steps[["group_label", "from_value", "to_value"]].to_dict("records"):
        lo, hi = sorted((r["from_value"], r["to_value"]))
        hit = ch[(ch["group_label"] == r["group_label"]) & (ch["from_value"] >= lo) & (ch["to_value"] <= hi)]
        ids = [int(x) for x in hit["change_id"]]
        for x in ids:
            at_step[pos[x]] = True
        out.append(ids)
    return out, at_step
