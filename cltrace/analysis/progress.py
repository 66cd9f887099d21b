"""Which sweeps a trace holds and whether each holds every run its plan asked for (a report on a sweep still
running, stopped early, or with failed runs says so, and how to complete it).

`cltrace sweep` stores each sweep's plan in the `sweeps` table (schema 4): every planned run has its position
(`runs.sweep_index`) in the sweep (`runs.sweep_id`). A planned run is done when a run of the sweep at its
position ended `ok`; runs added by `--adaptive` sit past the plan and are extra. Progress and "unfinished" come
from those stored plans only.

Runs of a sweep recorded before plans were stored (`repeat_index` set, `sweep_id` NULL: a trace written by an
older cltrace) have no plan to read: for them alone the plan is inferred as before (the cartesian product of the
tag values, the highest `repeat_index` + 1 runs each), and the text says that it is inferred.
"""
import itertools
import json
import shlex
from collections import Counter
from typing import Iterable, List, Optional

import pandas as pd

from .sweep_labels import sweep_label
from .values import typed_values

STATES = ("complete", "running", "interrupted", "failed-runs")


def _resume_hint(sweep_id: int, path: Optional[str]) -> str:
    return f"cltrace sweep --resume {sweep_id} -o {shlex.quote(path) if path else 'TRACE'}"


def stored_sweeps(sweeps: Optional[pd.DataFrame], runs: pd.DataFrame) -> List[dict]:
    """One record per stored sweep: its plan, and how many of its planned runs are done, failed or missing."""
    if sweeps is None or sweeps.empty:
        return []
    have_cols = "sweep_id" in runs.columns and "sweep_index" in runs.columns
    out = []
    for row in sweeps.sort_values("sweep_id").itertuples(index=False):
        sid = int(row.sweep_id)
        plan = json.loads(row.plan)
        params = [(n, list(v)) for n, v in plan["params"]]
        pairs = plan["runs"]
        planned = len(pairs)
        mine = runs[runs["sweep_id"] == sid] if have_cols else runs.iloc[:0]
        mine = mine[mine["sweep_id"].notna()]
        idx = mine["sweep_index"].astype("Int64")
        in_plan = mine[idx.notna() & (idx < planned)]
        ok_at = {int(i) for i in in_plan.loc[in_plan["status"] == "ok", "sweep_index"]}
        failed_at = {int(i) for i in in_plan.loc[in_plan["status"].isin(["failed", "not-found", "not-executable"]),
                                                 "sweep_index"]} - ok_at
        missing = planned - len(ok_at)
        stored_status = str(row.status)
        state = "complete" if missing == 0 else stored_status if stored_status in STATES[1:] else "running"
        if state == "complete" and missing:
            state = "running"
        per_config = Counter(pairs[i][0] for i in ok_at)
        typed = [dict(zip(v, typed_values(v))) for _, v in params]          # the report's rule: 92, not '92'
        configs = [[typed[k][x] for k, x in enumerate(c)] for c in plan["configurations"]]
        short = [(c, per_config.get(c, 0)) for c in range(len(configs)) if per_config.get(c, 0) <
                 sum(1 for p in pairs if p[0] == c)]
        out.append({
            "sweep_id": sid, "label": sweep_label(params, int(row.repeat)), "command": str(row.command),
            "params": {n: v for n, v in params}, "repeat": int(row.repeat), "order": str(row.run_order),
            "seed": int(row.seed), "runs_planned": planned, "ok_runs": len(ok_at), "failed_runs": len(failed_at),
            "missing_runs": missing, "adaptive_runs": int(len(mine) - len(in_plan)),
            "status": state, "started_at": None if pd.isna(row.started_at) else str(row.started_at),
            "ended_at": None if pd.isna(row.ended_at) else str(row.ended_at),
            "_short": [({n: v for n, v in zip([p for p, _ in params], configs[c])}, n_ok) for c, n_ok in short],
            "_configurations": len(configs),
        })
    return out


def _state_text(s: dict) -> str:
    if s["status"] == "complete":
        return "complete"
    to_go = f"{s['missing_runs']} of {s['runs_planned']} planned runs to go"
    if s["status"] == "failed-runs":
        return f"{s['failed_runs']} failed {'run' if s['failed_runs'] == 1 else 'runs'} ({to_go})"
    if s["status"] == "interrupted":
        return f"interrupted ({to_go})"
    return f"running or stopped ({to_go})"


def sweeps_text(records: List[dict]) -> Optional[str]:
    """'2 sweeps: tiled 5..20 x6, complete; clblast 197..202 x4, complete' (None without stored sweeps)."""
    if not records:
        return None
    head = "1 sweep" if len(records) == 1 else f"{len(records)} sweeps"
    return head + ": " + "; ".join(f"{s['label']}, {_state_text(s)}" for s in records)


def public(records: List[dict]) -> List[dict]:
    return [{k: v for k, v in s.items() if not k.startswith("_")} for s in records]


def _unfinished_text(s: dict, path: Optional[str]) -> str:
    short = s["_short"]
    label = lambda tags: ",".join(f"{k}={v}" for k, v in tags.items())  # noqa: E731
    listed = ", ".join(f"{label(t)} ({n})" for t, n in short[:6]) + (" ..." if len(short) > 6 else "")
    none_yet = sum(1 for _, n in short if n == 0)
    head = (f"sweep {s['sweep_id']} ({s['label']}) is unfinished: {s['missing_runs']} of {s['runs_planned']} planned "
            f"runs are missing or failed ({len(short)} of {s['_configurations']} configurations have fewer than "
            f"{s['repeat']} successful runs{f', {none_yet} none yet' if none_yet else ''}: {listed}).")
    hint = _resume_hint(s["sweep_id"], path)
    if s["status"] == "failed-runs":
        tail = f"Runs failed: the verdicts below lack them. Fix them, then run them again with {hint}."
    elif s["status"] == "interrupted":
        tail = f"It was interrupted: the verdicts below may change. Complete it with {hint}."
    else:
        tail = (f"It is still running, or cltrace was stopped before it could record its end: the verdicts below "
                f"may change. Report again when it ends, or complete it with {hint}.")
    return f"{head} {tail}"


def sweep_progress(runs: pd.DataFrame, params: pd.DataFrame, adaptive_runs: Iterable[int] = (),
                   sweeps: Optional[pd.DataFrame] = None, path: Optional[str] = None) -> Optional[dict]:
    """None when every sweep holds its whole plan; else what is missing: {configurations,
    runs_per_configuration, missing_runs, incomplete: [{tags, ok_runs, sweep_id}], inferred, sweep_ids, text}.
    Stored sweeps are judged by their plans; only runs outside them (older traces) by inference."""
    records = [s for s in stored_sweeps(sweeps, runs) if s["status"] != "complete"]
    out = None
    if records:
        out = {"configurations": sum(s["_configurations"] for s in records),
               "runs_per_configuration": max(s["repeat"] for s in records),
               "missing_runs": sum(s["missing_runs"] for s in records),
               "incomplete": [{"tags": t, "ok_runs": n, "sweep_id": s["sweep_id"]} for s in records
                              for t, n in s["_short"]],
               "inferred": False, "sweep_ids": [s["sweep_id"] for s in records],
               "text": " ".join(_unfinished_text(s, path) for s in records)}
    legacy = runs
    if "sweep_id" in legacy.columns:
        legacy = legacy[legacy["sweep_id"].isna()]
    inferred = _inferred(legacy, params, adaptive_runs)
    if inferred is None:
        return out
    if out is None:
        return inferred
    out["configurations"] += inferred["configurations"]
    out["runs_per_configuration"] = max(out["runs_per_configuration"], inferred["runs_per_configuration"])
    out["missing_runs"] += inferred["missing_runs"]
    out["incomplete"] += inferred["incomplete"]
    out["inferred"] = True
    out["text"] += " " + inferred["text"]
    return out


def _inferred(runs: pd.DataFrame, params: pd.DataFrame, adaptive_runs: Iterable[int]) -> Optional[dict]:
    """Runs of sweeps without a stored plan (older traces): the plan inferred from their tags."""
    if runs.empty or "repeat_index" not in runs.columns:
        return None
    extra = set(int(r) for r in adaptive_runs)
    sweep = runs[runs["repeat_index"].notna() & ~runs["run_id"].isin(extra)]
    if sweep.empty:
        return None
    keys = [k for k in params.columns if params.loc[params.index.isin(sweep["run_id"]), k].notna().any()]
    if not keys:
        return None
    tags = params.reindex(sweep["run_id"].to_numpy())[keys].astype(object)
    per_run = [tuple(None if pd.isna(v) else v for v in row) for row in tags.itertuples(index=False)]
    values = [list(dict.fromkeys(v[i] for v in per_run)) for i in range(len(keys))]
    expected = int(sweep["repeat_index"].max()) + 1
    ok = Counter(c for c, st in zip(per_run, sweep["status"]) if st == "ok")
    plan = list(itertools.product(*values))
    short = [(c, int(ok.get(c, 0))) for c in plan if int(ok.get(c, 0)) < expected]
    if not short:
        return None
    missing = sum(expected - n for _, n in short)
    none_yet = sum(1 for _, n in short if n == 0)
    incomplete = [{"tags": dict(zip(keys, c)), "ok_runs": n, "sweep_id": None} for c, n in short]
    label = lambda c: ",".join(f"{k}={v}" for k, v in zip(keys, c))  # noqa: E731
    listed = ", ".join(f"{label(c)} ({n})" for c, n in short[:6]) + (" ..." if len(short) > 6 else "")
    text = (f"this sweep looks unfinished (inferred from its runs' tags: the trace was written before cltrace "
            f"stored sweep plans): {missing} of {len(plan) * expected} planned runs are missing or failed "
            f"({len(short)} of {len(plan)} configurations have fewer than {expected} successful runs"
            f"{f', {none_yet} none yet' if none_yet else ''}: {listed}). It is still running, stopped early, or "
            f"runs failed: the verdicts below may change. Report again when it ends, or complete it with "
            f"cltrace sweep --resume and the same options.")
    return {"configurations": len(plan), "runs_per_configuration": expected, "missing_runs": missing,
            "incomplete": incomplete, "inferred": True, "sweep_ids": [], "text": text}
