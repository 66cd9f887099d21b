"""Per-run and per-kernel summaries of a trace (pure functions over DataFrames)."""
import json
from typing import Dict, List

import numpy as np
import pandas as pd

from .values import typed_tags


def _with_labels(launches: pd.DataFrame) -> pd.DataFrame:
    df = launches.copy()
    if df.empty:
        df["global"] = pd.Series(dtype=str)
        df["local"] = pd.Series(dtype=str)
        return df
    dims = df["work_dim"].fillna(1).clip(lower=1).astype(int)
    def label(prefix):
        parts = []
        for i in range(3):
            col = df[f"{prefix}{i}"]
            s = col.astype("Int64").astype(str).where(dims > i, "")
            parts.append(s)
        joined = parts[0].str.cat(parts[1:], sep="x").str.rstrip("x")
        return joined
    df["global"] = label("global")
    local = label("local")
    df["local"] = local.where(df["driver_local"].fillna(0).astype(int) == 0, "driver")
    return df


def kernel_table(launches: pd.DataFrame, per_run: bool = True) -> pd.DataFrame:
    """One row per (run, kernel, global, local) -- or per (kernel, global, local) over all runs with
    a `runs` count when per_run is False: calls and device-time statistics in ms."""
    keys = (["run_id"] if per_run else []) + ["kernel", "global", "local"]
    stats = ["calls", "timed", "total_ms", "mean_ms", "median_ms", "min_ms", "max_ms", "share"]
    cols = keys + ([] if per_run else ["runs"]) + stats
    if launches.empty:
        return pd.DataFrame(columns=cols)
    df = _with_labels(launches)
    df["kernel"] = df["kernel_name"].astype(object).fillna("?")   # object: a category column has no "?"
    df["dur_ms"] = df["duration_ns"].astype("Float64") / 1e6
    g = df.groupby(keys, sort=False, dropna=False)
    out = g["dur_ms"].agg(calls="size", timed="count", total_ms="sum", mean_ms="mean", median_ms="median",
                          min_ms="min", max_ms="max").reset_index()
    if not per_run:
        out["runs"] = g["run_id"].nunique().to_numpy()
    total = out.groupby("run_id")["total_ms"].transform("sum") if per_run else out["total_ms"].sum()
    out["share"] = (out["total_ms"] / (total.where(total > 0) if per_run else (total or float("nan"))))
    out["share"] = out["share"].astype("Float64")
    order = (["run_id"] if per_run else []) + ["total_ms"]
    out = out.sort_values(order, ascending=[True] * per_run + [False], kind="stable")
    return out[cols].reset_index(drop=True)


def zero_launch_reason(run: Dict, n_processes: int, n_devices: int) -> str:
    if run.get("status") in ("not-found",):
        return "the command could not be started"
    if n_processes == 0:
        return ("no process loaded OpenCL through the shim: the program did not use OpenCL, or no ICD "
                "loader / platform was found (see 'cltrace devices')")
    if n_devices == 0:
        return "the program never created a command queue (no OpenCL platform or device available?)"
    return "the program created queues but enqueued no kernels"


def _argv(text) -> List[str]:
    """runs.argv (a JSON list of strings) as a list; [] when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(a) for a in value] if isinstance(value, list) else []


def run_summaries(runs: pd.DataFrame, launches: pd.DataFrame, processes: pd.DataFrame,
                  devices: pd.DataFrame, run_tags: pd.DataFrame) -> List[Dict]:
    """A header per run: command, outcome, devices, tags, launch counts, wall and device time."""
    out = []
    for run in runs.sort_values("run_id").to_dict("records"):
        rid = run["run_id"]
        ls = launches[launches["run_id"] == rid] if not launches.empty else launches
        ps = processes[processes["run_id"] == rid] if not processes.empty else processes
        ds = devices[devices["run_id"] == rid] if not devices.empty else devices
        tags = run_tags[run_tags["run_id"] == rid] if not run_tags.empty else run_tags
        dur = ls["duration_ns"].dropna() if not ls.empty else pd.Series(dtype=float)
        span = None
        if not ls.empty and ls["start_ns"].notna().any():
            span = (ls["end_ns"].max() - ls["start_ns"].min()) / 1e6
        summary = {
            "run_id": int(rid),
            "command": run.get("command"),
            "argv": _argv(run.get("argv")),
            "status": run.get("status"),
            "exit_status": None if pd.isna(run.get("exit_status")) else int(run.get("exit_status")),
            "mode": run.get("mode"),
            "started_at": run.get("started_at"),
            "wall_s": None if pd.isna(run.get("wall_s")) else round(float(run["wall_s"]), 3),
            "devices": sorted({str(n) for n in ds["name"].dropna()}) if not ds.empty else [],
            "tags": {r["key"]: r["value"] for r in tags.to_dict("records")},
            "processes": int(len(ps)),
            "launches": int(len(ls)),
            "untimed_launches": int(len(ls) - len(dur)),
            "kernels": int(ls["kernel_name"].nunique()) if not ls.empty else 0,
            "device_time_ms": round(float(dur.sum()) / 1e6, 3),
            "device_span_ms": None if span is None or pd.isna(span) else round(float(span), 3),
        }
        if summary["launches"] == 0:
            summary["why_no_launches"] = zero_launch_reason(run, len(ps), len(ds))
        out.append(summary)
    for s, tags in zip(out, typed_tags([s["tags"] for s in out])):
        s["tags"] = tags                  # numbers come back as numbers, as Trace.params gives them
    return out


# -- the same numbers from launch groups (10M-launch traces: no per-launch DataFrame) -------------------------
GROUP_KEY_COLUMNS = ["run_id", "kernel_name", "work_dim", "global0", "global1", "global2", "local0", "local1",
                     "local2", "driver_local"]


def _label_groups(keys: pd.DataFrame, per_run: bool):
    """keys: one row per raw launch group (GROUP_KEY_COLUMNS, first-appearance order). Returns the label
    table (run_id?, kernel, global, local) and each raw group's label-group index."""
    lab = _with_labels(keys)
    lab["kernel"] = lab["kernel_name"].astype(object).where(lab["kernel_name"].notna(), "?")
    cols = (["run_id"] if per_run else []) + ["kernel", "global", "local"]
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(lab[cols].astype(object)), sort=False)
    return uniq.to_frame(index=False, name=cols), codes


def _count_true(label: np.ndarray, mask: np.ndarray, m: int) -> np.ndarray:
    """How many rows of each label (0..m-1) have mask True (bincount with bool weights is ~20x slower)."""
    return np.bincount(label if mask.all() else label[mask], minlength=m)


def _label_stats(label: np.ndarray, values: np.ndarray, m: int) -> Dict[str, np.ndarray]:
    """size, count (non-NaN), sum, mean, median, min and max of `values` by `label` (0..m-1), as
    groupby(label).agg(...) gives them, without a per-row pandas groupby (10M rows: ~3x faster)."""
    ok = ~np.isnan(values)
    size = np.bincount(label, minlength=m)
    count = _count_true(label, ok, m)
    total = np.bincount(label, weights=np.where(ok, values, 0.0), minlength=m)
    lo, hi = np.full(m, np.inf), np.full(m, -np.inf)
    np.minimum.at(lo, label[ok], values[ok])
    np.maximum.at(hi, label[ok], values[ok])
    has = count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, total / count, np.nan)
    if m <= 64:      # few groups: one masked median each beats sorting every row
        med = np.array([np.median(values[ok & (label == g)]) if has[g] else np.nan for g in range(m)])
    else:
        med = pd.Series(values).groupby(label).median().reindex(range(m)).to_numpy()
    return {"size": size, "count": count, "sum": total, "mean": mean, "median": med,
            "min": np.where(has, lo, np.nan), "max": np.where(has, hi, np.nan)}


def kernel_table_grouped(keys: pd.DataFrame, group: np.ndarray, duration_ns: np.ndarray, timed: np.ndarray,
                         per_run: bool = True) -> pd.DataFrame:
    """kernel_table() from launch groups: keys (one row per raw group, GROUP_KEY_COLUMNS), each launch's
    group code, its duration (any value where not timed) and whether it has a duration."""
    key_cols = (["run_id"] if per_run else []) + ["kernel", "global", "local"]
    stats = ["calls", "timed", "total_ms", "mean_ms", "median_ms", "min_ms", "max_ms", "share"]
    cols = key_cols + ([] if per_run else ["runs"]) + stats
    if len(group) == 0:
        return pd.DataFrame(columns=cols)
    labels, lcode = _label_groups(keys, per_run)
    row_label = lcode[group]
    dur_ms = np.where(timed, duration_ns, np.nan) / 1e6
    agg = _label_stats(row_label, dur_ms, len(labels))
    return kernel_table_from_stats(keys, labels, lcode, agg, per_run)


def kernel_table_from_stats(keys: pd.DataFrame, labels: pd.DataFrame, lcode: np.ndarray, agg: Dict[str, np.ndarray],
                            per_run: bool = True) -> pd.DataFrame:
    """The kernel table from the label groups (_label_groups(keys, per_run)) and their statistics in ms
    (_label_stats' dict: size, count, sum, mean, median, min, max), however they were gathered."""
    key_cols = (["run_id"] if per_run else []) + ["kernel", "global", "local"]
    stats = ["calls", "timed", "total_ms", "mean_ms", "median_ms", "min_ms", "max_ms", "share"]
    cols = key_cols + ([] if per_run else ["runs"]) + stats
    out = labels.copy()
    out["calls"] = agg["size"]
    out["timed"] = agg["count"]
    out["total_ms"] = agg["sum"]
    for name, src in (("mean_ms", "mean"), ("median_ms", "median"), ("min_ms", "min"), ("max_ms", "max")):
        out[name] = pd.array(agg[src], dtype="Float64")
    out["total_ms"] = pd.array(out["total_ms"].to_numpy(), dtype="Float64")
    if not per_run:
        runs_per = pd.DataFrame({"l": lcode, "r": keys["run_id"].to_numpy()}).drop_duplicates()
        out["runs"] = runs_per.groupby("l")["r"].nunique().reindex(range(len(out))).to_numpy()
        total = out["total_ms"].sum()
        out["share"] = out["total_ms"] / (total or float("nan"))
    else:
        total = out.groupby("run_id")["total_ms"].transform("sum")
        out["share"] = out["total_ms"] / total.where(total > 0)
    out["share"] = out["share"].astype("Float64")
    order = (["run_id"] if per_run else []) + ["total_ms"]
    out = out.sort_values(order, ascending=[True] * per_run + [False], kind="stable")
    return out[cols].reset_index(drop=True)


def run_summaries_grouped(runs: pd.DataFrame, keys: pd.DataFrame, group: np.ndarray, duration_ns: np.ndarray,
                          timed: np.ndarray, start_ns: np.ndarray, start_ok: np.ndarray, end_ns: np.ndarray,
                          end_ok: np.ndarray, processes: pd.DataFrame, devices: pd.DataFrame,
                          run_tags: pd.DataFrame) -> List[Dict]:
    """run_summaries() from launch groups (see kernel_table_grouped)."""
    g = group_totals(len(keys), group, duration_ns, timed, start_ns, start_ok, end_ns, end_ok)
    return run_summaries_from_totals(runs, keys, g, processes, devices, run_tags)


def group_totals(m: int, group: np.ndarray, duration_ns: np.ndarray, timed: np.ndarray, start_ns: np.ndarray,
                 start_ok: np.ndarray, end_ns: np.ndarray, end_ok: np.ndarray) -> Dict[str, np.ndarray]:
    """Per launch group (0..m-1): calls, timed, total (device ns), smin (earliest start), emax (latest end),
    nstart and nend (launches with a start / an end). Sums, minima and counts: the totals of consecutive
    parts of the launches merge into those of the whole (merge_group_totals)."""
    smin = np.full(m, np.iinfo(np.int64).max)
    np.minimum.at(smin, *((group, start_ns) if start_ok.all() else (group[start_ok], start_ns[start_ok])))
    emax = np.full(m, np.iinfo(np.int64).min)
    np.maximum.at(emax, *((group, end_ns) if end_ok.all() else (group[end_ok], end_ns[end_ok])))
    return {"calls": np.bincount(group, minlength=m), "timed": _count_true(group, timed, m),
            "total": np.bincount(group, weights=np.where(timed, duration_ns, 0), minlength=m),
            "smin": smin, "emax": emax, "nstart": _count_true(group, start_ok, m),
            "nend": _count_true(group, end_ok, m)}


def merge_group_totals(a: Dict[str, np.ndarray], b: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """group_totals of two parts of the launches, as one (totals of integers: exact in any order)."""
    if a is None:
        return b
    out = {k: a[k] + b[k] for k in ("calls", "timed", "total", "nstart", "nend")}
    out["smin"] = np.minimum(a["smin"], b["smin"])
    out["emax"] = np.maximum(a["emax"], b["emax"])
    return out


def run_summaries_from_totals(runs: pd.DataFrame, keys: pd.DataFrame, g: Dict[str, np.ndarray],
                              processes: pd.DataFrame, devices: pd.DataFrame, run_tags: pd.DataFrame) -> List[Dict]:
    """run_summaries() from group_totals of the launch groups `keys`."""
    per = pd.DataFrame({"run_id": keys["run_id"].to_numpy(), "kernel_name": keys["kernel_name"].to_numpy(),
                        "calls": g["calls"], "timed": g["timed"], "total": g["total"], "smin": g["smin"],
                        "emax": g["emax"], "anystart": g["nstart"] > 0, "anyend": g["nend"] > 0})
    empty = pd.DataFrame(columns=["run_id", "duration_ns", "start_ns", "end_ns", "kernel_name"])
    out = run_summaries(runs, empty, processes, devices, run_tags)
    for s in out:
        r = per[per["run_id"] == s["run_id"]]
        if r.empty:
            continue
        n, t = int(r["calls"].sum()), int(r["timed"].sum())
        span = None
        if r["anystart"].any():
            hi = r.loc[r["anyend"], "emax"]
            span = (int(hi.max()) - int(r.loc[r["anystart"], "smin"].min())) / 1e6 if len(hi) else None
        s.update(launches=n, untimed_launches=n - t, kernels=int(r["kernel_name"].dropna().nunique()),
                 device_time_ms=round(float(r["total"].sum()) / 1e6, 3),
                 device_span_ms=None if span is None else round(float(span), 3))
        s.pop("why_no_launches", None)
        if n == 0:
            s["why_no_launches"] = zero_launch_reason(
                next(x for x in runs.to_dict("records") if x["run_id"] == s["run_id"]),
                int((processes["run_id"] == s["run_id"]).sum()) if not processes.empty else 0,
                int((devices["run_id"] == s["run_id"]).sum()) if not devices.empty else 0)
    return out
