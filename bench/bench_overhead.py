"""Tracing overhead: the launch loop of bench/programs/bin/overhead, untraced vs under cltrace.

    python bench/bench_overhead.py [--quick] [--launches N] [--repeats R] [--workloads trivial,realistic]
                                   [--modes layer,preload] [--cltrace-arg=--no-timing] [--keep DIR]

Workloads (the C driver times its own loop with CLOCK_MONOTONIC after build and warm-up, so process
start-up, PoCL compile and trace ingestion are excluded):
  trivial    100,000 launches of a trivial kernel, global 64, local NULL, no event, clFinish every 1000,
             queue without profiling: the workload opencl-intercept-layer was measured on (untraced
             ~6.0 us/launch there; its device timing +0.6 us/launch, its Chrome trace +1.8 us/launch).
  realistic  3,000 launches of a loop-heavy kernel (~0.5-1 ms each on PoCL CPU), clFinish every 100.

Runs are interleaved (untraced, layer, preload, untraced, ...) and medians taken over --repeats.
Traced runs go through `cltrace run -q -f -o DB --mode MODE -- PROG`, exactly as a user would; every
trace is read back with cltrace.open(DB).launches to check that no launch record was lost.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import cltrace  # noqa: E402

from overhead_driver import DRIVER, build, cltrace_cli, fmt_row, parse  # noqa: E402  (bench/ is on sys.path)

# name -> (default launches, quick launches, extra driver args)
WORKLOADS = {
    "trivial": (100_000, 20_000, []),
    "realistic": (3_000, 600, []),
}





def run_once(workload, launches, mode, tmp, tag, cltrace_args, env):
    prog = [DRIVER, workload, "--launches", str(launches)] + WORKLOADS[workload][2]
    db = None
    if mode == "untraced":
        cmd = prog
    else:
        db = os.path.join(tmp, f"{tag}.db")
        cmd = cltrace_cli() + ["run", "-q", "-f", "-o", db, "--mode", mode] + cltrace_args + ["--"] + prog
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    res = parse(r.stdout)
    if r.returncode != 0 or res is None:
        sys.exit(f"{' '.join(cmd)} failed (rc {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    res["process_wall_s"] = wall
    if db:
        expected = int(res["launches"] + res["warmup"])
        tr = cltrace.open(db)
        lz = tr.launches
        res["records"] = len(lz)
        res["expected"] = expected
        res["untimed"] = int((lz["times_status"].astype(str) != "ok").sum()) if "times_status" in lz else 0
        tr.db.close()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer launches (20k trivial / 600 realistic), 5 repeats")
    ap.add_argument("--launches", type=int, help="launches per run for every workload (overrides defaults)")
    ap.add_argument("--repeats", type=int, default=7, help="runs per (workload, mode); medians over these")
    ap.add_argument("--workloads", default="trivial,realistic")
    ap.add_argument("--modes", default="layer,preload")
    ap.add_argument("--cltrace-arg", action="append", default=[], dest="cltrace_args",
                    help="extra option for `cltrace run` (repeatable), e.g. --cltrace-arg=--no-timing")
    ap.add_argument("--keep", help="directory for the traces (default: a temporary one, removed)")
    args = ap.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 5)
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit(f"unknown workload {w} (choose from {', '.join(WORKLOADS)})")
    modes = ["untraced"] + [m for m in args.modes.split(",") if m]

    build()
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    tmp = args.keep or tempfile.mkdtemp(prefix="cltrace-overhead-")
    os.makedirs(tmp, exist_ok=True)

    print(f"driver: {DRIVER}   repeats: {args.repeats}   cltrace run args: {args.cltrace_args or '(defaults)'}")
    results = {}
    lost = []
    try:
        for w in workloads:
            n = args.launches or WORKLOADS[w][1 if args.quick else 0]
            # one warm-up process per mode (PoCL kernel cache, page cache), not measured
            for m in modes:
                run_once(w, min(n, 1000), m, tmp, f"{w}-{m}-warm", args.cltrace_args, env)
            for r in range(args.repeats):
                order = modes[r % len(modes):] + modes[:r % len(modes)]  # rotate so no mode always goes first
                for m in order:
                    res = run_once(w, n, m, tmp, f"{w}-{m}-{r}", args.cltrace_args, env)
                    results.setdefault((w, m), []).append(res)
                    if m != "untraced" and res["records"] != res["expected"]:
                        lost.append((w, m, r, res["records"], res["expected"]))
                    print(f"  {w:9s} {m:8s} #{r}: {res['us_per_launch']:10.3f} us/launch"
                          f"  VmHWM {res['vmhwm_kb'] / 1024:7.1f} MB"
                          + (f"  records {res['records']}/{res['expected']}" if m != "untraced" else ""),
                          flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    hdr = ["workload", "mode", "launches", "loop ms", "us/launch", "min-max us", "added us", "ratio",
           "peak RSS MB", "RSS +MB", "records"]
    widths = [9, 8, 8, 9, 10, 17, 9, 6, 11, 8, 17]
    print()
    print(fmt_row(hdr, widths))
    print(fmt_row(["-" * w for w in widths], widths))
    for w in workloads:
        base = results[(w, "untraced")]
        base_us = statistics.median(x["us_per_launch"] for x in base)
        base_rss = statistics.median(x["vmhwm_kb"] for x in base) / 1024
        for m in modes:
            rs = results[(w, m)]
            us = [x["us_per_launch"] for x in rs]
            med_us = statistics.median(us)
            med_ms = statistics.median(x["loop_ns"] for x in rs) / 1e6
            rss = statistics.median(x["vmhwm_kb"] for x in rs) / 1024
            if m == "untraced":
                added, ratio, drss, rec = "-", "1.00", "-", "-"
            else:
                added = f"{med_us - base_us:+.2f}"
                ratio = f"{med_us / base_us:.2f}"
                drss = f"{rss - base_rss:+.1f}"
                got = sum(x["records"] for x in rs)
                exp = sum(x["expected"] for x in rs)
                rec = f"{got}/{exp}" + (" ok" if got == exp else " LOST")
            print(fmt_row([w, m, int(rs[0]["launches"]), f"{med_ms:.1f}", f"{med_us:.3f}",
                           f"{min(us):.2f}-{max(us):.2f}", added, ratio, f"{rss:.1f}", drss, rec], widths))
    print()
    print("loop ms / us/launch: medians of the driver's own CLOCK_MONOTONIC loop time (warm-up and build excluded);")
    print("added us = traced - untraced median us/launch; ratio = traced/untraced; peak RSS = the driver's VmHWM")
    print("  (its ru_maxrss is also printed by the driver, but on Linux it carries over the forking Python parent's")
    print("  peak across exec, so it measures the launcher, not the program);")
    print("records = launch rows read back with cltrace.open(db).launches / launches issued (timed + warm-up).")
    if lost:
        print("LOST RECORDS:", lost)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
