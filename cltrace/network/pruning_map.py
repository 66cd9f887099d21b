"""A network sweep as the seed paper's map: layers x pruning distance, each cell the speedup of its layer's
pruned count against the unpruned one.

Every cell comes from the staircase analysis of its layer (analyse(samples, "channels", by=["layer"])), not
from one noisy median: its latency is the level of the segment (the stair) it lies in, so cells on one stair
show the same speedup and a cell differs from 1x only across a significant step. A cell is
- "hazard": slower than the unpruned layer across a significant step (recommend.hazards),
- "edge": a stair edge, a channel count worth keeping (recommend.stair_edges: the largest count of a stair
  whose next stair is slower, or the unpruned count unless its stair is the slowest); the layer's best count is
  the edge with the highest speedup,
- "untested": measured in fewer than 2 processes (its own median, no verdict),
- "same": on the unpruned layer's stair (speedup 1 by construction), or "faster" below it.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

CELL_COLUMNS = ["layer", "distance", "channels", "latency_ns", "speedup", "median_speedup", "status",
                "segment_id", "n_processes"]
LAYER_COLUMNS = ["layer", "shape", "shared", "unpruned_channels", "unpruned_ms", "edges", "n_steps", "hazards",
                 "best_speedup", "best_channels", "best_distance", "causes"]


@dataclass
class PruningMap:
    cells: pd.DataFrame            # CELL_COLUMNS, one row per (layer, distance)
    layers: pd.DataFrame           # LAYER_COLUMNS, one row per layer, in plan order
    notes: list
    result: object = None          # the StaircaseResult it comes from

    def to_dict(self) -> dict:
        from ..analysis.records import records
        layers = records(self.layers)
        for r in layers:
            r["edges"] = list(r["edges"] or [])
            r["hazards"] = list(r["hazards"] or [])
            r["shared"] = list(r["shared"] or [])
        return {"layers": layers, "cells": records(self.cells), "notes": list(self.notes)}


def _natural(name) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(name))]


def _level(c: dict) -> float:
    v = c.get("segment_level_ns")
    return c["median_ns"] if v is None or pd.isna(v) else v


def _first(samples: pd.DataFrame, layer, column) -> str:
    if column not in samples.columns:
        return ""
    v = samples.loc[samples["layer"] == layer, column].dropna()
    return "" if v.empty else str(v.iloc[0])


def plan_order(db) -> list:
    """The layers in the order of the trace's last network sweep plan (the model's execution order)."""
    import json
    for plan, in db.execute("SELECT plan FROM sweeps ORDER BY sweep_id DESC"):
        try:
            p = json.loads(plan)
            names = [n for n, _ in p["params"]]
            if "layer" in names:
                i = names.index("layer")
                return list(dict.fromkeys(c[i] for c in p["configurations"]))
        except (ValueError, KeyError, TypeError):
            continue
    return []


def build(samples: pd.DataFrame, order: list | None = None, result=None, **analyse_kw) -> PruningMap:
    """The map of a network sweep's samples (tags layer and channels; ValueError when they are missing).
    ``order``: the layers in plan order (default: natural sort of their names); ``result``: the analysis
    along channels by layer when already made (cltrace report)."""
    from ..analysis.staircase import analyse
    for col in ("layer", "channels"):
        if col not in samples.columns:
            raise ValueError(f"the trace's runs carry no '{col}' tag: it is not a network sweep "
                             f"(make one with cltrace network)")
    if result is None:
        result = analyse(samples, "channels", by=["layer"], **analyse_kw)
    cfg = result.configs
    hazard_ids = set(result.hazards["config_id"]) if len(result.hazards) else set()
    haz_conf = dict(zip(result.hazards["config_id"], result.hazards["factor"])) if len(result.hazards) else {}
    edge_ids = set(result.edges["config_id"]) if len(result.edges) else set()
    layers_seen = [x for x in cfg["layer"].dropna().unique()]
    if order:
        rank = {name: i for i, name in enumerate(order)}
        layers_seen.sort(key=lambda n: (rank.get(str(n), len(rank)), _natural(n)))
    else:
        layers_seen.sort(key=_natural)
    cells, rows = [], []
    for layer in layers_seen:
        g = cfg[(cfg["layer"] == layer) & cfg["channels"].notna() & (cfg["n"] > 0)].sort_values("channels")
        if g.empty:
            continue
        recs = g.to_dict("records")
        ref = recs[-1]
        ref_level, ref_median = _level(ref), ref["median_ns"]
        best = None
        for c in reversed(recs):            # from the unpruned count down: ties keep more channels
            procs = 0 if pd.isna(c.get("n_processes", np.nan)) else int(c["n_processes"])
            speedup = ref_level / _level(c)
            if c["config_id"] in hazard_ids:
                status = "hazard"
            elif procs < 2 or (ref.get("n_processes", 0) or 0) < 2:
                status = "untested"
            elif c["config_id"] in edge_ids:
                status = "edge"
            elif c.get("segment_id") == ref.get("segment_id"):
                status = "same"
            else:
                status = "faster" if speedup > 1 else "slower"
            cells.append({"layer": layer, "distance": int(ref["channels"] - c["channels"]),
                          "channels": int(c["channels"]), "latency_ns": _level(c), "speedup": speedup,
                          "median_speedup": ref_median / c["median_ns"], "status": status,
                          "segment_id": c.get("segment_id"), "n_processes": procs})
            # the best count is an edge: the largest count of the fastest stair that is no hazard (one rule)
            if status == "edge" and (best is None or speedup > best[0] * 1.0001):
                best = (speedup, int(c["channels"]), int(ref["channels"] - c["channels"]))
        label = f"layer={layer}"
        steps = result.steps[result.steps["group_label"] == label] if len(result.steps) else result.steps
        causes = []
        for s in steps.to_dict("records") if len(steps) else []:
            text = s.get("cause")
            if text and not (isinstance(text, float) and math.isnan(text)):
                causes.append(f"{int(s['from_value'])}->{int(s['to_value'])}: {text}")
        haz = [f"-{int(ref['channels'] - c['channels'])} ({haz_conf[c['config_id']]:.2f}x slower)"
               for c in recs if c["config_id"] in hazard_ids]
        edges = [int(c["channels"]) for c in recs if c["config_id"] in edge_ids]
        shared = _first(samples, layer, "shared")
        rows.append({"layer": layer,
                     "shape": (f"{_first(samples, layer, 'input')} k{_first(samples, layer, 'kernel')} "
                               f"s{_first(samples, layer, 'stride')} p{_first(samples, layer, 'pad')}"),
                     "shared": [] if shared in ("", "-") else shared.split(","),
                     "unpruned_channels": int(ref["channels"]), "unpruned_ms": ref_level / 1e6,
                     "edges": edges, "n_steps": int(len(steps)), "hazards": haz,
                     "best_speedup": None if best is None else best[0],
                     "best_channels": None if best is None else best[1],
                     "best_distance": None if best is None else best[2],
                     "causes": "; ".join(causes)})
    return PruningMap(pd.DataFrame(cells, columns=CELL_COLUMNS), pd.DataFrame(rows, columns=LAYER_COLUMNS),
                      list(result.notes), result)


def layer_table(m: PruningMap) -> pd.DataFrame:
    """The per-layer table as text columns (CSV, or printed)."""
    t = m.layers.copy()
    t["shared"] = [" ".join(x) or "-" for x in t["shared"]]
    t["edges"] = [" ".join(map(str, x)) or "-" for x in t["edges"]]
    t["hazards"] = [" ".join(x) or "-" for x in t["hazards"]]
    t["unpruned_ms"] = [f"{x:.4f}" for x in t["unpruned_ms"]]
    t["best_speedup"] = ["-" if x is None or pd.isna(x) else f"{x:.2f}x" for x in t["best_speedup"]]
    for c in ("best_channels", "best_distance"):
        t[c] = ["-" if x is None or pd.isna(x) else str(int(x)) for x in t[c]]
    t["causes"] = [x or "-" for x in t["causes"]]
    return t


def plot_heatmap(m: PruningMap, path: str, title: str = "") -> None:
    """Layers (rows) x pruning distance (columns), colour = speedup (log scale, 1x white, faster blue, slower
    red), hazards crossed out, stair edges dotted, untested cells hatched; blank: not swept."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    cells = m.cells
    layers = list(m.layers["layer"])
    distances = sorted(set(int(d) for d in cells["distance"]))
    grid = np.full((len(layers), len(distances)), np.nan)
    col = {d: j for j, d in enumerate(distances)}
    row = {name: i for i, name in enumerate(layers)}
    for c in cells.to_dict("records"):
        grid[row[c["layer"]], col[int(c["distance"])]] = math.log2(c["speedup"])
    span = max(0.1, float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.1)
    w = min(24, 2.5 + 0.32 * len(distances))
    h = min(30, 1.6 + 0.32 * len(layers))
    fig, ax = plt.subplots(figsize=(w, h))
    cmap = plt.get_cmap("RdBu").copy()
    cmap.set_bad("#c8c8c8")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=TwoSlopeNorm(0.0, -span, span), aspect="auto",
                   interpolation="nearest")
    annotate = len(distances) * len(layers) <= 600
    for c in cells.to_dict("records"):
        i, j = row[c["layer"]], col[int(c["distance"])]
        if c["status"] == "hazard":
            ax.plot(j, i, marker="x", color="black", markersize=8, mew=2)
        elif c["status"] == "edge":
            ax.plot(j, i, marker="o", color="black", markersize=3)
        elif c["status"] == "untested":
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#888888",
                                       linewidth=0))
        if annotate and c["status"] not in ("same",):
            dark = abs(math.log2(c["speedup"])) > 0.6 * span
            ax.text(j, i + 0.32, f"{c['speedup']:.2f}", ha="center", va="center", fontsize=5,
                    color="white" if dark else "#333333")
    labels = []
    for r in m.layers.to_dict("records"):
        n = len(r["shared"] or [])
        labels.append(f"{r['layer']} ({r['unpruned_channels']})" + (f" x{n + 1}" if n else ""))
    ax.set_yticks(range(len(layers)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xticks(range(len(distances)))
    ax.set_xticklabels([str(d) for d in distances], fontsize=7, rotation=90 if len(distances) > 30 else 0)
    ax.set_xlabel("pruning distance (output channels removed)")
    ax.set_ylabel("layer (unpruned channels), xN: N layers share it", fontsize=8)
    ax.set_xticks(np.arange(-0.5, len(distances)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(layers)), minor=True)
    ax.grid(which="minor", color="#bbbbbb", linewidth=0.4)
    ax.tick_params(which="minor", length=0)
    ax.set_title(title or "speedup against the unpruned layer, per stair (x: hazard, dot: stair edge, "
                          "hatched: untested)", fontsize=9)
    bar = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    ticks = [t for t in (-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3) if abs(t) <= span]
    bar.set_ticks(ticks)
    bar.set_ticklabels([f"{2 ** t:.2g}x" for t in ticks])
    bar.set_label("speedup (log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
