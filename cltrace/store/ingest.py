"""Capture files of one run -> rows of the trace database, in one transaction.

Launches go to launch_rows + dispatches (schema 2): through the native feed of
libcltrace_store.so, which reads the records in place, or the reference Python path
(ingest_py.py: numpy columns, executemany), which writes the same rows. Handles (kernel, queue, device) are resolved
"as of" the launch's seq: cl_* pointers get reused after release, so a launch
belongs to the latest record of that handle written before it.
"""
import json
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from ..capture import layer_notes
from ..capture.format import K
from ..capture.reader import LAUNCH_TYPES, open_capture
from ..capture.stopped import exited, stop_warning
from ..errors import CaptureError, NewerCaptureFormat
from . import fast, ingest_py
from .abi import C
from .asof import asof
from .db import transaction
from .queries import latency_from_sums

PROGRAM_KIND = {K.CLT_BUILD: "build", K.CLT_COMPILE: "compile", K.CLT_LINK: "link", K.CLT_CREATE: "create"}
NOTE_KIND = {K.CLT_NOTE_EXT_LOOKUP: "ext-lookup", K.CLT_NOTE_DROPPED: "dropped", K.CLT_NOTE_INFO: "info",
             K.CLT_NOTE_EXIT: "pending-at-exit"}


@dataclass
class IngestStats:
    files: int = 0
    processes: int = 0
    launches: int = 0
    untimed_launches: int = 0
    kernels: int = 0
    regions: int = 0
    records: int = 0
    truncated_bytes: int = 0
    damaged_files: int = 0       # capture files cut short or damaged (each has a warning and a `truncated` note)
    stopped_files: int = 0       # capture files the shim stopped writing early (warning and `truncated` note)
    seconds: float = 0.0
    warnings: List[str] = field(default_factory=list)
    # device time of the run's timed launches (launch_rows.end_dns) summed per region_id, None for those outside
    # every region: what queries.run_latency_ms would read back, gathered while the rows are written
    region_device_ns: Dict[Optional[int], int] = field(default_factory=dict)

    def latency_ms(self) -> Optional[float]:
        """The run's latency as queries.run_latency_ms gives it (median per-region device time, or the total
        device time without regions), from what this ingest wrote: no second pass over the run's launches."""
        return latency_from_sums(self.region_device_ns)

    @property
    def launches_per_s(self) -> float:
        return self.launches / self.seconds if self.seconds > 0 else 0.0

    def summary_line(self, output, child=None) -> str:
        s = (f"{self.launches} kernel launches from {self.processes} "
             f"process{'es' if self.processes != 1 else ''} written to {output}")
        if self.untimed_launches:
            s += f" ({self.untimed_launches} without device times)"
        if self.damaged_files:
            s += (f"; {self.damaged_files} capture file{'s' if self.damaged_files != 1 else ''} truncated or "
                  f"damaged, {self.truncated_bytes} bytes of capture could not be read")
        if self.stopped_files:
            s += (f"; recording stopped early in {self.stopped_files} "
                  f"process{'es' if self.stopped_files != 1 else ''} (capture truncated)")
        return s


def capture_files(capture):
    """The capture files to ingest: a directory's regular, non-hidden files, a file, or a list of files."""
    if isinstance(capture, (list, tuple)):
        return [os.fspath(p) for p in capture], False
    capture = os.fspath(capture)
    if os.path.isdir(capture):
        names = sorted(n for n in os.listdir(capture) if not n.startswith("."))
        paths = [os.path.join(capture, n) for n in names]
        return [p for p in paths if os.path.isfile(p)], True
    return [capture], False


def ingest_capture_dir(db, run_id: int, capture_dir) -> IngestStats:
    """Add every capture file of one run (a directory, one file or a list) to the trace `db`.

    `db` is a sqlite3 connection from store.db (or a path). All rows land in one
    transaction, or in a savepoint of the caller's open transaction: on any
    exception nothing of this run's capture remains.
    """
    from .db import open_db
    own = not hasattr(db, "execute")
    conn = open_db(db, write=True) if own else db
    t0 = time.perf_counter()
    stats = IngestStats()
    try:
        paths, from_dir = capture_files(capture_dir)
        caps: list = []             # Capture, or the CaptureError of a file that could not be opened
        try:
            for p in paths:
                try:
                    caps.append(open_capture(p))
                except CaptureError as e:
                    if not from_dir or isinstance(e, NewerCaptureFormat):
                        raise
                    caps.append(e)
            # one transaction for everything, so a failure leaves no partial run
            with transaction(conn):
                ids = _Ids(conn)
                if not paths:
                    _note(conn, run_id, None, "no-capture", None, "no capture files were written")
                for cap in sorted(caps, key=_order):
                    if isinstance(cap, CaptureError):
                        _note(conn, run_id, None, "unreadable-capture", None, str(cap))
                        stats.warnings.append(str(cap))
                        continue
                    _ingest_one(conn, run_id, cap, ids, stats)
                if from_dir:
                    ingest_layer_notes(conn, run_id, capture_dir, stats)
        finally:
            for cap in caps:
                if not isinstance(cap, CaptureError):
                    cap.close()
        if own:
            conn.commit()
    finally:
        if own:
            conn.close()
    stats.seconds = time.perf_counter() - t0
    return stats


def ingest_layer_notes(conn, run_id, capture_dir, stats):
    """The `layer` notes that layers below cltrace left in the run's capture directory (capture/layer_notes.py)."""
    notes, problems = layer_notes.read_notes(os.fspath(capture_dir))
    for obj in notes:
        jobs = obj.get("jobs")
        _note(conn, run_id, None, "layer", jobs if isinstance(jobs, int) and not isinstance(jobs, bool) else None,
              json.dumps(obj, sort_keys=True))
    for p in problems:
        _note(conn, run_id, None, "unreadable-layer-note", None, p)
        stats.warnings.append(p)


def _order(cap):
    if isinstance(cap, CaptureError):
        return (1, 0, 0, str(cap))
    return (0, cap.header["start_mono_ns"], cap.header["pid"], cap.path)


class _Ids:
    """Explicit primary keys, allocated in Python so rows can reference each other before insertion."""
    TABLES = {"processes": "process_id", "devices": "device_id", "queues": "queue_id", "programs": "program_id",
              "kernels": "kernel_id", "regions": "region_id", "dispatches": "dispatch_id",
              "launch_rows": "launch_id"}

    def __init__(self, conn):
        # one statement for all tables: this runs once per ingest, so once per run of a sweep
        tops = conn.execute("SELECT " + ", ".join(f"(SELECT MAX({c}) FROM {t})" for t, c in self.TABLES.items())
                            ).fetchone()
        self.next = {t: (top or 0) + 1 for t, top in zip(self.TABLES, tops)}

    def take(self, table, n):
        first = self.next[table]
        self.next[table] += n
        return first + np.arange(n, dtype=np.int64)


def _note(conn, run_id, process_id, kind, value, message):
    conn.execute("INSERT INTO notes (run_id, process_id, kind, value, message) VALUES (?, ?, ?, ?, ?)",
                 (run_id, process_id, kind, value, message))


def _i(v):
    return int(np.int64(np.uint64(v)).item()) if isinstance(v, np.unsignedinteger) else int(v)


def _nz(v):
    v = _i(v)
    return v if v != 0 else None


def _ingest_one(conn, run_id, cap, ids, stats):
    process_id = int(ids.take("processes", 1)[0])
    h = cap.header
    name = os.path.basename(cap.path)

    D, Ds = cap.fixed_with_strings(K.CLT_REC_DEVICE)
    dev_ids = ids.take("devices", len(D))
    levels = _device_levels(cap, D)
    conn.executemany(
        "INSERT INTO devices (device_id, run_id, process_id, handle, platform_name, name, vendor, driver_version,"
        " device_type, compute_units, max_clock_mhz, max_work_group_size, global_mem_bytes, opencl_version,"
        " opencl_c_version, non_uniform_wg, extensions) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(int(i), run_id, process_id, _i(r["device"]), s[3], s[0], s[1], s[2], _i(r["device_type"]),
          int(r["compute_units"]), int(r["max_clock_mhz"]), _i(r["max_work_group_size"]),
          _i(r["global_mem_size"])) + lv for i, r, s, lv in zip(dev_ids, D, Ds, levels)])

    Q = cap.fixed(K.CLT_REC_QUEUE)
    q_ids = ids.take("queues", len(Q))
    qd = asof(D["device"], D["seq"], Q["device"], Q["seq"], later_ok=True)
    q_dev = np.where(qd >= 0, dev_ids[np.maximum(qd, 0)] if len(D) else 0, -1)
    conn.executemany(
        "INSERT INTO queues (queue_id, run_id, process_id, handle, device_id, app_properties, used_properties,"
        " created_ns, error) VALUES (?,?,?,?,?,?,?,?,?)",
        [(int(i), run_id, process_id, _i(r["queue"]), int(d) if d >= 0 else None, _i(r["app_properties"]),
          _i(r["used_properties"]), _i(r["t_ns"]), int(r["error"])) for i, r, d in zip(q_ids, Q, q_dev)])

    P, Ps = cap.fixed_with_strings(K.CLT_REC_PROGRAM)
    conn.executemany(
        "INSERT INTO programs (program_id, run_id, process_id, handle, kind, options, start_ns, end_ns, build_ms,"
        " error, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(int(i), run_id, process_id, _i(r["program"]), PROGRAM_KIND.get(int(r["kind"]), f"kind-{int(r['kind'])}"),
          s[0], _i(r["t_start_ns"]), _i(r["t_end_ns"]), (int(r["t_end_ns"]) - int(r["t_start_ns"])) / 1e6,
          int(r["error"]), _i(r["seq"])) for i, r, s in zip(ids.take("programs", len(P)), P, Ps)])

    Kr, Ks = cap.fixed_with_strings(K.CLT_REC_KERNEL)
    k_ids = ids.take("kernels", len(Kr))
    conn.executemany(
        "INSERT INTO kernels (kernel_id, run_id, process_id, handle, program_handle, name, attributes,"
        " work_group_size, preferred_multiple, num_args, seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [(int(i), run_id, process_id, _i(r["kernel"]), _i(r["program"]), s[0], s[1] or None,
          _nz(r["work_group_size"]), _nz(r["preferred_multiple"]), int(r["num_args"]), _i(r["seq"]))
         for i, r, s in zip(k_ids, Kr, Ks)])
    stats.kernels += len(Kr)

    regions = _regions(conn, run_id, process_id, cap, ids, stats)

    clean_exit = 0
    N, Ns = cap.fixed_with_strings(K.CLT_REC_NOTE)
    for r, s in zip(N, Ns):
        code, value = int(r["code"]), _i(r["value"])
        if code == K.CLT_NOTE_EXIT:
            clean_exit = 1
            if value == 0:
                continue
        _note(conn, run_id, process_id, NOTE_KIND.get(code, f"note-{code}"), value, s[0] or None)
    if exited(h):    # the exit flush ran, even if its note did not fit
        clean_exit = 1
    warning = cap.warning()
    if warning:  # the file was cut or damaged: what was read, what was lost (see Capture.warning)
        _note(conn, run_id, process_id, "truncated", cap.truncated_bytes, warning)
        stats.warnings.append(warning)
        stats.damaged_files += 1
    stop = stop_warning(cap)
    if stop:     # the shim stopped recording (full disk, ulimit -f, its file gone): a truncated capture
        _note(conn, run_id, process_id, "truncated", h.get("dropped", 0), stop)
        stats.warnings.append(stop)
        stats.stopped_files += 1

    # a clean exit with nothing lost: a launch without device times was still running when the program ended
    pending_at_exit = bool(clean_exit) and not warning and not stop
    launches = _Launches(cap, Kr, k_ids, [s[0] for s in Ks], Q, q_ids, q_dev, regions, pending_at_exit)
    first_launch = int(ids.take("launch_rows", launches.n)[0]) if launches.n else None
    first_dispatch = ids.next["dispatches"]
    untimed, ndisp, sums = _insert_launches(conn, run_id, process_id, launches, first_launch, first_dispatch)
    ids.take("dispatches", ndisp)
    for region, ns in sums.items():     # region ids are the run's own: another process adds to None only
        stats.region_device_ns[region] = stats.region_device_ns.get(region, 0) + ns

    P_ = cap.fixed_with_strings(K.CLT_REC_PROCESS)
    argv = json.dumps(list(P_[1][0][:int(P_[0][0]["argc"])])) if len(P_[0]) else None
    conn.execute(
        "INSERT INTO processes (process_id, run_id, pid, ppid, argv, start_ns, mode, capture_file, records,"
        " truncated_bytes, launches, untimed_launches, clean_exit, first_launch_id, last_launch_id)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (process_id, run_id, h["pid"], h["ppid"], argv, h["start_mono_ns"] or None, h["mode"] or None, name,
         cap.records, cap.truncated_bytes, launches.n, untimed, clean_exit, first_launch,
         first_launch + launches.n - 1 if launches.n else None))
    stats.files += 1
    stats.processes += 1
    stats.launches += launches.n
    stats.untimed_launches += untimed
    stats.records += cap.records
    stats.truncated_bytes += cap.truncated_bytes


def _device_levels(cap, D):
    """(opencl_version, opencl_c_version, non_uniform_wg, extensions) for each device record of D (sorted by
    seq): from the clt_device_cl record that follows it (format 4). A clt_device_cl describes the latest device
    record of its handle written before it; a query the driver refused, and every fact of a device described
    by an older shim, is None."""
    out = [(None, None, None, None)] * len(D)
    C, Cs = cap.fixed_with_strings(K.CLT_REC_DEVICE_CL)
    if not len(C) or not len(D):
        return out
    which = asof(D["device"], D["seq"], C["device"], C["seq"])
    for r, s, d in zip(C, Cs, which):
        if d < 0:
            continue
        failed = int(r["failed"])
        out[d] = (None if failed & K.CLT_DEVCL_NO_VERSION else s[0],
                  None if failed & K.CLT_DEVCL_NO_C_VERSION else s[1],
                  None if failed & K.CLT_DEVCL_NO_NON_UNIFORM else int(r["non_uniform_wg"] != 0),
                  None if failed & K.CLT_DEVCL_NO_EXTENSIONS else s[2])
    return out


def _regions(conn, run_id, process_id, cap, ids, stats):
    """Insert the process's regions; return {tid: (seqs, innermost region_id after each seq)}."""
    R, Rs = cap.fixed_with_strings(K.CLT_REC_REGION)
    open_, rows, stacks, marks = {}, [], {}, {}
    for r, s in zip(R, Rs):
        rid, tid, seq, t = _i(r["region_id"]), int(r["tid"]), _i(r["seq"]), _i(r["t_ns"])
        if int(r["kind"]) == K.CLT_REGION_BEGIN:
            if rid in open_:
                _note(conn, run_id, process_id, "region", rid, f"region {rid} begun twice; second begin ignored")
                continue
            row = [int(ids.take("regions", 1)[0]), run_id, process_id, tid, s[0], _tags(s[1]), t, None, seq, None]
            open_[rid] = row
            rows.append(row)
            stacks.setdefault(tid, []).append(row[0])
            marks.setdefault(tid, []).append((seq, row[0]))
        else:
            row = open_.pop(rid, None)
            if row is None:
                _note(conn, run_id, process_id, "region", rid, f"region {rid} ended but never begun")
                continue
            row[7], row[9] = t, seq
            stack = stacks[row[3]]
            stack.remove(row[0])
            marks[row[3]].append((seq, stack[-1] if stack else -1))
    conn.executemany("INSERT INTO regions (region_id, run_id, process_id, tid, name, tags, begin_ns, end_ns,"
                     " begin_seq, end_seq) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    stats.regions += len(rows)
    return {tid: (np.array([m[0] for m in ms], np.uint64), np.array([m[1] for m in ms], np.int64))
            for tid, ms in marks.items()}


def _tags(text):
    if not text:
        return None
    tags = {}
    for item in text.split(","):
        if item.strip():
            k, _, v = item.partition("=")
            tags[k.strip()] = v.strip()
    return json.dumps(tags) if tags else None


class _Launches:
    """One process's launch records in seq order, their times records, and the small handle tables they
    resolve against, in the shapes both insert paths take (the native one reads the records in place)."""

    def __init__(self, cap, Kr, k_ids, k_names, Q, q_ids, q_dev, regions, pending_at_exit=False):
        self.cap = cap
        self.offsets, seqs = cap.by_seq(LAUNCH_TYPES)
        self.n = len(self.offsets)
        self.tables = (Kr, k_ids, Q, q_ids, q_dev, regions)     # the reference path's view (ingest_py)
        self.k_names = k_names
        if not self.n:      # nothing to write (both insert paths return at once): no handle tables to sort
            self.times_offsets = np.zeros(0, np.int64)
            self.kernels = self.queues = self.regions = None
            return
        t_off, t_seq = cap.by_seq(K.CLT_REC_LAUNCH_TIMES)
        if len(t_seq):  # a repeated times record: the last one wins
            keep = np.ones(len(t_seq), bool)
            keep[:-1] = t_seq[1:] != t_seq[:-1]
            t_off, t_seq = t_off[keep], t_seq[keep]
        pos = np.minimum(np.searchsorted(t_seq, seqs), max(len(t_seq) - 1, 0))
        has = t_seq[pos] == seqs if len(t_seq) else np.zeros(self.n, bool)
        # no times record: after a clean exit with nothing lost, the launch was still running then (in the
        # pending ring, or waiting for its completion callback)
        self.times_offsets = np.where(has, t_off[pos] if len(t_seq) else C.CLT_NO_TIMES,
                                      C.CLT_NO_TIMES_PENDING_EXIT if pending_at_exit else C.CLT_NO_TIMES
                                      ).astype(np.int64)
        ko = np.lexsort((Kr["seq"], Kr["kernel"]))
        self.kernels = (Kr["kernel"][ko], Kr["seq"][ko], k_ids[ko], ko.astype(np.int64))
        qo = np.lexsort((Q["seq"], Q["queue"]))
        self.queues = (Q["queue"][qo], Q["seq"][qo], q_ids[qo], np.asarray(q_dev, np.int64)[qo])
        tids = sorted(regions)
        cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)  # noqa: E731
        self.regions = (cat([np.full(len(regions[t][0]), t) for t in tids], np.int64),
                        cat([regions[t][0] for t in tids], np.uint64), cat([regions[t][1] for t in tids], np.int64))


def _insert_launches(conn, run_id, process_id, launches, first_launch, first_dispatch):
    """launch_rows + dispatches of one process; returns (untimed launches, dispatches written, device time per
    region {region_id or None: summed end_dns of the timed launches})."""
    if launches.n == 0:
        return 0, 0, {}
    if fast.available(conn):
        return fast.ingest_launches(conn, launches, run_id, process_id, first_launch, first_dispatch)
    # no libcltrace_store.so (or CLTRACE_NATIVE_STORE=0): the reference path writes the same rows
    return ingest_py.insert_launches(conn, run_id, process_id, launches, first_launch, first_dispatch)
