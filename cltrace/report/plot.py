"""Plot a StaircaseResult: latency against the swept parameter, one panel per group.

Median latency (of the per-process medians) with whiskers from the fastest to the
slowest process, points coloured by dispatch pattern, the level between steps as
dark bars, steps as dotted lines labelled with ratio and cause, best counts
starred, hazards shaded, the unpruned latency dashed; the legend names each mark
as it is drawn.  ``path`` ending .png/.svg/.pdf is written by
matplotlib (Agg); .html gets a self-contained page with the SVG inlined.
"""
from __future__ import annotations

import html
import io
import os

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .safe_text import escape_controls

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#ad494a", "#637939"]


def _short_sig(text: str, limit: int = 60, with_global: bool = False) -> str:
    """'conv g=.. l=8x8x1 wg=..; conv_tail ...' -> 'conv[l 8x8x1] + conv_tail[l 8x8x1]'."""
    parts = []
    if not text:
        return "(no launches)"
    for item in text.split("; "):
        bits = item.split(" ")
        loc = next((b[2:] for b in bits if b.startswith("l=")), "?")
        glb = next((b[2:] for b in bits if b.startswith("g=")), "?")
        parts.append(f"{bits[0]}[g {glb}, l {loc}]" if with_global else f"{bits[0]}[l {loc}]")
    out, counts = [], {}
    for p in parts:
        counts[p] = counts.get(p, 0) + 1
    for p, c in counts.items():
        out.append(p if c == 1 else f"{c}x {p}")
    s = escape_controls(" + ".join(out))
    return s if len(s) <= limit else s[:limit - 1] + "\u2026"


def legend_handles(patterns, pcolour, result) -> list:
    """What every mark of the plot means, drawn as it is drawn in the panels."""
    handles = [Line2D([], [], marker="o", ls="", color=pcolour[p], label=f"median, dispatch: {p}")
               for p in patterns[:12]]
    handles += [Line2D([], [], color="#b0b0b0", ls="", marker="|", ms=12, mew=1,
                       label="whiskers: fastest..slowest process (each by its median)"),
                Line2D([], [], color="#333333", lw=1.6, alpha=0.55, label="level between steps (the verdict)"),
                Line2D([], [], color="#444444", lw=0.7, ls=":",
                       label="step (dotted): label x<ratio> <cause>, red up / green down"),
                Line2D([], [], marker="*", ls="", mfc="none", mec="black", ms=11,
                       label="best count (stair right edge)"),
                Patch(color="#d62728", alpha=0.2, label="hazard: significantly slower than unpruned"),
                Line2D([], [], color="#555555", ls="--", label="unpruned latency (largest count)")]
    marks = job_marks(result)
    if marks:
        handles.append(Line2D([], [], marker="^", ls="", color=JOB_COLOUR, ms=6, label=marks[0]))
    steps = result.steps
    if len(steps) and "location_from" in steps.columns and \
            ((steps["location_from"] != steps["from_value"]) | (steps["location_to"] != steps["to_value"])).any():
        handles.append(Patch(color="#888888", alpha=0.15, label="grey band: where a step may lie"))
    return handles


JOB_COLOUR = "#6a3d9a"


def job_marks(result):
    """(legend text, group_label -> values with an extra driver job) when the result carries job facts worth
    drawing (report.staircase_section.job_sections decides alike), else None."""
    ctx = getattr(result, "job_context", None)
    summary = getattr(result, "job_summary", None)
    if ctx is None or summary is None or summary.empty:
        return None
    values = {r["group_label"]: r["extra_job_values"] for r in summary.to_dict("records")}
    if not any(values.values()) and ctx.target is None and ctx.what_if is None:
        return None
    where = f"target {ctx.target.name}" if ctx.target is not None else "the traced device"
    text = f"extra driver job on {where} (" + ("what-if local size, " if ctx.what_if is not None else "") + \
        "computed from the traced sizes)"
    return escape_controls(text), values


def _scale(configs):
    top = configs["iter_p90_ns"].max()
    for unit, f in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if top >= f:
            return unit, f
    return "ns", 1.0


def figure(result, title: str | None = None):
    """Build and return the matplotlib Figure for ``result``."""
    cfg = result.configs[result.configs["n"] > 0]
    param = result.param or "value"
    by = [b for b in result.by if b != param]
    labels = (cfg[by].astype(str).apply(lambda r: ", ".join(f"{k}={v}" for k, v in r.items()), axis=1)
              if by else None)
    title = escape_controls(title) if title else title
    groups = list(dict.fromkeys(labels)) if by else ["all"]
    unit, f = _scale(cfg) if len(cfg) else ("ms", 1e6)
    # Colour by dispatch pattern (which kernels, how often), not by exact sizes: sizes change with
    # every channel count, the pattern changes only where the library's dispatch does.
    sig_text = dict(zip(cfg["signature_hash"], cfg["signature_text"]))
    pattern = {h: _short_sig(t) for h, t in sig_text.items()}
    patterns = list(dict.fromkeys(pattern[h] for h in cfg["signature_hash"]))
    pcolour = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(patterns)}
    colour = {h: pcolour[pattern[h]] for h in sig_text}
    # groups may sweep different ranges (the demo: 5..20 and 197..202): each panel its own x axis
    fig, axes = plt.subplots(len(groups), 1, figsize=(12, 3.8 * len(groups) + 0.6), sharex=False,
                             squeeze=False)
    for ax, lab in zip(axes[:, 0], groups):
        g = cfg if labels is None else cfg[labels == lab]
        g = g.sort_values(param)
        x, y = g[param].to_numpy(float), g["median_ns"].to_numpy(float) / f
        if "process_median_ns" in g.columns:          # bars: the spread of the per-process medians
            procs = [np.asarray(v, dtype=float) / f if len(v) else np.array([np.nan]) for v in g["process_median_ns"]]
            lo = y - np.array([v.min() for v in procs])
            hi = np.array([v.max() for v in procs]) - y
        else:
            lo, hi = y - g["iter_p10_ns"].to_numpy(float) / f, g["iter_p90_ns"].to_numpy(float) / f - y
        lo, hi = np.nan_to_num(lo), np.nan_to_num(hi)
        ax.errorbar(x, y, yerr=[lo.clip(0), hi.clip(0)], fmt="none", ecolor="#b0b0b0", elinewidth=1,
                    capsize=0, zorder=1)
        ax.plot(x, y, color="#d0d0d0", lw=0.8, zorder=1)
        ax.scatter(x, y, c=[colour[h] for h in g["signature_hash"]], s=18, zorder=3, edgecolors="none")
        step_x = float(x[1] - x[0]) if len(x) > 1 else 1.0
        hz = result.hazards[result.hazards["group_label"] == lab] if len(result.hazards) else result.hazards
        for v in (hz["value"] if len(hz) else []):
            ax.axvspan(v - step_x / 2, v + step_x / 2, color="#d62728", alpha=0.12, lw=0, zorder=0)
        if len(y):
            ax.axhline(y[-1], color="#555555", ls="--", lw=0.8, zorder=1)
        ed = result.edges[result.edges["group_label"] == lab] if len(result.edges) else result.edges
        if len(ed):
            ax.scatter(ed["value"], ed["latency_ns"] / f, marker="*", s=140, facecolors="none",
                       edgecolors="black", linewidths=1.0, zorder=4)
        sg = result.segments[result.segments["group_label"] == lab] if len(result.segments) else []
        for r in (sg.to_dict("records") if len(sg) else []):          # the verdict: one level per segment
            ax.hlines(r["level_ns"] / f, r["first_value"] - 0.4 * step_x, r["last_value"] + 0.4 * step_x,
                      color="#333333", lw=1.6, alpha=0.55, zorder=2)
        st = result.steps[result.steps["group_label"] == lab] if len(result.steps) else result.steps
        ymax = float((y + hi).max()) if len(y) else 1.0
        for k, s in enumerate(st.to_dict("records")):
            xm = (s["from_value"] + s["to_value"]) / 2
            lo_v, hi_v = s.get("location_from"), s.get("location_to")
            if lo_v is not None and not pd.isna(lo_v) and (lo_v, hi_v) != (s["from_value"], s["to_value"]):
                ax.axvspan(lo_v, hi_v, color="#888888", alpha=0.10, lw=0, zorder=0)   # where it may lie
            ax.axvline(xm, color="#444444", lw=0.7, ls=":", zorder=2)
            txt = escape_controls(f"x{s['ratio']:.2f} {s.get('cause_label', '')}".strip())
            ax.annotate(txt, (xm, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -4),
                        textcoords="offset points", rotation=90, va="top", ha="left", fontsize=7.5,
                        color="#b22222" if s["direction"] == "up" else "#1a7f37")
        marks = job_marks(result)
        extra = marks[1].get(lab, []) if marks else []
        if extra:
            ax.scatter(extra, [0.03] * len(extra), transform=ax.get_xaxis_transform(), marker="^", s=22,
                       color=JOB_COLOUR, zorder=4, clip_on=False)
        ax.set_ylim(0, ymax * 1.45)
        ax.set_title(escape_controls(lab) if lab != "all" else (title or ""), fontsize=10, loc="left")
        ax.set_ylabel(f"latency ({unit}, median)")
        ax.set_xlabel(escape_controls(param))
        if len(x) and np.all(np.isfinite(x)) and np.all(x == np.round(x)):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))      # channel counts: no 87.5
        ax.grid(True, axis="y", color="#eeeeee", lw=0.6)
        for sp in ("top", "right"):
            ax.spines[sp].set_visible(False)
    handles = legend_handles(patterns, pcolour, result)
    ncol = 3 if max(len(h.get_label()) for h in handles) <= 60 else 2     # long labels: two columns fit the width
    leg = fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8, frameon=False,
                     bbox_to_anchor=(0.5, 0.0))
    if title and groups != ["all"]:
        fig.suptitle(title, fontsize=11)
    fig.canvas.draw()
    leg_h = leg.get_window_extent().height / fig.bbox.height
    fig.tight_layout(rect=(0, leg_h + 0.01, 1, 1))
    return fig


def plot_staircase(result, path: str, title: str | None = None) -> str:
    """Write the plot to ``path`` (.png, .svg, .pdf or .html) and return the path."""
    ext = os.path.splitext(path)[1].lower()
    fig = figure(result, title)
    try:
        if ext in (".html", ".htm"):
            buf = io.StringIO()
            fig.savefig(buf, format="svg")
            svg = buf.getvalue()
            svg = svg[svg.find("<svg"):]
            head = html.escape(escape_controls(title or f"cltrace staircase: {result.param}"))
            notes = "".join(f"<li>{html.escape(escape_controls(n))}</li>" for n in result.notes)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{head}</title></head>"
                         f"<body style='font-family:sans-serif'><h2>{head}</h2>{svg}<ul>{notes}</ul>"
                         "</body></html>\n")
        else:
            fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
