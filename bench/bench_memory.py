"""Memory of a traced program over a long run: extra peak RSS, RSS over time, capture and trace sizes.

    python bench/bench_memory.py [--launches N] [--modes untraced,layer,preload] [--interval S] [--keep DIR]

Goal (issue): "Memory: the traced process's extra RSS stays bounded (< 64 MB) over a 10-million-launch run."

The program is bench/programs/bin/overhead trivial --launches N (default 10,000,000; warm-up 200; a
trivial kernel, global 64, clFinish every 1000, queue without profiling), run
  untraced  PROG
  layer     cltrace run -q -f -o DB --mode layer -- PROG
  preload   cltrace run -q -f -o DB --mode preload -- PROG
one after another. For each run:
  * peak RSS = the VmHWM the program prints itself at its end (its own process image; ru_maxrss is not
    used: on Linux it carries over the forking Python parent's peak across exec);
  * RSS over time: /proc/PID/status of the program (for traced runs the child of the cltrace process,
    found through /proc/<cltrace pid>/task/*/children) every --interval s: VmRSS, RssAnon, RssFile and
    RssShmem. Flatness = the least-squares slope of VmRSS over the middle 80% of the program's life (MB
    per million launches, launches estimated from time at a constant rate) and the rise from the 10%
    point to the end;
  * capture: the shim's capture directory (CLTRACE_DIR from /proc/<child>/environ) is sized while it
    exists (apparent bytes and allocated blocks), its largest size reported;
  * ingest: time from the program's exit to cltrace's exit (ingest + run record + capture removal);
    the cltrace process's own peak VmRSS (sampled) is shown too;
  * trace: the .db (+ -wal) size, and sqlite3 COUNT(*) of launch rows == N + warm-up, so nothing was lost.
Extra peak RSS = traced VmHWM - untraced VmHWM; PASS when < 64 MB for every traced mode.
"""
import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
from overhead_driver import DRIVER, build, cltrace_cli, parse, print_table  # noqa: E402  (bench/ is on sys.path)
from proc_watch import slope, watch  # noqa: E402
GOAL_MB = 64.0
WARMUP = 200


def run_one(mode, launches, tmp, interval, env):
    prog = [DRIVER, "trivial", "--launches", str(launches), "--warmup", str(WARMUP)]
    db = None
    if mode == "untraced":
        cmd = prog
    else:
        db = os.path.join(tmp, f"trace-{mode}.db")
        cmd = cltrace_cli() + ["run", "-q", "-f", "-o", db, "--mode", mode, "--"] + prog
    out_path, err_path = os.path.join(tmp, f"{mode}.out"), os.path.join(tmp, f"{mode}.err")
    with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env)
        w = watch(proc, DRIVER, interval, traced=mode != "untraced", t0=t0)
    end = w.end
    child_end = w.child_end if w.child_end is not None else end
    # (t since child start, VmRSS, RssAnon, RssFile, RssShmem) of the program
    samples = [(t, st["VmRSS"], st.get("RssAnon", 0), st.get("RssFile", 0), st.get("RssShmem", 0))
               for t, st in w.samples]
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path) as f:
        stderr = f.read()
    res = parse(stdout)
    if proc.returncode != 0 or res is None:
        sys.exit(f"{' '.join(cmd)} failed (rc {proc.returncode}):\n{stdout[-2000:]}{stderr[-2000:]}")
    res.update(mode=mode, wall_s=end - t0, child_s=child_end - (w.child_start or t0), samples=samples,
               cap_apparent=w.cap_max[0], cap_alloc=w.cap_max[1], cap_files=w.cap_max[2], ingest_s=end - child_end,
               parent_max_kb=w.parent_peak.get("VmRSS", 0), parent_anon_kb=w.parent_peak.get("RssAnon", 0),
               parent_hwm_kb=w.parent_peak.get("VmHWM", 0), stderr=stderr.strip())
    if db:
        res["db_bytes"] = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
        conn = sqlite3.connect(db)
        try:
            res["records"] = conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0]
            res["status_counts"] = dict(conn.execute(
                "SELECT COALESCE(times_status, 'NULL'), COUNT(*) FROM launches GROUP BY 1").fetchall())
            res["notes"] = conn.execute("SELECT kind, value, message FROM notes").fetchall()
        finally:
            conn.close()
        for s in ("", "-wal", "-shm"):
            if os.path.exists(db + s):
                os.remove(db + s)
    return res


def flatness(res):
    """Stats of VmRSS (MB) over the program's life: middle-80% slope per million launches, rises."""
    s = res["samples"]
    if len(s) < 4:
        return None
    life = res["child_s"]
    rate = (res["launches"] + WARMUP) / res["child_s"]   # launches per second, whole-process estimate
    mid = [x for x in s if 0.1 * life <= x[0] <= 0.9 * life]
    if len(mid) < 2:
        mid = s
    k = slope([x[0] * rate / 1e6 for x in mid], [x[1] / 1024 for x in mid])
    at10 = mid[0][1] / 1024
    last = s[-1][1] / 1024
    return {"slope_mb_per_mlaunch": k, "rss_10pct": at10, "rss_last": last, "rss_max": max(x[1] for x in s) / 1024,
            "rise": last - at10, "n": len(s)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--launches", type=int, default=10_000_000)
    ap.add_argument("--modes", default="untraced,layer,preload")
    ap.add_argument("--interval", type=float, default=0.5, help="RSS sampling interval, s (default 0.5)")
    ap.add_argument("--keep", help="directory for traces and outputs (default: a temporary one, removed)")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if "untraced" not in modes:
        modes.insert(0, "untraced")
    build()
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    tmp = args.keep or tempfile.mkdtemp(prefix="cltrace-membench-")
    os.makedirs(tmp, exist_ok=True)
    print(f"program: {DRIVER} trivial --launches {args.launches} --warmup {WARMUP}   sampling every "
          f"{args.interval} s   load avg {os.getloadavg()[0]:.2f}", flush=True)
    results = {}
    try:
        for m in modes:
            r = run_one(m, args.launches, tmp, args.interval, env)
            results[m] = r
            fl = flatness(r)
            print(f"  {m:8s}: program {r['child_s']:6.1f} s ({r['us_per_launch']:.2f} us/launch in its loop), "
                  f"VmHWM {r['vmhwm_kb'] / 1024:.1f} MB, {len(r['samples'])} RSS samples"
                  + (f", slope {fl['slope_mb_per_mlaunch']:+.3f} MB/M launches" if fl else "")
                  + (f", cltrace after exit {r['ingest_s']:.1f} s, {r['records']} rows" if m != "untraced" else ""),
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    base = results["untraced"]
    expected = args.launches + WARMUP
    print()
    hdr = ["mode", "prog s", "us/launch", "VmHWM MB", "extra MB", "RSS@10% MB", "RSS end MB", "rise MB",
           "MB/M launch", "capture MB", "ingest s", "cltrace MB", "trace.db MB", "launch rows"]
    widths = [8, 7, 9, 8, 8, 10, 10, 7, 11, 10, 8, 10, 11, 20]
    rows = []
    verdict = True
    lost = False
    for m in modes:
        r = results[m]
        fl = flatness(r) or {}
        extra = (r["vmhwm_kb"] - base["vmhwm_kb"]) / 1024
        traced = m != "untraced"
        if traced:
            verdict &= extra < GOAL_MB
            ok = r["records"] == expected
            lost |= not ok
        rows.append([m, f"{r['child_s']:.1f}", f"{r['us_per_launch']:.3f}", f"{r['vmhwm_kb'] / 1024:.1f}",
                     f"{extra:+.1f}" if traced else "-",
                     f"{fl.get('rss_10pct', 0):.1f}", f"{fl.get('rss_last', 0):.1f}", f"{fl.get('rise', 0):+.1f}",
                     f"{fl.get('slope_mb_per_mlaunch', 0):+.3f}",
                     f"{r['cap_apparent'] / 2**20:.0f}" if traced else "-",
                     f"{r['ingest_s']:.1f}" if traced else "-",
                     f"{r['parent_max_kb'] / 1024:.0f}" if traced else "-",
                     f"{r['db_bytes'] / 2**20:.0f}" if traced else "-",
                     (f"{r['records']}/{expected}" + (" ok" if r["records"] == expected else " LOST"))
                     if traced else "-"])
    print_table(hdr, widths, rows)
    print()
    print("prog s: the program's life (start to exit) as seen from outside; us/launch: its own timed loop;")
    print("VmHWM: the program's own peak RSS (printed by it at exit); extra = traced - untraced VmHWM;")
    print("RSS@10%/end: sampled VmRSS at 10% of its life and at the last sample; rise = end - 10%;")
    print("MB/M launch: least-squares slope of VmRSS over the middle 80% of its life, per million launches;")
    print("capture MB: largest apparent size of the capture directory (allocated size below);")
    print("ingest s: program exit -> cltrace exit (ingest + run record + capture removal);")
    print("cltrace MB: the cltrace (Python) process's own peak sampled VmRSS; trace.db MB: .db + -wal.")
    for m in modes:
        r = results[m]
        if m == "untraced":
            continue
        print(f"\n{m}: capture {r['cap_files']} file(s), {r['cap_apparent'] / 2**20:.1f} MB apparent, "
              f"{r['cap_alloc'] / 2**20:.1f} MB allocated = {r['cap_apparent'] / expected:.1f} bytes/launch; "
              f"trace.db {r['db_bytes'] / expected:.1f} bytes/launch; ingest {expected / max(r['ingest_s'], 1e-9):,.0f}"
              f" launches/s; times_status {r['status_counts']}")
        print(f"  cltrace process (ingest): peak sampled VmRSS {r['parent_max_kb'] / 1024:.0f} MB, of it RssAnon "
              f"{r['parent_anon_kb'] / 1024:.0f} MB; last VmHWM seen {r['parent_hwm_kb'] / 1024:.0f} MB "
              f"= {r['parent_hwm_kb'] * 1024 / expected:.0f} bytes/launch")
        if r["notes"]:
            print(f"  notes: {r['notes'][:10]}")
        if r["stderr"]:
            print(f"  cltrace stderr: {r['stderr'][-500:]}")
    print("\nRSS over time (MB, VmRSS / RssAnon / RssFile / RssShmem; about every 10% of the program's life):")
    for m in modes:
        s = results[m]["samples"]
        if not s:
            continue
        step = max(1, len(s) // 10)
        picks = s[::step] + ([s[-1]] if (len(s) - 1) % step else [])
        print(f"  {m:8s} " + "  ".join(f"{t:5.1f}s:{a / 1024:.0f}/{b / 1024:.0f}/{c / 1024:.0f}/{d / 1024:.0f}"
                                        for t, a, b, c, d in picks))
    print()
    print(f"GOAL extra peak RSS < {GOAL_MB:.0f} MB over a {args.launches:,}-launch run: "
          + ("PASS" if verdict else "FAIL"))
    print("launch rows: " + ("all recorded" if not lost else "LOST RECORDS"))
    return 0 if verdict and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
