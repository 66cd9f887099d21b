"""A long run under cltrace with nothing lost: the soak of issue 27.

    python bench/bench_soak.py [--minutes 30] [--threads 6] [--rate R | --disk-gb 10] [--keep DIR]
                               [--mode layer|preload] [--interval S]

The program is bench/programs/bin/soak (C, 6 threads by default, each with its own finish pattern: batches
with clFinish every 1000, an app event per launch released at once, app events waited in groups on an
out-of-order queue, clFinish after every launch, one queue shared by threads, launches chained by their
events), run for --minutes under `cltrace run`. Its rate: --rate launches/s (whole process), or by default
the fastest rate whose capture fits --disk-gb (a capture holds ~144 bytes a launch until the program
exits and it is ingested; PoCL alone runs this program at several 100k launches/s here, so for a long soak
the disk, not PoCL, is the bound: say which). Checks, each printed with its figure:
  * every launch recorded: launch rows == the launches the program counted, their sequence numbers all
    distinct, every process's launches counted by the ingest, no note of missing or truncated records;
  * the traced program's RSS flat: least-squares slope of its VmRSS over the middle 80% of its life, in MB
    per 10M launches (target <= 1 MB per 10M launches);
  * capture disk use as predicted: the largest size of the capture directory against launches x 144 bytes
    (+ one 256 KiB staging chunk per thread and a few chunks of slack), within 10%;
  * the ingest rate held: launches / (cltrace's exit - the program's exit), against --min-ingest (launches/s);
  * the report within its memory bound: `cltrace report` on the trace, its peak RSS and time against the
    issue's bounds (<= 0.5 GB and 5 s up to 10M launches, <= 1 GB and 60 s up to 100M).
Exit status 0 when every check passes.
"""
import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from proc_watch import slope, watch  # noqa: E402

SOAK = os.path.join(HERE, "programs", "bin", "soak")
BYTES_PER_LAUNCH = 144           # docs/capture.md: an 88-byte launch record + a 56-byte times record
CHUNK = 256 * 1024
RSS_TARGET_MB_PER_10M = 1.0


def build():
    r = subprocess.run(["make", "-s", "-C", os.path.join(HERE, "programs"), "bin/soak"], capture_output=True,
                       text=True)
    if r.returncode != 0 or not os.path.exists(SOAK):
        sys.exit(f"building {SOAK} failed:\n{r.stdout}{r.stderr}")


def cltrace_cli():
    return [sys.executable, "-m", "cltrace.cli.main"]


def report_bound(launches):
    """(peak RSS GB, seconds) the issue allows `cltrace report` on this many launches."""
    return (0.5, 5.0) if launches <= 10_000_000 else (1.0, 60.0)


def run_soak(args, db, tmp, env):
    prog = [SOAK, "--threads", str(args.threads), "--seconds", str(int(args.minutes * 60)),
            "--rate", str(args.rate)]
    cmd = cltrace_cli() + ["run", "-q", "-f", "-o", db, "--mode", args.mode, "--"] + prog
    out_path = os.path.join(tmp, "soak.out")
    err_path = os.path.join(tmp, "soak.err")
    with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env)
        w = watch(proc, SOAK, args.interval, t0=t0, fast_s=2.0)
    end, child_start, child_end = w.end, w.child_start, w.child_end
    samples = [(t, st["VmRSS"]) for t, st in w.samples]
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path) as f:
        stderr = f.read()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc {proc.returncode}):\n{stdout[-2000:]}{stderr[-2000:]}")
    m = re.search(r"soak: launches=(\d+) threads=(\d+) seconds=([\d.]+)", stdout)
    if not m:
        sys.exit(f"the soak program printed no summary:\n{stdout[-2000:]}{stderr[-2000:]}")
    threads = re.findall(r"thread (\d+) (\w+) launches=(\d+)", stdout)
    return dict(launches=int(m.group(1)), prog_s=float(m.group(3)), threads=threads, samples=samples,
                cap_apparent=w.cap_max[0], cap_alloc=w.cap_max[1], cap_files=w.cap_max[2],
                life_s=(child_end or end) - (child_start or t0), ingest_s=end - (child_end or end),
                parent_max_kb=w.parent_peak.get("VmRSS", 0), parent_anon_kb=w.parent_peak.get("RssAnon", 0),
                parent_file_kb=w.parent_peak.get("RssFile", 0), stderr=stderr.strip())


def check_trace(db):
    conn = sqlite3.connect(db)
    try:
        n, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT seq) FROM launch_rows").fetchone()
        per_process = conn.execute("SELECT COALESCE(SUM(launches), 0), COALESCE(SUM(untimed_launches), 0), "
                                   "COALESCE(MIN(clean_exit), 0), COALESCE(SUM(truncated_bytes), 0) "
                                   "FROM processes").fetchone()
        notes = conn.execute("SELECT kind, message FROM notes").fetchall()
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM launch_rows GROUP BY 1").fetchall())
    finally:
        conn.close()
    return dict(rows=n, distinct_seq=distinct, counted=per_process[0], untimed=per_process[1],
                clean_exit=per_process[2], truncated_bytes=per_process[3], notes=notes, statuses=statuses)


def run_report(db, limit_gb=8.0):
    """`cltrace report DB`: (exit status, seconds, peak RSS GB, stdout, stderr). Its address space is limited
    to limit_gb so that a report that is not bounded fails here instead of pushing a shared machine into
    swap or the OOM killer."""
    import resource
    cmd = cltrace_cli() + ["report", db]
    timer = ["/usr/bin/time", "-v"] if os.path.exists("/usr/bin/time") else []

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (int(limit_gb * 2**30),) * 2)
    t = time.perf_counter()
    p = subprocess.run(timer + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       preexec_fn=limit)
    secs = time.perf_counter() - t
    rss_gb = None
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss_gb = int(line.rsplit(":", 1)[1]) * 1024 / 1e9
    return p.returncode, secs, rss_gb, p.stdout, p.stderr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--rate", type=int, default=0,
                    help="launches per second, whole process (default: the fastest rate whose capture fits "
                         "--disk-gb; 0 with --disk-gb 0: unpaced)")
    ap.add_argument("--disk-gb", type=float, default=10.0,
                    help="capture disk to use at most, GB (default 10): sets the rate when --rate is not given")
    ap.add_argument("--mode", default="layer", choices=["layer", "preload"])
    ap.add_argument("--interval", type=float, default=1.0, help="RSS sampling interval, s (default 1)")
    ap.add_argument("--rss-target", type=float, default=RSS_TARGET_MB_PER_10M,
                    help="the largest RSS slope that passes, MB per 10M launches (default 1; a run of a few "
                         "million launches cannot resolve 1 MB per 10M: VmRSS moves by pages)")
    ap.add_argument("--min-ingest", type=float, default=500_000,
                    help="the ingest rate to hold, launches/s (default 500000)")
    ap.add_argument("--report-seconds", type=float, default=None,
                    help="the report's time bound, s (default: the issue's, 5 s up to 10M launches, 60 s up to "
                         "100M; 0: none, as in the test suite, which times nothing)")
    ap.add_argument("--keep", help="directory for the trace and outputs (default: a temporary one, removed)")
    args = ap.parse_args(argv)
    seconds = int(args.minutes * 60)
    if seconds < 1:
        ap.error("--minutes: at least one second")
    if not args.rate and args.disk_gb > 0:
        args.rate = int(args.disk_gb * 1e9 / BYTES_PER_LAUNCH / seconds)
    build()
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    tmp = args.keep or tempfile.mkdtemp(prefix="cltrace-soak-")
    os.makedirs(tmp, exist_ok=True)
    db = os.path.join(tmp, "soak.db")
    free_gb = shutil.disk_usage(tempfile.gettempdir()).free / 1e9
    print(f"soak: {SOAK} --threads {args.threads} --seconds {seconds} --rate {args.rate or 'unpaced'} under "
          f"cltrace run --mode {args.mode}; capture in {tempfile.gettempdir()} ({free_gb:.0f} GB free), trace "
          f"{db}; load avg {os.getloadavg()[0]:.2f}", flush=True)
    ok = True
    try:
        r = run_soak(args, db, tmp, env)
        n = r["launches"]
        rate = n / r["prog_s"]
        print(f"program: {n:,} launches in {r['prog_s']:.1f} s ({rate:,.0f} launches/s; "
              + ", ".join(f"{name} {int(c):,}" for _, name, c in r["threads"]) + ")")

        t = check_trace(db)
        lost = n - t["rows"]
        rec_ok = (lost == 0 and t["distinct_seq"] == t["rows"] and t["counted"] == t["rows"]
                  and not t["truncated_bytes"]
                  and not any(k in ("truncated", "damaged", "lost", "missing") for k, _ in t["notes"]))
        ok &= rec_ok
        print(f"CHECK every launch recorded: {t['rows']:,} launch rows of {n:,} launched ({lost:,} lost), "
              f"{t['distinct_seq']:,} distinct sequence numbers, {t['counted']:,} counted by the ingest, "
              f"{t['untimed']:,} untimed, statuses {t['statuses']}, notes {[k for k, _ in t['notes']][:8]}: "
              + ("PASS" if rec_ok else "FAIL"))

        s = r["samples"]
        life = r["life_s"]
        mid = [x for x in s if 0.1 * life <= x[0] <= 0.9 * life] or s
        k = slope([x[0] * rate / 1e7 for x in mid], [x[1] / 1024 for x in mid]) if len(mid) >= 2 else 0.0
        rss_ok = k <= args.rss_target
        ok &= rss_ok
        if s:
            picks = s[::max(1, len(s) // 8)] + [s[-1]]
            print("program VmRSS (MB) over time: " + "  ".join(f"{a:.0f}s:{b / 1024:.1f}" for a, b in picks))
        print(f"CHECK program RSS flat: slope {k:+.3f} MB per 10M launches over the middle 80% of its life "
              f"({len(mid)} samples; target <= {args.rss_target:g}): " + ("PASS" if rss_ok else "FAIL"))

        predicted = n * BYTES_PER_LAUNCH
        slack = (args.threads + 4) * CHUNK * 2
        cap = r["cap_apparent"]
        cap_ok = abs(cap - predicted) <= 0.10 * predicted + slack
        ok &= cap_ok
        print(f"CHECK capture disk as predicted: largest {cap / 1e6:,.1f} MB apparent ({r['cap_alloc'] / 1e6:,.1f} MB "
              f"allocated, {r['cap_files']} file(s)) = {cap / max(n, 1):.1f} bytes/launch; predicted "
              f"{predicted / 1e6:,.1f} MB ({BYTES_PER_LAUNCH} bytes/launch) +- 10% + {slack / 1e6:.1f} MB of "
              f"chunks: " + ("PASS" if cap_ok else "FAIL"))

        ingest = n / max(r["ingest_s"], 1e-9)
        ing_ok = ingest >= args.min_ingest
        ok &= ing_ok
        db_bytes = sum(os.path.getsize(db + x) for x in ("", "-wal") if os.path.exists(db + x))
        print(f"CHECK ingest rate held: {n:,} launches in {r['ingest_s']:.1f} s after the program's exit = "
              f"{ingest:,.0f} launches/s (target >= {args.min_ingest:,.0f}); cltrace's peak sampled RSS "
              f"{r['parent_max_kb'] / 1024:.0f} MB (anonymous {r['parent_anon_kb'] / 1024:.0f} MB = "
              f"{r['parent_anon_kb'] * 1024 / max(n, 1):.0f} bytes/launch, file-backed: the capture mapped "
              f"{r['parent_file_kb'] / 1024:.0f} MB); trace {db_bytes / 1e6:,.0f} MB = "
              f"{db_bytes / max(n, 1):.1f} bytes/launch: " + ("PASS" if ing_ok else "FAIL"))

        rc, secs, rss_gb, out, err = run_report(db)
        gb, lim_s = report_bound(n)
        if args.report_seconds is not None:
            lim_s = args.report_seconds or float("inf")
        rep_ok = rc == 0 and rss_gb is not None and rss_gb <= gb and secs <= lim_s
        ok &= rep_ok
        print(f"CHECK report within its bound: cltrace report exit {rc}, {secs:.2f} s (bound {lim_s:g} s), peak "
              f"RSS {rss_gb if rss_gb is None else round(rss_gb, 3)} GB (bound {gb:g} GB): "
              + ("PASS" if rep_ok else "FAIL"))
        if rc != 0:
            print(err[-2000:])
        if r["stderr"]:
            print(f"cltrace stderr: {r['stderr'][-500:]}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("SOAK " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
