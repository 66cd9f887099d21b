"""The launch ingest and narrow column scans through libcltrace_store.so (native/ingest_*.c).

The C code works on the sqlite3 handle of the caller's own Python connection, so
rows it inserts belong to the caller's transaction (or savepoint) and roll back
with it: there is no second connection and no second transaction to keep in step.
The handle is the first field after PyObject_HEAD of CPython's
pysqlite_Connection (3.8 .. 3.13); it is used only after checking that the
connection it names is the one Python sees (file name, transaction state,
change counter). Anything unexpected -- no library, another Python, a failed
check, CLTRACE_NATIVE_STORE=0 -- means `available()` is False and callers use
their pure-Python path.
"""
import ctypes
import os
import sqlite3
import sys
import threading
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..native import NATIVE_DIR
from ..options import env_on
from .abi import CDEF
from .connection import connect_readonly

LIB = "libcltrace_store.so"    # its functions and clt_launch_src: native/cltrace_store.h (abi.CDEF)
_state: dict = {}


def _python_links_shared_sqlite() -> bool:
    """Python's _sqlite3 uses the shared libsqlite3 (already mapped, since sqlite3 is imported), so our
    library binds to that same instance. A statically linked sqlite (conda, python.org builds) would be
    another copy whose handles our code must never touch."""
    try:
        with open("/proc/self/maps") as f:
            return "libsqlite3.so" in f.read()
    except OSError:
        return False


def _lib():
    if "lib" not in _state:
        _state["lib"] = None
        if env_on("CLTRACE_NATIVE_STORE") and (3, 8) <= sys.version_info[:2] <= (3, 13) \
                and sys.implementation.name == "cpython" and _python_links_shared_sqlite():
            path = os.path.join(NATIVE_DIR, LIB)
            if os.path.exists(path):
                try:
                    import cffi
                    ffi = cffi.FFI()
                    ffi.cdef(CDEF + "const char *sqlite3_libversion(void);")  # the one declaration
                    lib = ffi.dlopen(path)
                    if ffi.string(lib.sqlite3_libversion()).decode() == sqlite3.sqlite_version:
                        _state["ffi"], _state["lib"] = ffi, lib
                except (ImportError, OSError, Exception):  # noqa: BLE001  (any failure: use Python)
                    _state["lib"] = None
    return _state["lib"]


def _main_file(conn) -> str:
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return file or ""
    return ""


def handle(conn: sqlite3.Connection):
    """The connection's sqlite3* (a cffi pointer), or None when it cannot be had safely."""
    lib = _lib()
    if lib is None or type(conn) is not sqlite3.Connection and not isinstance(conn, sqlite3.Connection):
        return None
    ffi = _state["ffi"]
    addr = ctypes.c_void_p.from_address(id(conn) + object.__basicsize__).value
    if not addr:
        return None
    filename = _main_file(conn)
    if not filename:  # in-memory or temporary: nothing to compare with, stay safe
        return None
    db = ffi.cast("sqlite3 *", addr)
    if not lib.clt_db_check(db, filename.encode(), 0 if conn.in_transaction else 1, conn.total_changes):
        return None
    return db


def available(conn) -> bool:
    try:
        return handle(conn) is not None
    except (sqlite3.Error, ValueError, TypeError):
        return False


def ingest_launches(conn, launches, run_id: int, process_id: int, first_launch_id, first_dispatch_id: int):
    """Write one process's launches (store.ingest._Launches) as launch_rows + dispatches through the
    native feed, in the caller's transaction. Returns (untimed launches, dispatches written, device time per
    region: {region_id or None: summed end_dns of its timed launches}, see store.ingest.region_device_ns)."""
    if launches.n == 0:
        return 0, 0, {}
    lib, ffi = _lib(), _state["ffi"]
    db = handle(conn)
    keep = []

    def ptr(ctype, a, dtype):
        a = np.ascontiguousarray(a, dtype=dtype)
        keep.append(a)
        return ffi.cast(ctype, a.ctypes.data)

    src = ffi.new("clt_launch_src *")
    words = launches.cap.words
    src.data = ffi.cast("const uint8_t *", words.ctypes.data)
    src.size = words.nbytes
    src.n = launches.n
    src.launch_off = ptr("const int64_t *", launches.offsets, np.int64)
    src.times_off = ptr("const int64_t *", launches.times_offsets, np.int64)
    kh, ks, kid, kname = launches.kernels
    src.nk, src.k_handle, src.k_seq = len(kh), ptr("const uint64_t *", kh, np.uint64), \
        ptr("const uint64_t *", ks, np.uint64)
    src.k_id, src.k_name = ptr("const int64_t *", kid, np.int64), ptr("const int64_t *", kname, np.int64)
    enc = [ffi.new("char[]", (s or "").encode()) if s is not None else ffi.NULL for s in launches.k_names]
    names = ffi.new("const char *[]", max(1, len(enc)))
    for i, e in enumerate(enc):
        names[i] = e
    keep.append((enc, names))
    src.nnames, src.names = len(enc), names
    qh, qs, qid, qdev = launches.queues
    src.nq, src.q_handle, src.q_seq = len(qh), ptr("const uint64_t *", qh, np.uint64), \
        ptr("const uint64_t *", qs, np.uint64)
    src.q_id, src.q_dev = ptr("const int64_t *", qid, np.int64), ptr("const int64_t *", qdev, np.int64)
    rt, rs, rid = launches.regions
    src.nr, src.r_tid = len(rt), ptr("const int64_t *", rt, np.int64)
    src.r_seq, src.r_id = ptr("const uint64_t *", rs, np.uint64), ptr("const int64_t *", rid, np.int64)
    r_sum, r_timed = np.zeros(max(1, len(rt)), np.int64), np.zeros(max(1, len(rt)), np.int64)
    keep += [r_sum, r_timed]
    src.r_sum_ns, src.r_timed = ffi.cast("int64_t *", r_sum.ctypes.data), ffi.cast("int64_t *", r_timed.ctypes.data)
    src.run_id, src.process_id = int(run_id), int(process_id)
    src.first_launch_id, src.first_dispatch_id = int(first_launch_id), int(first_dispatch_id)
    err = ffi.new("char[]", 512)
    rc = lib.clt_ingest_launches(db, src, err, 512)
    if rc != 0:
        _raise(rc, ffi.string(err).decode(errors="replace"))
    sums: dict = {}
    if src.none_timed:
        sums[None] = int(src.none_sum_ns)
    for i in np.flatnonzero(r_timed[:len(rt)]).tolist():    # marks of regions with timed launches
        region = int(rid[i])
        sums[region] = _wrap64(sums.get(region, 0) + int(r_sum[i]))
    return int(src.untimed), int(src.dispatches), sums


def _wrap64(v: int) -> int:
    """v as a signed 64-bit integer (how the C sums and SQLite's integers hold it)."""
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


def _raise(rc, msg):
    if rc in (5, 6):  # SQLITE_BUSY / SQLITE_LOCKED
        raise sqlite3.OperationalError(msg)
    if rc == 19:      # SQLITE_CONSTRAINT
        raise sqlite3.IntegrityError(msg)
    raise sqlite3.DatabaseError(msg)


class ScanResult:
    """Columns of a scan: ints[name] = (int64 values, bool null mask), texts[name] = (int64 codes, strings),
    group = int32 group code per row with keys (ngroups x nkey int64) and keynull, when key columns were given."""

    def __init__(self):
        self.n = 0
        self.ints: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        self.texts: Dict[str, Tuple[np.ndarray, List[str]]] = {}
        self.group: Optional[np.ndarray] = None
        self.keys = np.zeros((0, 0), np.int64)
        self.keynull = np.zeros((0, 0), bool)
        self.strings: List[str] = []


def scan(conn, sql: str, kinds: str, names: Sequence[str], cap: int, params: Sequence[int] = ()) -> ScanResult:
    """Run `sql` and read its rows into numpy arrays: kinds per column 'i' int64, 't' text -> code,
    'k' group key part. `cap`: an upper bound on the row count (arrays are allocated lazily by the OS)."""
    lib, ffi = _lib(), _state["ffi"]
    db = handle(conn)
    if db is None:
        raise RuntimeError("native scan unavailable")
    cap = max(int(cap), 0)
    outs = ffi.new("void *[]", max(1, len(kinds)))
    nulls = ffi.new("uint8_t *[]", max(1, len(kinds)))
    arrays: dict[str, list] = {}
    for i, (k, name) in enumerate(zip(kinds, names)):
        if k in "it":
            v = np.empty(cap, np.int64)
            arrays[name] = [k, v, None]
            outs[i] = ffi.cast("void *", v.ctypes.data)
            if k == "i":
                m = np.empty(cap, np.uint8)
                arrays[name][2] = m
                nulls[i] = ffi.cast("uint8_t *", m.ctypes.data)
    group = np.empty(cap, np.int32) if "k" in kinds else None
    p = ffi.new("int64_t[]", [int(x) for x in params] or [0])
    sc = lib.clt_scan_new()
    try:
        n = lib.clt_scan_run(sc, db, sql.encode(), p, len(params), kinds.encode(), outs, nulls,
                             ffi.cast("int32_t *", group.ctypes.data) if group is not None else ffi.NULL, cap)
        if n == -2:
            raise RuntimeError("scan: more rows than the given bound")
        if n < 0:
            raise sqlite3.DatabaseError(ffi.string(lib.clt_scan_error(sc)).decode(errors="replace"))
        res = ScanResult()
        res.n = int(n)
        res.strings = [ffi.string(lib.clt_scan_string(sc, i)).decode("utf-8", errors="replace")
                       for i in range(lib.clt_scan_nstrings(sc))]
        # the cap-sized buffers are touched only for the n rows; copy out when that saves address space
        cut = (lambda a: a[:n]) if n >= cap * 0.9 else (lambda a: a[:n].copy())
        for name in list(arrays):
            k, v, m = arrays.pop(name)
            if k == "i":
                res.ints[name] = (cut(v), m[:n].view(bool))
            else:
                res.texts[name] = (cut(v), res.strings)
        if group is not None:
            res.group = cut(group)
            nk = kinds.count("k")
            ng = lib.clt_scan_ngroups(sc)
            if ng:
                res.keys = np.frombuffer(ffi.buffer(lib.clt_scan_keys(sc), ng * nk * 8), np.int64).reshape(
                    ng, nk).copy()
                res.keynull = np.frombuffer(ffi.buffer(lib.clt_scan_keynull(sc), ng * nk), np.uint8).reshape(
                    ng, nk).astype(bool)
            else:
                res.keys, res.keynull = np.zeros((0, nk), np.int64), np.zeros((0, nk), bool)
        return res
    finally:
        lib.clt_scan_free(sc)


class Unordered(RuntimeError):
    """collect(): the scan did not give the rows in rowid order (the caller uses an ordered scan)."""


def _collect_into(db, table, columns, where, params, values, nulls, offset, cap) -> int:
    """One collector scan writing rows offset.. of `values`/`nulls` (at most `cap` rows); the row count."""
    lib, ffi = _lib(), _state["ffi"]
    sql = f"SELECT clt_collect(?, rowid, {', '.join(columns)}) FROM {table}" + (f" WHERE {where}" if where else "")
    outs = ffi.new("int64_t *[]", [ffi.cast("int64_t *", v.ctypes.data + 8 * offset) for v in values] or [ffi.NULL])
    nptr = ffi.new("uint8_t *[]", [ffi.cast("uint8_t *", m.ctypes.data + offset) for m in nulls] or [ffi.NULL])
    p = ffi.new("int64_t[]", [int(x) for x in params] or [0])
    err = ffi.new("char[]", 512)
    n = lib.clt_collect_run(db, sql.encode(), p, len(params), len(columns), outs, nptr, cap, err, 512)
    if n == -2:
        raise RuntimeError("collect: more rows than the given bound")
    if n == -3:
        raise Unordered(table)
    if n < 0:
        raise sqlite3.DatabaseError(ffi.string(err).decode(errors="replace") if n == -1 else
                                    f"a value in {table} is not an integer")
    return int(n)


def _result(columns, values, nulls, n, cap):
    # the cap-sized buffers are touched only for the n rows; copy out when that saves address space
    cut = (lambda a: a[:n]) if n >= cap * 0.9 else (lambda a: a[:n].copy())
    return {c: (cut(v), cut(m).view(bool)) for c, v, m in zip(columns, values, nulls)}


def collect(conn, table: str, columns: Sequence[str], where: str = "", params: Sequence[int] = (),
            cap: int = 0) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Integer columns of `table` (rows matching `where`, in rowid order) as {name: (int64 values, 0 where
    NULL; bool NULL mask)}, read by an aggregate inside SQLite's loop (native/column_collect.c). `cap`: an
    upper bound on the row count. Raises Unordered when the rows did not come in rowid order."""
    db = handle(conn)
    if db is None:
        raise RuntimeError("native scan unavailable")
    cap = max(int(cap), 0)
    values = [np.empty(cap, np.int64) for _ in columns]
    nulls = [np.empty(cap, np.uint8) for _ in columns]
    n = _collect_into(db, table, columns, where, params, values, nulls, 0, cap)
    return _result(columns, values, nulls, n, cap)


PARALLEL_MIN_ROWS = 1_000_000


def chunk_ranges(ranges: Sequence[Tuple[int, int]], size: int) -> List[List[Tuple[int, int]]]:
    """Inclusive launch-id ranges cut into consecutive parts of at most `size` ids each."""
    out, cur, left = [], [], size
    for a, b in ranges:
        a, b = int(a), int(b)
        while a <= b:
            take = min(b - a + 1, left)
            cur.append((a, a + take - 1))
            a, left = a + take, left - take
            if left == 0:
                out.append(cur)
                cur, left = [], size
    if cur:
        out.append(cur)
    return out


def _split(ranges, parts):
    """`ranges` (inclusive rowid ranges, ascending) cut into `parts` lists of about equal rowid span."""
    total = sum(b - a + 1 for a, b in ranges)
    return chunk_ranges(ranges, max(1, -(-total // parts)))


def collect_ranges(conn, path: str, table: str, columns: Sequence[str], ranges: Sequence[Tuple[int, int]],
                   workers: int = 0) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """collect() of the rows whose rowid lies in `ranges`, split over `workers` threads (default: the CPUs
    this process may use, at most 4), each on its own read-only connection to `path` but the first, which
    uses `conn`. Each part writes at its own offset of the shared arrays (a part has at most its rowid span
    of rows); gaps are closed afterwards. One thread when the rows are few or a connection cannot open."""
    ranges = [(int(a), int(b)) for a, b in ranges if int(b) >= int(a)]
    span = sum(b - a + 1 for a, b in ranges)
    if not workers:
        workers = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    workers = max(1, min(workers, span // (PARALLEL_MIN_ROWS // 2) or 1))
    db = handle(conn)
    if db is None:
        raise RuntimeError("native scan unavailable")
    if not span:
        return {c: (np.zeros(0, np.int64), np.zeros(0, bool)) for c in columns}
    values = [np.empty(span, np.int64) for _ in columns]
    nulls = [np.empty(span, np.uint8) for _ in columns]
    parts = _split(ranges, workers)
    extra = []
    try:
        for _ in parts[1:]:
            c = connect_readonly(path, check_same_thread=False)
            extra.append(c)
            if handle(c) is None:
                raise sqlite3.OperationalError("no handle")
    except sqlite3.Error:
        for c in extra:
            c.close()
        extra, parts = [], [ranges]
    offsets = np.concatenate(([0], np.cumsum([sum(b - a + 1 for a, b in p) for p in parts]))).tolist()
    counts = [0] * len(parts)
    errors = []

    def run(i, d):
        where = " OR ".join("rowid BETWEEN ? AND ?" for _ in parts[i])
        try:
            counts[i] = _collect_into(d, table, columns, where, [v for r in parts[i] for v in r], values, nulls,
                                      offsets[i], offsets[i + 1] - offsets[i])
        except Exception as e:  # noqa: BLE001  (re-raised in the calling thread)
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i + 1, handle(c))) for i, c in enumerate(extra)]
    try:
        for t in threads:
            t.start()
        run(0, db)
    finally:
        for t in threads:
            t.join()
        for c in extra:
            c.close()
    if errors:
        raise errors[0]
    n = counts[0]
    for i in range(1, len(parts)):      # close the gaps a part left below its rowid span
        if counts[i] and offsets[i] != n:
            for a in values + nulls:
                a[n:n + counts[i]] = a[offsets[i]:offsets[i] + counts[i]]
        n += counts[i]
    return _result(columns, values, nulls, n, span)
