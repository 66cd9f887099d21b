"""Chrome trace-event JSON (opens in Perfetto UI / chrome://tracing): host calls, device kernels, regions."""
import json
import os
from typing import IO, Dict, Optional

import numpy as np
import pandas as pd

from ..analysis.values import typed_tags
from .safe_text import escape_controls


def _sizes(row, prefix, dims):
    vals = [row[f"{prefix}{i}"] for i in range(dims)]
    return None if any(pd.isna(v) for v in vals) else [int(v) for v in vals]


def _program(argv_text, fallback: str) -> str:
    """The program's name (basename of argv[0]) from a JSON argv, else the first word of `fallback`."""
    try:
        argv = json.loads(argv_text) if isinstance(argv_text, str) and argv_text else []
    except ValueError:
        argv = []
    first = str(argv[0]) if isinstance(argv, list) and argv else (fallback or "").split(" ")[0]
    return os.path.basename(first) or "?"


def process_names(processes: pd.DataFrame, runs: Optional[pd.DataFrame] = None,
                  tags: Optional[Dict[int, dict]] = None) -> Dict[int, dict]:
    """process_id -> {pid (the Chrome pid: the real one unless two processes of the file share it), name
    ('conv_bench channels=92 method=gemm (run 3, pid 4242)'), command, sort}."""
    runs_by_id = {int(r["run_id"]): r for r in runs.to_dict("records")} if runs is not None and len(runs) else {}
    out, used = {}, set()
    order = [c for c in ("run_id", "process_id") if c in processes.columns]
    for k, p in enumerate(processes.sort_values(order).to_dict("records") if not processes.empty else []):
        run_id = None if pd.isna(p.get("run_id", None)) else int(p["run_id"])
        run = runs_by_id.get(run_id, {})
        command = run.get("command") or ""
        argv = p.get("argv")
        program = _program(argv if isinstance(argv, str) else run.get("argv"), command)
        labels = " ".join(f"{key}={v}" for key, v in (tags or {}).get(run_id, {}).items())
        pid = int(p["pid"])
        chrome_pid = pid if pid not in used else 10_000_000 + int(p["process_id"])
        used.add(chrome_pid)
        where = f"run {run_id}, pid {pid}" if run_id is not None else f"pid {pid}"
        name = f"{program}{' ' + labels if labels else ''} ({where})"
        out[int(p["process_id"])] = {"pid": chrome_pid, "name": escape_controls(name),
                                     "command": command, "sort": k}
    return out


def chrome_events(launches: pd.DataFrame, regions: pd.DataFrame, processes: pd.DataFrame,
                  queues: pd.DataFrame, runs: Optional[pd.DataFrame] = None,
                  tags: Optional[Dict[int, dict]] = None) -> list:
    """Events in microseconds. One Chrome process per traced process (named by its program, the run's tags,
    the run and the pid); device work goes on one track per queue; host enqueue calls and regions on the
    host thread that made them. `tags`: run_id -> {key: value} (the run's tags, typed)."""
    events = []
    named = process_names(processes, runs, tags)
    pid_of = {proc_id: v["pid"] for proc_id, v in named.items()}
    for v in named.values():
        events.append({"ph": "M", "name": "process_name", "pid": v["pid"], "args": {"name": v["name"]}})
        events.append({"ph": "M", "name": "process_sort_index", "pid": v["pid"], "args": {"sort_index": v["sort"]}})
        if v["command"]:
            events.append({"ph": "M", "name": "process_labels", "pid": v["pid"], "args": {"labels": v["command"]}})
    seen_tracks = set()
    for row in launches.to_dict("records"):
        pid = int(pid_of.get(row["process_id"], row["process_id"]))
        dims = int(row.get("work_dim") or 1)
        args = {"seq": int(row["seq"]), "global": _sizes(row, "global", dims),
                "local": _sizes(row, "local", dims) if not row.get("driver_local") else "driver",
                "work_groups": None if pd.isna(row.get("work_groups")) else int(row["work_groups"]),
                "error": None if pd.isna(row.get("error")) else int(row["error"])}
        name = row.get("kernel_name") or "?"
        if not pd.isna(row.get("host_enqueue_ns")) and not pd.isna(row.get("host_return_ns")):
            events.append({"ph": "X", "cat": "enqueue", "name": f"enqueue {name}", "pid": pid,
                           "tid": int(row["tid"]), "ts": row["host_enqueue_ns"] / 1e3,
                           "dur": max(row["host_return_ns"] - row["host_enqueue_ns"], 0) / 1e3, "args": args})
        if not pd.isna(row.get("start_ns")) and not pd.isna(row.get("end_ns")):
            track = f"queue {int(row['queue_id'])}" if not pd.isna(row.get("queue_id")) else "device"
            tid = 1_000_000 + (int(row["queue_id"]) if not pd.isna(row.get("queue_id")) else 0)
            if (pid, tid) not in seen_tracks:
                seen_tracks.add((pid, tid))
                events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": track}})
            events.append({"ph": "X", "cat": "kernel", "name": name, "pid": pid, "tid": tid,
                           "ts": row["start_ns"] / 1e3, "dur": max(row["end_ns"] - row["start_ns"], 0) / 1e3,
                           "args": args})
    rows = [r for r in (regions.to_dict("records") if not regions.empty else [])
            if not pd.isna(r.get("begin_ns")) and not pd.isna(r.get("end_ns"))]
    for row, args in zip(rows, typed_tags([_region_tags(r.get("tags")) for r in rows])):
        pid = int(pid_of.get(row["process_id"], row["process_id"]))
        events.append({"ph": "X", "cat": "region", "name": row["name"], "pid": pid, "tid": int(row["tid"]),
                       "ts": row["begin_ns"] / 1e3, "dur": max(row["end_ns"] - row["begin_ns"], 0) / 1e3,
                       "args": args})
    return events


def _region_tags(text) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(type(o).__name__)


def write_chrome(out: IO[str], events: list) -> None:
    json.dump({"traceEvents": events, "displayTimeUnit": "ns"}, out, default=_default)
