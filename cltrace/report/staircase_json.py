"""The staircase result (analysis/staircase.py) as the report's JSON lays it out (docs/report-json.md): every
table as records; each record of a per-group table carries both `group` (dict) and `group_label`; each
configuration its `params`."""
from __future__ import annotations

from ..analysis.records import jsonable, records


def groups(result) -> dict:
    """group_label -> the group as a dict of the other varying parameters ({} for "all")."""
    gb = [b for b in result.by if b != result.param and b in result.configs.columns]
    out: dict = {}
    if "group_label" in result.configs.columns:
        for r in result.configs[["group_label"] + gb].to_dict("records"):
            out.setdefault(r["group_label"], {b: jsonable(r[b]) for b in gb})
    return out


def staircase_dict(result) -> dict:
    """Every table of ``result`` as records (the report's `staircase` object, without `best`)."""
    by_label = groups(result)

    def grouped(df):
        rows = records(df)
        for r in rows:
            if "group_label" in r:
                r["group"] = by_label.get(r["group_label"], r.get("group") or {})
        return rows

    configs = grouped(result.configs)
    names = [b for b in result.by if b != result.param] + ([result.param] if result.param else [])
    for r in configs:
        r["params"] = {n: r.get(n) for n in names}
    return {
        "param": result.param, "by": list(result.by), "summary": jsonable(result.summary),
        "notes": list(result.notes), "configs": configs, "steps": grouped(result.steps),
        "edges": grouped(result.edges), "pareto": grouped(result.pareto),
        "hazards": grouped(result.hazards), "hazard_candidates": grouped(result.hazard_candidates),
        "speedups": grouped(result.speedups), "segments": grouped(result.segments),
        "undecided": grouped(result.undecided), "dispatch_changes": grouped(result.dispatch_changes),
        "compute_units": jsonable(result.compute_units),
        "jobs": _jobs(result, grouped),
    }


def _jobs(result, grouped) -> dict | None:
    ctx = result.job_context
    if ctx is None:
        return None
    return {"target": None if ctx.target is None else ctx.target.name,
            "what_if": None if ctx.what_if is None else ctx.what_if.label,
            "groups": grouped(result.job_summary), "launches": grouped(result.jobs)}
