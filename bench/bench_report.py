"""`cltrace report` on a big trace: time and peak RSS of the CLI as a subprocess.

    python bench/bench_report.py [--launches 10000000] [--regions] [--replicate K] [--keep DIR] [--no-staircase]

Builds a synthetic single-run trace (capture factory -> ingest; 8 kernels, one queue; --regions puts the
launches into two tagged regions, which makes the staircase analysis read every launch), then runs
`cltrace report` on it and prints seconds and peak RSS against the goals of issue 27 (<= 0.5 GB and 5 s up to
10M launches, <= 1 GB and 60 s up to 100M).

--replicate K then makes a trace of K x --launches launches from it without a capture (a 100M-launch capture
would take 14 GB of disk and its ingest as much memory): the launch rows are copied K-1 more times in SQL,
launch ids and sequence numbers shifted, regions and dispatches kept (so each region holds K times as many
launches), the process's launch range widened. `--launches 10000000 --regions --replicate 10` is the
100M-launch trace of docs/scale.md.
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


def replicate(db, k):
    """A copy of db with its launch rows repeated k times (see the module docstring)."""
    import shutil
    import sqlite3
    out = db.replace(".db", f"-x{k}.db")
    if os.path.exists(out):
        return out
    shutil.copyfile(db, out + ".tmp")
    conn = sqlite3.connect(out + ".tmp")
    try:
        n, max_seq = conn.execute("SELECT MAX(launch_id), MAX(seq) FROM launch_rows").fetchone()
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        cols = [r[1] for r in conn.execute("PRAGMA table_info(launch_rows)")]
        sel = ", ".join("launch_id + ?" if c == "launch_id" else "seq + ?" if c == "seq" else c for c in cols)
        t = time.perf_counter()
        for i in range(1, k):
            conn.execute(f"INSERT INTO launch_rows ({', '.join(cols)}) SELECT {sel} FROM launch_rows "
                         f"WHERE launch_id <= ? ORDER BY launch_id", (i * n, i * (max_seq + 1), n))
            conn.commit()
        conn.execute("UPDATE processes SET last_launch_id = ?, launches = ?", (k * n, k * n))
        conn.commit()
    finally:
        conn.close()
    os.rename(out + ".tmp", out)
    print(f"trace: {out} ({os.path.getsize(out) / 1e9:.2f} GB; {k} x {n:,} launch rows copied in "
          f"{time.perf_counter() - t:.0f} s)")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=10_000_000)
    ap.add_argument("--regions", action="store_true")
    ap.add_argument("--no-staircase", action="store_true")
    ap.add_argument("--keep", help="directory to keep (and reuse) the trace in")
    ap.add_argument("--replicate", type=int, default=1, metavar="K",
                    help="report on a trace of K x --launches launches copied in SQL (see above)")
    ap.add_argument("--cltrace", default=os.path.join(os.path.dirname(sys.executable), "cltrace"))
    args = ap.parse_args()
    d = args.keep or tempfile.mkdtemp(prefix="cltrace-bench-report-")
    os.makedirs(d, exist_ok=True)
    db = make_trace(d, args.launches, args.regions)
    n = args.launches
    if args.replicate > 1:
        db = replicate(db, args.replicate)
        n *= args.replicate
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
    gb, lim = (0.5, 5.0) if n <= 10_000_000 else (1.0, 60.0)
    print(f"cltrace report on {n:,} launches: {secs:.2f} s (goal <= {lim:g} s: {secs / lim:.2f}x of it), "
          f"peak RSS {rss_gb:.2f} GB (goal <= {gb:g} GB: {rss_gb / gb:.2f}x of it); load average "
          f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
