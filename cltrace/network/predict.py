"""The latency of a pruning plan (`cltrace network-predict`): a channel count per layer -> the sum over the
network's layers, with its uncertainty, from a network sweep.

Each layer's latency is the level of the stair its count lies on, estimated from the processes that measured
that stair: the per-process medians of every configuration of the segment (between two significant steps) are
pooled, their mean is the estimate and their standard error its uncertainty (processes are the independent
units: docs/analysis.md). A count that was not swept is placed on the stair whose swept range holds it (a stair
is flat by the analysis' verdicts); a count outside every stair is an error. Layers that share a shape each count
once in the sum, with the shape's measurements; layers the plan does not name stay unpruned. The total's variance
is the sum of the layers' (layers measured as one shape are fully correlated: their errors add linearly)."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import CltraceError
from ..ranges import ranges_text, span_text

Z95 = 1.959964


@dataclass
class Prediction:
    layers: pd.DataFrame      # layer, measured_as, channels, unpruned_channels, latency_ms, se_ms, unpruned_ms, how
    total_ms: float
    se_ms: float
    unpruned_ms: float

    def to_dict(self) -> dict:
        from ..analysis.records import records
        return {"total_ms": self.total_ms, "se_ms": self.se_ms,
                "interval95_ms": [self.total_ms - Z95 * self.se_ms, self.total_ms + Z95 * self.se_ms],
                "unpruned_ms": self.unpruned_ms,
                "speedup": self.unpruned_ms / self.total_ms if self.total_ms else None,
                "layers": records(self.layers)}


def read_plan(path: str) -> dict:
    """{layer: channels} from a JSON object ({"layer": channels, ...} or {"layers": {...}}) or a CSV with the
    columns layer,channels. CltraceError with one line for anything else."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise CltraceError(f"cannot read {path}: {e.strerror or e}") from None
    plan = None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise CltraceError(f"{path}: not valid JSON ({e})") from None
        plan = data.get("layers", data) if isinstance(data, dict) else None
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
        if rows and {"layer", "channels"} <= set(rows[0]):
            plan = {r["layer"]: r["channels"] for r in rows}
    if not isinstance(plan, dict) or not plan:
        raise CltraceError(f"{path}: a pruning plan is a JSON object {{\"LAYER\": CHANNELS, ...}} or a CSV with "
                           f"the columns layer,channels")
    out = {}
    for layer, n in plan.items():
        try:
            value = int(str(n).strip())
        except ValueError:
            value = 0
        if value < 1:
            raise CltraceError(f"{path}: layer {layer}: the channel count must be a whole number >= 1, not {n!r}")
        out[str(layer)] = value
    return out


def _stair_processes(cfg: pd.DataFrame, row) -> tuple:
    """(per-process medians in ns pooled over the row's segment, the stair's channel counts as text)."""
    seg = row.get("segment_id")
    members = cfg[cfg["config_id"] == row["config_id"]] if pd.isna(seg) else cfg[cfg["segment_id"] == seg]
    vals = [v for p in members["process_median_ns"] if isinstance(p, (list, tuple)) for v in p]
    counts = sorted(int(x) for x in members["channels"])
    if pd.isna(seg):
        return vals, "its own processes (no verdict)"
    return vals, f"stair {span_text(counts[0], counts[-1])}"


def _estimate(vals) -> tuple:
    y = np.asarray(vals, dtype=float) / 1e6
    if len(y) == 0:
        return math.nan, math.nan
    se = float(np.std(y, ddof=1) / math.sqrt(len(y))) if len(y) > 1 else math.nan
    return float(y.mean()), se


def predict(result, samples: pd.DataFrame, plan: dict) -> Prediction:
    """``result``: analyse(samples, "channels", by=["layer"]) of a network sweep; ``plan``: {layer: channels},
    a layer named by itself or by any layer sharing its shape (the `shared` tag)."""
    cfg = result.configs[result.configs["n"] > 0]
    measured_as = {}
    for rep in cfg["layer"].dropna().unique():
        measured_as[str(rep)] = str(rep)
        shared = samples.loc[samples["layer"] == rep, "shared"].dropna() if "shared" in samples.columns else []
        if len(shared) and str(shared.iloc[0]) not in ("", "-"):
            for name in str(shared.iloc[0]).split(","):
                measured_as[name] = str(rep)
    unknown = [k for k in plan if k not in measured_as]
    if unknown:
        raise CltraceError(f"the plan names layer {unknown[0]}, which the trace has not measured (its layers: "
                           f"{', '.join(list(measured_as)[:8])}{' ...' if len(measured_as) > 8 else ''})")
    seg_ranges = {}
    if len(result.segments):
        for s in result.segments.to_dict("records"):
            seg_ranges.setdefault(s["group_label"], []).append(s)
    rows, by_rep_var = [], {}
    for name, rep in measured_as.items():
        g = cfg[cfg["layer"] == rep].sort_values("channels")
        ref = g.iloc[-1]
        want = plan.get(name, int(ref["channels"]))
        hit = g[g["channels"] == want]
        how = "swept"
        if hit.empty:
            inside = [s for s in seg_ranges.get(f"layer={rep}", [])
                      if min(s["first_value"], s["last_value"]) <= want <= max(s["first_value"], s["last_value"])]
            if not inside:
                swept = sorted(int(x) for x in g["channels"])
                raise CltraceError(f"layer {name}: {want} channels were not swept and lie on no stair of "
                                   f"{rep} (swept: {ranges_text(swept)})")
            hit = g[g["config_id"].isin(inside[0]["config_ids"])]
            how = "not swept"
        vals, stair = _stair_processes(g, hit.iloc[0])
        mean, se = _estimate(vals)
        ref_mean, _ = _estimate(_stair_processes(g, ref)[0])
        rows.append({"layer": name, "measured_as": rep, "channels": want, "unpruned_channels": int(ref["channels"]),
                     "latency_ms": mean, "se_ms": se, "unpruned_ms": ref_mean, "processes": len(vals),
                     "how": f"{how}, {stair}"})
        key = (rep, want if how == "swept" else hit.iloc[0]["config_id"])
        by_rep_var.setdefault(key, 0.0)
        by_rep_var[key] += 0.0 if math.isnan(se) else se     # fully correlated within one measurement
    table = pd.DataFrame(rows)
    total = float(table["latency_ms"].sum())
    se_total = math.sqrt(sum(v * v for v in by_rep_var.values()))
    return Prediction(table, total, se_total, float(table["unpruned_ms"].sum()))


