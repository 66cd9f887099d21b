"""The staircase part of `cltrace report`: the analysis result laid out as report sections."""
from typing import List

import numpy as np
import pandas as pd

from ..analysis.recommend import CANDIDATE_SAME_SEGMENT
from ..analysis.steps import LOCATION_OPEN
from ..ranges import ranges_text, span_text
from . import captions
from .document import Section


def _ms(ns):
    return None if ns is None or pd.isna(ns) else float(ns) / 1e6


def _group_col(df: pd.DataFrame) -> pd.Series:
    if "group_label" in df.columns:
        return df["group_label"].fillna("").astype(str).replace("all", "")
    return pd.Series([""] * len(df), index=df.index)


def _prefix(r) -> str:
    """'[method=gemm] ' before a line of a group; nothing when the sweep has one group ("all")."""
    label = r.get("group_label")
    return f"[{label}] " if label not in (None, "", "all") else ""


def staircase_result(samples, param=None, compute_units=None, jobs=None):
    """Analyse the samples (Trace.samples) along their sweep parameter; None when there is nothing to sweep."""
    from ..analysis.staircase import analyse

    if samples.empty:
        return None
    result = analyse(samples, param, compute_units=compute_units, jobs=jobs)
    return result if result.param is not None else None


def _pct(sigma):
    return None if sigma is None or pd.isna(sigma) else f"±{(np.exp(sigma) - 1) * 100:.0f}%"


def _confidence(c):
    return None if c is None or pd.isna(c) else (">=0.999" if c >= 0.999 else f"{c:.3f}")


def _where(r, p):
    """The step's pair, and the interval it may lie in when that is wider."""
    lo, hi = r.get("location_from"), r.get("location_to")
    if lo is None or pd.isna(lo) or (lo == r["from_value"] and hi == r["to_value"]):
        return ""
    return span_text(lo, hi)


def _change_lines(result) -> List[str]:
    ch = result.dispatch_changes
    lines = []
    for r in ch.to_dict("records"):
        g = _prefix(r)
        span = (f"{result.param}={r['from_value']:g}->{r['to_value']:g}" if not r.get("routine")
                else f"{result.param}={span_text(r['from_value'], r['to_value'])} "
                     f"({r['n_pairs']} pair{'s' if r['n_pairs'] != 1 else ''})")
        mark = " [step]" if r.get("at_step") else ""
        lines.append(f"{g}{span}: {r['text']}{mark}")
    return lines


def _speedup_table(result) -> pd.DataFrame:
    """Speedup against the unpruned (largest) count, by channels removed: the seed paper's figures."""
    sp = result.speedups
    if sp.empty:
        return pd.DataFrame()
    t = pd.DataFrame({"group": _group_col(sp), result.param: sp["value"], "removed": sp["removed"],
                      "median_ms": sp["latency_ns"].map(_ms), "speedup": sp["speedup"]})
    t = t.sort_values(["group", "removed"], kind="stable")
    return t.drop(columns=["group"]) if (t["group"] == "").all() else t


def _best_lines(result, budget_ms, min_value) -> List[str]:
    best = result.best(budget_ns=None if budget_ms is None else budget_ms * 1e6, min_value=min_value)
    lines = []
    for r in best.to_dict("records"):
        g = _prefix(r)
        if r["value"] is None or pd.isna(r["value"]):
            lines.append(f"{g}{r['reason']}")
        else:
            lines.append(f"{g}{result.param}={r['value']:g}: {_ms(r['latency_ns']):.3f} ms, "
                         f"{r['speedup']:.2f}x vs unpruned ({r['reason']})")
    return lines


STEPS_CAPTION = captions.STEPS          # every caption: captions.py
CONFIGS_CAPTION = captions.CONFIGS


def _config_table(result) -> pd.DataFrame:
    p, cfg = result.param, result.configs
    procs = cfg["process_median_ns"] if "process_median_ns" in cfg.columns else pd.Series([[]] * len(cfg))
    t = pd.DataFrame({"group": _group_col(cfg), p: cfg[p], "procs": cfg["n_processes"],
                      "median_ms": cfg["median_ns"].map(_ms),
                      "procs_min_ms": [_ms(min(v)) if len(v) else None for v in procs],
                      "procs_max_ms": [_ms(max(v)) if len(v) else None for v in procs],
                      "within": cfg["within_sigma"].map(_pct)})
    if "signature_text" in cfg.columns:
        t["dispatch"] = cfg["signature_text"]
    return t.drop(columns=["group"]) if (t["group"] == "").all() else t


def _step_table(result) -> pd.DataFrame:
    rows = []
    for r in result.steps.to_dict("records"):
        rows.append({"group": r.get("group_label", ""), "from": r["from_value"], "to": r["to_value"],
                     "within": _where(r, result.param), "before_ms": _ms(r["latency_before_ns"]),
                     "after_ms": _ms(r["latency_after_ns"]), "ratio": r["ratio"],
                     "confidence": _confidence(r.get("confidence")),
                     "procs": f"{r['n_before']}/{r['n_after']}", "cause": r.get("cause", ""),
                     "time went to": r.get("time_shift", "")})
    st = pd.DataFrame(rows, columns=["group", "from", "to", "within", "before_ms", "after_ms", "ratio", "confidence",
                                     "procs", "cause", "time went to"])
    if not st.empty and (st["within"] == "").all():
        st = st.drop(columns=["within"])
    if not st.empty and (st["group"].fillna("").replace("all", "") == "").all():
        st = st.drop(columns=["group"])
    return st


def _undecided_lines(result) -> List[str]:
    p, undecided = result.param, []
    for r in result.undecided.to_dict("records"):
        g = _prefix(r)
        if pd.isna(r.get("ratio")):
            undecided.append(f"{g}{p}={span_text(r['from_value'], r['to_value'])}: {r['reason']}")
        elif r["reason"] == LOCATION_OPEN:
            undecided.append(f"{g}{p}={span_text(r['from_value'], r['to_value'])}: x{r['ratio']:.2f}, {r['reason']}: "
                             f"it lies somewhere in this range; more processes place it")
        else:
            undecided.append(f"{g}{p}={r['from_value']:g}->{r['to_value']:g}: x{r['ratio']:.2f}, "
                             f"{r['reason']} (p {r['p_adjusted']:.3f}); more processes decide it")
    if undecided:
        undecided.append("(re-run with cltrace sweep --resume --adaptive, or a larger --repeat)")
    return undecided


def _edge_lines(result) -> List[str]:
    p, lines = result.param, []
    for r in result.edges.to_dict("records"):
        what = ("the unpruned count" if r.get("is_max") else
                f"right edge of a stair: the most {p} at this latency, x{r['step_ratio']:.2f} slower at "
                f"{p}={r['next_value']:g}")
        lines.append(f"{_prefix(r)}{p}={r['value']:g}: {_ms(r['latency_ns']):.3f} ms ({what})")
    return lines


def _processes(result, label) -> str:
    cfg = result.configs[result.configs["group_label"] == label] if len(result.configs) else result.configs
    k = cfg["n_processes"].dropna() if len(cfg) else pd.Series(dtype=float)
    k = k[k > 0]
    if k.empty:
        return "0 processes"
    lo, hi = int(k.min()), int(k.max())
    return f"{span_text(lo, hi)} process{'es' if hi != 1 else ''}"


def hazard_lines(result) -> List[str]:
    """The hazards; when there are none but the speedup table shows counts slower than the unpruned one,
    why they are no hazards (not significant at this many processes) and which they are."""
    p, lines = result.param, []
    for r in result.hazards.to_dict("records"):
        factor = r.get("factor", r.get("slowdown"))
        extra = f" ({factor:.2f}x the unpruned latency)" if factor is not None and not pd.isna(factor) else ""
        lines.append(f"{_prefix(r)}{p}={r['value']:g}: {_ms(r['latency_ns']):.3f} ms{extra}")
    cand = result.hazard_candidates
    if cand is None or cand.empty:
        return lines
    if not lines:
        lines.append("(none significant)")
    for label, g in cand.groupby("group_label", sort=True):
        ref = g.iloc[0]
        names = ", ".join(f"{p}={v:g} ({1 / f:.2f}x speedup)" for v, f in zip(g["value"], g["factor"]))
        why = ("no significant step separates them from it" if (g["reason"] == CANDIDATE_SAME_SEGMENT).all()
               else "some have no verdict (fewer than 2 processes)")
        lines.append(f"{_prefix({'group_label': label})}candidates, not hazards: {len(g)} count(s) measured slower "
                     f"than the unpruned {p}={ref['ref_value']:g} (speedup below 1), but {why} at "
                     f"{_processes(result, label)} per configuration: {names}. More processes decide them "
                     f"(cltrace sweep --resume --adaptive, or a larger --repeat).")
    return lines



def _jobs_title(result) -> str:
    ctx = result.job_context
    where = f"on target {ctx.target.name}" if ctx.target is not None else "on the traced devices"
    return f"Driver jobs {where}" + (f" ({ctx.what_if.label})" if ctx.what_if is not None else "")


def _job_lines(result) -> List[str]:
    p, lines = result.param, []
    for r in result.job_summary.to_dict("records"):
        g = _prefix(r)
        lines.append(f"{g}{r['described']}")
        if r["policy"] == "refuse" and r["refused_values"]:
            lines.append(f"{g}refused (non-uniform launch) at {p}={ranges_text(r['refused_values'])}")
        elif r["extra_job_values"]:
            by_count: dict = {}
            for v, n in r["extra_jobs"].items():
                by_count.setdefault(n, []).append(v)
            parts = [f"{n or 'none'} at {p}={ranges_text(vs)}" for n, vs in sorted(by_count.items())]
            lines.append(f"{g}extra jobs beyond one per launch: {'; '.join(parts)}")
        else:
            lines.append(f"{g}one job per launch at every {p}")
    target = result.job_context.target
    if target is not None:
        lines += [f"source: {x}" for x in target.sources] + [f"uncertain: {x}" for x in target.uncertain]
    return lines


def _job_table(result) -> pd.DataFrame:
    """Launches of the kernels that are non-uniform somewhere in their group: the seed paper's Tables I-IV with
    the job count it needed a simulator for."""
    jobs = result.jobs
    if jobs is None or jobs.empty:
        return pd.DataFrame()
    odd = jobs.loc[~jobs["uniform"].astype(bool), ["group_label", "kernel"]].drop_duplicates()
    keep = jobs.merge(odd, on=["group_label", "kernel"])
    t = pd.DataFrame({"group": _group_col(keep), result.param: keep["value"], "kernel": keep["kernel"],
                      "global": keep["global"], "local": keep["local"],
                      "jobs": keep["jobs"].astype(object).where(keep["jobs"].notna(), "refused"),
                      "work_groups": keep["work_groups"], "rounds": keep["rounds"],
                      "remainder": [f"{v:.1%}" for v in keep["remainder_share"]]})
    return t.drop(columns=["group"]) if (t["group"] == "").all() else t


def job_sections(result) -> List[Section]:
    """The job facts, when there are any to show: a target or what-if was asked for, or a launch is non-uniform."""
    ctx = result.job_context
    if ctx is None:
        return []
    jobs = result.jobs
    odd = jobs is not None and len(jobs) and not jobs["uniform"].astype(bool).all()
    if not odd and ctx.target is None and ctx.what_if is None:
        return []
    out = [Section(_jobs_title(result), "lines", lines=_job_lines(result), key="jobs", caption=captions.JOB_LINES)]
    t = _job_table(result)
    if len(t):
        out.append(Section("Jobs per launch (non-uniform kernels)", "table", table=t, key="job_launches",
                           caption=captions.JOBS, keys=_keys(t, 2)))
    return out


def _keys(table: pd.DataFrame, n: int) -> int:
    """Leading columns a split table repeats: the group (when shown) and the n that name a row."""
    return n + int("group" in table.columns)


def staircase_sections(samples, param=None, budget_ms=None, min_value=None, compute_units=None,
                       jobs=None) -> List[Section]:
    """Analyse the samples and lay the result out (result_sections)."""
    result = staircase_result(samples, param, compute_units, jobs)
    return [] if result is None else result_sections(result, budget_ms, min_value)


def result_sections(result, budget_ms=None, min_value=None) -> List[Section]:
    p = result.param
    out = []
    if not result.configs.empty:
        cfg = _config_table(result)
        out.append(Section(f"Latency by {p}", "table", table=cfg, key="configs",
                           caption=captions.configs("dispatch" in cfg.columns), keys=_keys(cfg, 1)))
    st = _step_table(result)
    causes_what_if = (f"; causes {result.job_context.what_if.label}"
                      if result.job_context is not None and result.job_context.what_if is not None else "")
    out.append(Section(f"Steps along {p} ({len(st)}{causes_what_if})", "table", table=st, key="steps",
                       caption=STEPS_CAPTION.format(param=p) if len(st) else "", keys=_keys(st, 2)))
    undecided = _undecided_lines(result)
    if undecided:
        out.append(Section("Undecided (more processes would decide these)", "lines", lines=undecided, key="undecided",
                           caption=captions.UNDECIDED))
    what_if = result.job_context.what_if if result.job_context is not None else None
    changes = _change_lines(result)
    out.append(Section(f"Dispatch changes along {p} (facts, from the traced launches"
                       + (f"; {what_if.label})" if what_if is not None else ")"), "lines",
                       lines=changes, key="dispatch_changes", caption=captions.DISPATCH_CHANGES if changes else ""))
    out += job_sections(result)
    edges = _edge_lines(result)
    out.append(Section("Best counts (stair right edges)", "lines", lines=edges, key="edges",
                       caption=captions.EDGES.format(param=p) if edges else ""))
    pareto = []
    for label, g in result.pareto.groupby("group_label", sort=True) if not result.pareto.empty else []:
        pts = ", ".join(f"{v:g} ({_ms(lat):.3f} ms)" for v, lat in zip(g["value"], g["latency_ns"]))
        pareto.append(f"{_prefix({'group_label': label})}{pts}")
    out.append(Section(f"Pareto frontier ({p} vs latency: no other count is both larger and faster)", "lines",
                       lines=pareto, key="pareto", caption=captions.PARETO.format(param=p) if pareto else ""))
    hazards = hazard_lines(result)
    out.append(Section("Hazards (slower than the unpruned configuration)", "lines", lines=hazards,
                       key="hazards", caption=captions.HAZARDS if hazards else ""))
    sp = _speedup_table(result)
    out.append(Section("Speedup vs pruning", "table", table=sp, key="speedups", keys=_keys(sp, 1),
                       caption=captions.SPEEDUPS.format(param=p)))
    if budget_ms is not None or min_value is not None:
        what = " and ".join(x for x in (f"latency <= {budget_ms:g} ms" if budget_ms is not None else "",
                                         f"{p} >= {min_value:g}" if min_value is not None else "") if x)
        out.append(Section(f"Recommendation ({what})", "lines", lines=_best_lines(result, budget_ms, min_value),
                           key="best", caption=captions.RECOMMENDATION))
    if result.notes:
        out.append(Section("Analysis notes", "lines", lines=list(result.notes), key="notes"))
    return out
