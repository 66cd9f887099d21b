"""How a launch is stored (schema v2) and how the `launches` view's columns are rebuilt from it in numpy.

A launch is split in two: what it shares with every launch of the same shape (kernel, queue, sizes, flags)
is one `dispatches` row; what is its own (seq, thread, region, times as deltas) is one narrow
`launch_rows` row. SQL users read the `launches` view; the Python side reads both tables column by column
and joins them here, which is what keeps a ten-million-launch report fast.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

from .rows import sorted_id_rows

from .abi import STATUS_NAMES  # launch_rows.status -> times_status (native/cltrace_store.h)

# launches view column -> the launch_rows columns it is computed from (the others come from dispatches)
ROW_SOURCES: Dict[str, Tuple[str, ...]] = {
    "launch_id": ("launch_id",), "process_id": ("process_id",), "seq": ("seq",), "tid": ("tid",),
    "region_id": ("region_id",), "times_status": ("status",),
    "host_enqueue_ns": ("enqueue_ns",), "host_return_ns": ("enqueue_ns", "return_dns"),
    "queued_ns": ("queued_ns",), "submit_ns": ("queued_ns", "submit_dns"),
    "start_ns": ("queued_ns", "submit_dns", "start_dns"),
    "end_ns": ("queued_ns", "submit_dns", "start_dns", "end_dns"), "duration_ns": ("end_dns",),
}

# the launch_rows columns Trace.launch_groups and Trace.staircase_launches read
GROUP_ROW_COLUMNS = ("dispatch_id", "queued_ns", "submit_dns", "start_dns", "end_dns")
# (no seq: launch_id orders a process's launches as seq does; no status: device times are stored only for
# status 0, so "has times" is "ok" -- each column left out is ~0.4 s of a 10M-launch report)
STAIRCASE_ROW_COLUMNS = GROUP_ROW_COLUMNS + ("launch_id", "region_id")


def split_columns(columns: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(launch_rows columns to read, dispatches columns to read) for these launches-view columns."""
    rows = ["dispatch_id"]
    disp = ["dispatch_id"]
    for c in columns:
        for src in ROW_SOURCES.get(c, ()):
            if src not in rows:
                rows.append(src)
        if c not in ROW_SOURCES and c not in disp:
            disp.append(c)
    return rows, disp


def run_ranges(db, run_id: int) -> List[Tuple[int, int]]:
    """The launch_id ranges of one run's launches, adjacent ranges merged (a run's processes are ingested
    one after the other, so this is usually a single range)."""
    ranges: List[Tuple[int, int]] = []
    for a, b in db.execute("SELECT first_launch_id, last_launch_id FROM processes WHERE run_id = ? AND "
                           "first_launch_id IS NOT NULL ORDER BY first_launch_id", (int(run_id),)):
        if ranges and int(a) == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], int(b))
        else:
            ranges.append((int(a), int(b)))
    return ranges


def ranges_where(ranges) -> Tuple[str, tuple]:
    """An SQL condition on launch_id for these ranges (rowid range scans), with its parameters."""
    if not ranges:
        return "0", ()
    return " OR ".join("launch_id BETWEEN ? AND ?" for _ in ranges), tuple(v for r in ranges for v in r)


def dispatch_index(dispatch_ids: np.ndarray, launch_dispatch: np.ndarray) -> np.ndarray:
    """Row of each launch's dispatch in a dispatches frame sorted by dispatch_id."""
    return sorted_id_rows(dispatch_ids, launch_dispatch)


def _sum(parts):
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def status_categorical(codes: np.ndarray) -> pd.Categorical:
    codes = np.where((codes < 0) | (codes >= len(STATUS_NAMES)), len(STATUS_NAMES) - 1, codes)
    return _used_sorted(codes, np.array(STATUS_NAMES, dtype=object))


def _used_sorted(codes: np.ndarray, categories: np.ndarray) -> pd.Categorical:
    """Categorical of `codes` (-1: missing) into `categories`, keeping only the categories used, sorted (what
    remove_unused_categories + reorder_categories give, without np.unique over every row)."""
    used = np.flatnonzero(np.bincount(codes[codes >= 0] if (codes < 0).any() else codes,
                                      minlength=len(categories))) if len(codes) else np.zeros(0, np.int64)
    names = categories[used]
    order = np.argsort(names.astype(str), kind="stable")
    remap = np.full(len(categories) + 1, -1, np.int64)      # the extra slot maps -1 to -1
    remap[used[order]] = np.arange(len(used))
    new = remap[codes]
    return pd.Categorical.from_codes(new.astype(np.int8 if len(used) < 127 else np.int32),
                                     categories=pd.Index(names[order], dtype=object))


def _take(col, idx: np.ndarray):
    """A dispatches column taken per launch (idx: each launch's row), straight from numpy."""
    if isinstance(col, pd.Categorical):
        return _used_sorted(col.codes.astype(np.int64)[idx], np.asarray(col.categories, dtype=object))
    if isinstance(col, pd.arrays.IntegerArray):
        return pd.arrays.IntegerArray(col.to_numpy(np.int64, na_value=0)[idx], np.asarray(col.isna())[idx])
    return col.take(idx)


def assemble(rows: pd.DataFrame, dispatches: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The launches-view columns from launch_rows `rows` and their `dispatches` (sorted by dispatch_id)."""
    idx = dispatch_index(dispatches["dispatch_id"].to_numpy(np.int64), rows["dispatch_id"].to_numpy(np.int64))
    out = {}
    for c in columns:
        if c == "times_status":
            out[c] = status_categorical(rows["status"].to_numpy(np.int64))
        elif c in ROW_SOURCES:
            srcs = ROW_SOURCES[c]
            out[c] = rows[srcs[0]].array if len(srcs) == 1 else _sum([rows[s].array for s in srcs])
        else:
            out[c] = _take(dispatches[c].array, idx)
    return pd.DataFrame(out, columns=list(columns), copy=False)


def staircase_frame(rows) -> pd.DataFrame:
    """The narrow launches frame analysis.samples reads with a dispatches frame, from launch_arrays rows
    (STAIRCASE_ROW_COLUMNS): dispatch_id, seq (the launch_id: same order within a process), region_id (Int64),
    start_ns, end_ns and duration_ns (float, NaN where the launch has no device times, which is exactly where
    its status is not ok). No column is copied into a block."""
    (q, q_null), (sub, sub_null), (st, st_null), (dur, d_null) = (rows[c] for c in GROUP_ROW_COLUMNS[1:])
    start = (q + sub + st).astype(float)
    start[q_null | sub_null | st_null] = np.nan        # as in the view: NULL if any part is
    duration = dur.astype(float)
    duration[d_null] = np.nan
    end = start + duration
    region, region_null = rows["region_id"]
    cols = {"dispatch_id": rows["dispatch_id"][0], "seq": rows["launch_id"][0],
            "region_id": pd.arrays.IntegerArray(region, region_null),
            "start_ns": start, "end_ns": end, "duration_ns": duration}
    return pd.DataFrame(cols, copy=False)
