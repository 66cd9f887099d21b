"""`cltrace report` on a big trace: time and peak RSS of the CLI as a subprocess.

    python bench/bench_report.py [--launches 10000000] [--regions] [--keep DIR] [--no-staircase]

Builds a synthetic single-run trace (capture factory -> ingest; 8 kernels, one queue; --regions puts the
launches into two tagged regions, which makes the staircase analysis read every launch), then runs
`cltrace report` on it and prints seconds and peak RSS against the goals (< 10 s, < 2 GB).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "unit")]

from capture_factory import bulk_capture  # noqa: E402

from cltrace.store.db import create_db, insert_run  # noqa: E402
from cltrace.store.ingest import ingest_capture_dir  # noqa: E402


def build_capture(path, n, regions):
    b, handles = bulk_capture()
    parts = 2 if regions else 1
    for t in range(parts):
        if regions:
            b.region_begin(t + 1, f"layer{t}", f"channels={64 + t}", tid=2000)
        b.bulk_launches(n // parts, 0x10, handles, tid=2000)
        if regions:
            b.region_end(t + 1, tid=2000)
    b.exit_note()
    return b.write(path)


def make_trace(d, n, regions):
    db = os.path.join(d, f"report-{n}{'-regions' if regions else ''}.db")
    if os.path.exists(db):
        return db
    cap_dir = os.path.join(d, "capture")
    os.makedirs(cap_dir, exist_ok=True)
    cap = build_capture(os.path.join(cap_dir, "1000.clt"), n, regions)
    conn = create_db(db + ".tmp")
    with conn:
        run_id = insert_run(conn, command="bench", status="ok")
        stats = ingest_capture_dir(conn, run_id, cap_dir)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    os.remove(cap)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + ".tmp" + suffix):
            os.remove(db + ".tmp" + suffix)
    os.rename(db + ".tmp", db)
    print(f"trace: {db} ({os.path.getsize(db) / 1e9:.2f} GB; ingested {stats.launches:,} launches in "
          f"{stats.seconds:.1f} s: {stats.launches_per_s:,.0f} launches/s)")
    return db


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=10_000_000)
    ap.add_argument("--regions", action="store_true")
    ap.add_argument("--no-staircase", action="store_true")
    ap.add_argument("--keep", help="directory to keep (and reuse) the trace in")
    ap.add_argument("--cltrace", default=os.path.join(os.path.dirname(sys.executable), "cltrace"))
    args = ap.parse_args()
    d = args.keep or tempfile.mkdtemp(prefix="cltrace-bench-report-")
    os.makedirs(d, exist_ok=True)
    db = make_trace(d, args.launches, args.regions)
    cmd = [args.cltrace, "report", db] + (["--no-staircase"] if args.no_staircase else [])
    # peak RSS from /usr/bin/time -v: RUSAGE_CHILDREN of this process would also count a fork of this
    # (big, after ingesting) process before its exec
    timer = ["/usr/bin/time", "-v"] if os.path.exists("/usr/bin/time") else []
    t = time.perf_counter()
    p = subprocess.run(timer + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - t
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss_gb = int(line.rsplit(":", 1)[1]) * 1024 / 1e9
    if p.returncode != 0:
        print(p.stdout[-2000:], p.stderr[-4000:])
        sys.exit(f"cltrace report failed ({p.returncode})")
    print(p.stdout[:1500])
    print(f"cltrace report on {args.launches:,} launches: {secs:.2f} s (goal < 10 s: {secs / 10:.2f}x of it), "
          f"peak RSS {rss_gb:.2f} GB (goal < 2 GB: {rss_gb / 2:.2f}x of it)")


if __name__ == "__main__":
    main()
