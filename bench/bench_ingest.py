"""Ingestion speed: write a synthetic capture of N launches, ingest it, print launches/s.

    python bench/bench_ingest.py [--launches 1000000] [--big] [--threads 2] [--keep DIR] [--python] [--floor]

--big: 10,000,000 launches. --python: the pure-Python executemany path (CLTRACE_NATIVE_STORE=0) instead of
the native bulk insert (libcltrace_store.so on the same connection and transaction).

--floor: also measure what SQLite alone needs to store the same rows, in the same run: copy the ingested
launch_rows into an empty table of the same shape in the same trace (INSERT ... SELECT, then COMMIT: the
WAL write and checkpoint included), i.e. no capture reading, no decoding, no dispatch keys. The ingest rate
cannot exceed this copy rate by much (reading the source rows costs the copy a little); see bench/README.md.
"""
import argparse
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "tests", "unit")]

from capture_factory import bulk_capture  # noqa: E402

from cltrace.capture import native_scan, open_capture  # noqa: E402
from cltrace.store.db import create_db, insert_run  # noqa: E402
from cltrace.store.ingest import ingest_capture_dir  # noqa: E402


def build(directory, n, threads, small=True):
    b, handles = bulk_capture()
    per = n // threads
    for t in range(threads):
        b.region_begin(t + 1, f"layer{t}", f"channels={64 + t}", tid=2000 + t)
        b.bulk_launches(per, 0x10, handles, tid=2000 + t, small=small)
        b.region_end(t + 1, tid=2000 + t)
    b.exit_note()
    return b.write(os.path.join(directory, "1000.clt"))


def copy_floor(conn):
    """(rows, seconds) for SQLite to store the trace's launch_rows again: INSERT ... SELECT into an empty
    table of the same definition, plus the COMMIT (WAL write + checkpoint). The copy is dropped after."""
    ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'launch_rows'").fetchone()[0]
    conn.execute(ddl.replace("launch_rows", "launch_rows_floor", 1))
    conn.commit()
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    # (the WHERE keeps SQLite from copying the stored records verbatim, its "xfer" optimisation: every row is
    # decoded and encoded again, as an insert of new rows is)
    rows = conn.execute("INSERT INTO launch_rows_floor SELECT * FROM launch_rows WHERE status >= 0").rowcount
    conn.commit()
    seconds = time.perf_counter() - t
    conn.execute("DROP TABLE launch_rows_floor")
    conn.commit()
    return rows, seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", help="directory to keep the capture and trace in")
    ap.add_argument("--big", action="store_true", help="10M launches")
    ap.add_argument("--python", action="store_true", help="pure-Python insert path")
    ap.add_argument("--records", choices=("small", "wide"), default="small",
                    help="launch records as the shim writes most of them (small, capture format 2) or all "
                         "in the wide clt_launch (format 1's only kind)")
    ap.add_argument("--floor", action="store_true",
                    help="also time SQLite copying the same launch_rows table-to-table (the storage floor)")
    args = ap.parse_args()
    if args.big:
        args.launches = 10_000_000
    if args.python:
        os.environ["CLTRACE_NATIVE_STORE"] = "0"
    d = args.keep or tempfile.mkdtemp(prefix="cltrace-bench-")
    os.makedirs(d, exist_ok=True)
    path = build(d, args.launches, args.threads, small=args.records == "small")
    print(f"capture: {path} ({os.path.getsize(path) / 1e6:.0f} MB, {args.records} launch records)")
    t = time.perf_counter()
    with open_capture(path) as cap:
        records = cap.records
    read_s = time.perf_counter() - t
    db = os.path.join(d, "bench.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    conn = create_db(db)
    run_id = insert_run(conn, command="bench", status="ok")
    conn.commit()
    stats = ingest_capture_dir(conn, run_id, d)
    floor = copy_floor(conn) if args.floor else None
    conn.close()
    print(f"open + index the capture only: {records:,} records in {read_s:.3f} s "
          f"({'C walk' if native_scan.available() else 'numpy scan'})")
    from cltrace.store import fast
    path_name = "native" if fast._lib() is not None else "python"
    print(f"ingested {stats.launches:,} launches in {stats.seconds:.2f} s ({path_name} insert): "
          f"{stats.launches_per_s:,.0f} launches/s (goal 1,000,000/s: {stats.launches_per_s / 1e6:.2f}x of it)")
    if floor is not None:
        rows, copy_s = floor
        print(f"SQLite floor: copying the same {rows:,} launch_rows table-to-table (insert + commit) took "
              f"{copy_s:.2f} s: {rows / copy_s:,.0f} rows/s; the ingest ran at "
              f"{stats.launches_per_s / (rows / copy_s):.0%} of it")
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"trace: {os.path.getsize(db) / args.launches:.1f} bytes/launch; peak RSS of this process "
          f"{peak:,.0f} MB (the capture is mmap'd: its pages count while read)")


if __name__ == "__main__":
    main()
