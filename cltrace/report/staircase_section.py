"""The staircase part of `cltrace report`: the analysis result laid out as report sections."""
from typing import List

import numpy as np
import pandas as pd

from ..analysis.steps import LOCATION_OPEN
from .document import Section


def _ms(ns):
    return None if ns is None or pd.isna(ns) else float(ns) / 1e6


def _group_col(df: pd.DataFrame) -> pd.Series:
    if "group_label" in df.columns:
        return df["group_label"].fillna("").astype(str)
    return pd.Series([""] * len(df), index=df.index)


def staircase_result(samples, param=None, compute_units=None):
    """Analyse the samples (Trace.samples) along their sweep parameter; None when there is nothing to sweep."""
    from ..analysis.staircase import analyse

    if samples.empty:
        return None
    result = analyse(samples, param, compute_units=compute_units)
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
    return f"{lo:g}..{hi:g}"


def _change_lines(result) -> List[str]:
    ch = result.dispatch_changes
    lines = []
    for r in ch.to_dict("records"):
        g = f"[{r['group_label']}] " if r.get("group_label") not in (None, "", "all") else ""
        span = (f"{result.param}={r['from_value']:g}->{r['to_value']:g}" if not r.get("routine")
                else f"{result.param}={r['from_value']:g}..{r['to_value']:g} ({r['n_pairs']} pair{'s' if r['n_pairs'] != 1 else ''})")
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
        g = f"[{r['group_label']}] " if r.get("group_label") else ""
        if r["value"] is None or pd.isna(r["value"]):
            lines.append(f"{g}{r['reason']}")
        else:
            lines.append(f"{g}{result.param}={r['value']:g}: {_ms(r['latency_ns']):.3f} ms, "
                         f"{r['speedup']:.2f}x vs unpruned ({r['reason']})")
    return lines


def staircase_sections(samples, param=None, budget_ms=None, min_value=None, compute_units=None) -> List[Section]:
    result = staircase_result(samples, param, compute_units)
    if result is None:
        return []
    p = result.param
    out = []
    cfg = result.configs
    if not cfg.empty:
        procs = cfg["process_median_ns"] if "process_median_ns" in cfg.columns else pd.Series([[]] * len(cfg))
        t = pd.DataFrame({"group": _group_col(cfg), p: cfg[p], "procs": cfg["n_processes"],
                          "median_ms": cfg["median_ns"].map(_ms),
                          "procs_min_ms": [_ms(min(v)) if len(v) else None for v in procs],
                          "procs_max_ms": [_ms(max(v)) if len(v) else None for v in procs],
                          "within": cfg["within_sigma"].map(_pct)})
        if "signature_text" in cfg.columns:
            t["dispatch"] = cfg["signature_text"]
        if (t["group"] == "").all():
            t = t.drop(columns=["group"])
        out.append(Section(f"Latency by {p}", "table", table=t, key="configs"))
    steps = result.steps
    rows = []
    for r in steps.to_dict("records"):
        rows.append({"group": r.get("group_label", ""), "from": r["from_value"], "to": r["to_value"],
                     "within": _where(r, p), "before_ms": _ms(r["latency_before_ns"]),
                     "after_ms": _ms(r["latency_after_ns"]), "ratio": r["ratio"],
                     "confidence": _confidence(r.get("confidence")),
                     "procs": f"{r['n_before']}/{r['n_after']}", "cause": r.get("cause", ""),
                     "time went to": r.get("time_shift", "")})
    st = pd.DataFrame(rows, columns=["group", "from", "to", "within", "before_ms", "after_ms", "ratio", "confidence",
                                     "procs", "cause", "time went to"])
    if not st.empty and (st["within"] == "").all():
        st = st.drop(columns=["within"])
    if not st.empty and (st["group"].fillna("") == "").all():
        st = st.drop(columns=["group"])
    out.append(Section(f"Steps along {p} ({len(st)})", "table", table=st, key="steps",
                       data=result.to_dict()))
    undecided = []
    for r in result.undecided.to_dict("records"):
        g = f"[{r['group_label']}] " if r.get("group_label") not in (None, "", "all") else ""
        if pd.isna(r.get("ratio")):
            undecided.append(f"{g}{p}={r['from_value']:g}..{r['to_value']:g}: {r['reason']}")
        elif r["reason"] == LOCATION_OPEN:
            undecided.append(f"{g}{p}={r['from_value']:g}..{r['to_value']:g}: x{r['ratio']:.2f}, {r['reason']}: "
                             f"it lies somewhere in this range; more processes place it")
        else:
            undecided.append(f"{g}{p}={r['from_value']:g}->{r['to_value']:g}: x{r['ratio']:.2f}, "
                             f"{r['reason']} (p {r['p_adjusted']:.3f}); more processes decide it")
    if undecided:
        undecided.append("(re-run with cltrace sweep --resume --adaptive, or a larger --repeat)")
        out.append(Section("Undecided (more processes would decide these)", "lines", lines=undecided, key="undecided"))
    out.append(Section(f"Dispatch changes along {p} (facts, from the traced launches)", "lines",
                       lines=_change_lines(result), key="dispatch_changes"))
    lines = []
    for r in result.edges.to_dict("records"):
        g = f"[{r['group_label']}] " if r.get("group_label") else ""
        lines.append(f"{g}{p}={r['value']:g}: {_ms(r['latency_ns']):.3f} ms (right edge of a stair: the most "
                     f"{p} at this latency)")
    out.append(Section("Best counts (stair right edges)", "lines", lines=lines, key="edges"))
    pareto = []
    for label, g in result.pareto.groupby("group_label", sort=True) if not result.pareto.empty else []:
        pts = ", ".join(f"{v:g} ({_ms(l):.3f} ms)" for v, l in zip(g["value"], g["latency_ns"]))
        pareto.append(f"[{label}] {pts}" if label else pts)
    out.append(Section(f"Pareto frontier ({p} vs latency: no other count is both larger and faster)", "lines",
                       lines=pareto, key="pareto"))
    hz = []
    for r in result.hazards.to_dict("records"):
        g = f"[{r['group_label']}] " if r.get("group_label") else ""
        factor = r.get("factor", r.get("slowdown"))
        extra = f" ({factor:.2f}x the unpruned latency)" if factor is not None and not pd.isna(factor) else ""
        hz.append(f"{g}{p}={r['value']:g}: {_ms(r['latency_ns']):.3f} ms{extra}")
    out.append(Section("Hazards (slower than the unpruned configuration)", "lines", lines=hz, key="hazards"))
    out.append(Section("Speedup vs pruning", "table", table=_speedup_table(result), key="speedups"))
    if budget_ms is not None or min_value is not None:
        what = " and ".join(x for x in (f"latency <= {budget_ms:g} ms" if budget_ms is not None else "",
                                         f"{p} >= {min_value:g}" if min_value is not None else "") if x)
        out.append(Section(f"Recommendation ({what})", "lines", lines=_best_lines(result, budget_ms, min_value),
                           key="best"))
    if result.notes:
        out.append(Section("Analysis notes", "lines", lines=list(result.notes), key="notes"))
    return out
