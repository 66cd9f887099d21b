"""Chrome trace-event JSON (opens in Perfetto UI / chrome://tracing): host calls, device kernels, regions."""
import json
from typing import IO

import numpy as np
import pandas as pd


def _sizes(row, prefix, dims):
    vals = [row[f"{prefix}{i}"] for i in range(dims)]
    return None if any(pd.isna(v) for v in vals) else [int(v) for v in vals]


def chrome_events(launches: pd.DataFrame, regions: pd.DataFrame, processes: pd.DataFrame,
                  queues: pd.DataFrame) -> list:
    """Events in microseconds. Device work goes on one track per queue; host enqueue calls and
    regions on the host thread that made them."""
    events = []
    pid_of = dict(zip(processes["process_id"], processes["pid"])) if not processes.empty else {}
    for proc_id, pid in pid_of.items():
        events.append({"ph": "M", "name": "process_name", "pid": int(pid), "args": {"name": f"pid {pid}"}})
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
    for row in regions.to_dict("records") if not regions.empty else []:
        if pd.isna(row.get("begin_ns")) or pd.isna(row.get("end_ns")):
            continue
        pid = int(pid_of.get(row["process_id"], row["process_id"]))
        tags = row.get("tags")
        events.append({"ph": "X", "cat": "region", "name": row["name"], "pid": pid, "tid": int(row["tid"]),
                       "ts": row["begin_ns"] / 1e3, "dur": max(row["end_ns"] - row["begin_ns"], 0) / 1e3,
                       "args": json.loads(tags) if isinstance(tags, str) and tags else {}})
    return events


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(type(o).__name__)


def write_chrome(out: IO[str], events: list) -> None:
    json.dump({"traceEvents": events, "displayTimeUnit": "ns"}, out, default=_default)
