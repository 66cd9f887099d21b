"""The reference launch ingest in Python: one process's launches -> launch_rows + dispatches with numpy and
executemany, the same rows as the C feed of libcltrace_store.so (native/ingest_launches.c).

It runs when the library is not there (not built, another Python, CLTRACE_NATIVE_STORE=0: see store/fast.py),
and tests/unit/test_ingest.py holds the two paths equal. A change of what a launch is stored as touches the C
feed and this module; the codes and the struct they share are in native/cltrace_store.h (store/abi.py).
"""
import numpy as np

from ..capture.format import K
from .abi import API_NAMES, STATUS_NAMES, C
from .asof import asof

BATCH = 200_000


def _records(launches):
    """(launch records, times records) as structured arrays, aligned: times[i] belongs to launch i when
    has_times[i]."""
    L = launches.cap.launch_records(launches.offsets)
    T = launches.cap.at(K.CLT_REC_LAUNCH_TIMES, np.maximum(launches.times_offsets, 0))
    return L, T, launches.times_offsets >= 0


# per-launch columns of launch_rows; the rest of the launch is its dispatch
ROW_COLUMNS = ("launch_id", "process_id", "dispatch_id", "seq", "tid", "region_id", "status", "enqueue_ns",
               "return_dns", "queued_ns", "submit_dns", "start_dns", "end_dns")
DISPATCH_COLUMNS = ("dispatch_id", "run_id", "process_id", "queue_id", "device_id", "kernel_id", "kernel_name",
                    "api", "work_dim", "offset0", "offset1", "offset2", "global0", "global1", "global2", "local0",
                    "local1", "local2", "driver_local", "work_groups", "arg_bytes", "error", "own_event")


def insert_launches(conn, run_id, process_id, launches, first_launch, first_dispatch):
    """launch_rows + dispatches of one process (a store.ingest._Launches) with executemany: the same rows as
    the native feed. Returns (untimed launches, dispatches written, device time per region: {region_id or
    None: summed end_dns of its timed launches})."""
    n = launches.n
    if n == 0:
        return 0, 0, {}
    Kr, k_ids, Q, q_ids, q_dev, regions = launches.tables
    L, T, has = _records(launches)
    kidx = asof(Kr["kernel"], Kr["seq"], L["kernel"], L["seq"])
    qidx = asof(Q["queue"], Q["seq"], L["queue"], L["seq"])
    cols = _launch_columns(L, T, has, kidx, k_ids, launches.k_names, qidx, q_ids, q_dev, regions,
                           launches.times_offsets == C.CLT_NO_TIMES_PENDING_EXIT)
    # a dispatch is everything about a launch but its times, thread and region: dedupe, first seen first
    i64 = lambda a: np.asarray(a).astype(np.int64)  # noqa: E731
    key = np.column_stack([kidx, qidx, cols["api"][0], i64(L["work_dim"]), i64(L["offset"]), i64(L["global"]),
                           i64(L["local"]), cols["driver_local"][0], i64(L["arg_bytes"]), cols["error"][0],
                           cols["own_event"][0]])
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    reps = np.sort(first)
    dispatch = first_dispatch + rank[inverse.reshape(-1)]
    dcols = {c: _take(cols[c], reps) for c in DISPATCH_COLUMNS[3:]}
    dcols["dispatch_id"] = (first_dispatch + np.arange(len(reps)), None)
    sql = "INSERT INTO dispatches (%s) VALUES (?, %d, %d, %s)" % (
        ", ".join(DISPATCH_COLUMNS), int(run_id), int(process_id), ", ".join("?" * (len(DISPATCH_COLUMNS) - 3)))
    names = ["dispatch_id"] + list(DISPATCH_COLUMNS[3:])
    conn.executemany(sql, zip(*[_pylist(dcols[c]) for c in names]))

    ok = cols["times_status"][0] == C.CLT_STATUS_OK
    q, sub, st, en = (cols[c][0] for c in ("queued_ns", "submit_ns", "start_ns", "end_ns"))
    rows = {"launch_id": (first_launch + np.arange(n), None), "dispatch_id": (dispatch, None),
            "seq": cols["seq"], "tid": cols["tid"], "region_id": cols["region_id"],
            "status": (cols["times_status"][0], None), "enqueue_ns": cols["host_enqueue_ns"],
            "return_dns": (cols["host_return_ns"][0] - cols["host_enqueue_ns"][0], None),
            "queued_ns": (q, ~ok), "submit_dns": (sub - q, ~ok), "start_dns": (st - sub, ~ok),
            "end_dns": (en - st, ~ok)}
    names = [c for c in ROW_COLUMNS if c != "process_id"]
    sql = "INSERT INTO launch_rows (process_id, %s) VALUES (%d, %s)" % (
        ", ".join(names), int(process_id), ", ".join("?" * len(names)))
    for s in range(0, n, BATCH):
        e = min(n, s + BATCH)
        conn.executemany(sql, zip(*[_pylist(rows[c], s, e) for c in names]))
    return int(np.count_nonzero(~ok)), len(reps), region_sums(cols["region_id"][0][ok], rows["end_dns"][0][ok])


def region_sums(region, duration):
    """{region_id, or None outside every region (region < 0): summed duration} of timed launches (int64 sums,
    as SQLite's SUM and the C feed hold them)."""
    if not len(region):
        return {}
    ids, inverse = np.unique(region, return_inverse=True)
    sums = np.zeros(len(ids), np.int64)
    np.add.at(sums, inverse.reshape(-1), duration.astype(np.int64))
    return {(None if r < 0 else r): v for r, v in zip(ids.tolist(), sums.tolist())}


def _take(col, idx):
    return (col[0][idx], None if col[1] is None else col[1][idx]) + tuple(col[2:])


def _pylist(col, s=0, e=None):
    values, null = col[0][s:e], None if col[1] is None else col[1][s:e]
    if len(col) > 2:  # text: codes into a list of strings
        table = np.array(list(col[2]) + [None], dtype=object)
        codes = np.where(values < 0, len(col[2]), values)
        o = table[codes]
        if null is not None:
            o[null] = None
        return o.tolist()
    if null is None or not null.any():
        return values.tolist()
    o = values.astype(object)
    o[null] = None
    return o.tolist()


def _launch_columns(L, T, has, kidx, k_ids, k_names, qidx, q_ids, q_dev, regions, pending=None):
    """Every launches column as (numpy values, null mask or None)."""
    n = len(L)
    i64 = lambda a: np.asarray(a).astype(np.int64)  # noqa: E731  (uint64 wraps: SQLite has no unsigned)
    seq = L["seq"]
    flags = i64(L["flags"])
    error = i64(L["error"])
    wd = i64(L["work_dim"])
    used = np.arange(3)[None, :] < np.clip(wd, 0, 3)[:, None]
    driver_local = (flags & K.CLT_LAUNCH_LOCAL_NULL) != 0
    g, lo, off = i64(L["global"]), i64(L["local"]), i64(L["offset"])
    local_known = ~driver_local & np.all((lo > 0) | ~used, axis=1)
    with np.errstate(over="ignore"):
        per_dim = np.where(used, -(-g // np.where(lo > 0, lo, 1)), 1)
        work_groups = np.prod(per_dim, axis=1)
    cols = {
        "seq": (i64(seq), None), "tid": (i64(L["tid"]), None), "work_dim": (wd, None),
        "driver_local": (driver_local.astype(np.int64), None),
        "work_groups": (work_groups, ~local_known | (wd < 1)),
        "arg_bytes": (i64(L["arg_bytes"]), L["arg_bytes"] == 0),
        "host_enqueue_ns": (i64(L["t_enqueue_ns"]), None), "host_return_ns": (i64(L["t_return_ns"]), None),
        "error": (error, None), "own_event": (((flags & K.CLT_LAUNCH_OWN_EVENT) != 0).astype(np.int64), None),
        "api": (np.clip((flags >> 8) & 0xFF, 0, C.CLT_API_UNKNOWN), None, API_NAMES),
    }
    for d in range(3):
        cols[f"offset{d}"] = (off[:, d], ~used[:, d])
        cols[f"global{d}"] = (g[:, d], ~used[:, d])
        cols[f"local{d}"] = (lo[:, d], ~used[:, d] | driver_local)
    # kernels / queues / devices
    k_ok = kidx >= 0
    kk = np.maximum(kidx, 0)
    cols["kernel_id"] = (k_ids[kk] if len(k_ids) else np.zeros(n, np.int64), ~k_ok)
    cols["kernel_name"] = (np.where(k_ok, kidx, -1), None, list(k_names))
    q_ok = qidx >= 0
    qq = np.maximum(qidx, 0)
    cols["queue_id"] = (q_ids[qq] if len(q_ids) else np.zeros(n, np.int64), ~q_ok)
    dev = q_dev[qq] if len(q_ids) else np.full(n, -1, np.int64)
    cols["device_id"] = (dev, ~q_ok | (dev < 0))
    # device times (T[i] is launch i's times record where has[i])
    reason = np.where(has, i64(T["reason"]), -1)
    status = np.full(n, C.CLT_STATUS_MISSING, np.int64)
    # the shim's reasons are stored as they are (codes 0..3 are CLT_TIMES_*), any other as unknown
    status[has] = np.where(reason[has] <= K.CLT_TIMES_PENDING_EXIT, reason[has], C.CLT_STATUS_UNKNOWN)
    if pending is not None:
        status[~has & pending] = C.CLT_STATUS_PENDING_AT_EXIT
    status[~has & ((flags & K.CLT_LAUNCH_UNTIMED) != 0)] = C.CLT_STATUS_UNTIMED
    # an enqueue that returned an error ran nothing: "failed" says more than "untimed"
    status[~has & (error != 0)] = C.CLT_STATUS_FAILED
    ok = status == C.CLT_STATUS_OK
    for c in ("queued_ns", "submit_ns", "start_ns", "end_ns"):
        cols[c] = (i64(T[c]), ~ok)
    cols["duration_ns"] = (cols["end_ns"][0] - cols["start_ns"][0], ~ok)
    cols["times_status"] = (status, None, STATUS_NAMES)
    # innermost region open on the launch's thread
    region = np.full(n, -1, np.int64)
    tids = cols["tid"][0]
    for tid, (mseq, mid) in regions.items():
        sel = np.flatnonzero(tids == tid)
        pos = np.searchsorted(mseq, seq[sel]) - 1
        region[sel] = np.where(pos >= 0, mid[np.maximum(pos, 0)], -1)
    cols["region_id"] = (region, region < 0)
    return cols
