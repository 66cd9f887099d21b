"""Per-run and per-kernel summaries of a trace (pure functions over DataFrames)."""
import json
from typing import Dict, List

import numpy as np
import pandas as pd


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
    df["kernel"] = df["kernel_name"].fillna("?")
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
    return out
