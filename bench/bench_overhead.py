"""Tracing overhead: the launch loop of bench/programs/bin/overhead, untraced vs under cltrace.

    python bench/bench_overhead.py [--quick] [--launches N] [--repeats R] [--workloads trivial,sync,event]
                                   [--modes layer,preload] [--cltrace-arg=--no-timing] [--keep DIR]
                                   [--compare-native LABEL=DIR] [--callgrind N] [--driver pocl|null]
                                   [--pin CPUS]
    CLINTERCEPT_LOADER=/path/to/cliloader python bench/bench_overhead.py ...   # also CLIntercept -d

Workloads (the C driver times its own loop with CLOCK_MONOTONIC after build and warm-up, so process
start-up, PoCL compile and trace ingestion are excluded). The first three are the enqueue storm of issue 16:
a trivial kernel, global 64, local NULL, queue without profiling, in three synchronisation patterns:
  trivial    100,000 launches, event NULL, clFinish every 1000 (large batches): the workload
             opencl-intercept-layer was measured on (untraced ~6.0 us/launch there; its device timing
             +0.6 us/launch, its Chrome trace +1.8 us/launch).
  sync       5,000 launches, event NULL, clFinish after every launch (per-layer latency benchmarks,
             pyopencl scripts that .wait(), ACL's benchmark loops): cltrace's harvest at every wait.
  event      100,000 launches, the app asks for each launch's event and releases it at once, clFinish
             every 1000 (cltrace retains the app's event instead of creating its own).
  realistic  3,000 launches of a loop-heavy kernel (~0.5-1 ms each on PoCL CPU), clFinish every 100
             (not in the default list).

Runs are interleaved (untraced, layer, preload, untraced, ...) and medians taken over --repeats. The
sync pattern is dominated by thread wake-ups on this 2-core VM: its per-process times are multimodal
(e.g. 21-25, 30-36, 46-52 us/launch untraced), so its medians move by 1-2 us between runs; compare modes
within one run, and read "main cpu us" (CPU time of the launching thread, far steadier) alongside.

With CLINTERCEPT_LOADER set to a built `cliloader` of the Intercept Layer for OpenCL Applications
(https://github.com/intel/opencl-intercept-layer; build: bench/README.md), a mode `clintercept` runs
`cliloader -d PROG` (device timing, aggregates only) interleaved with the others, and the table adds
"vs CLI": cltrace's added cost divided by CLIntercept -d's added cost in the same run (< 1: cltrace is
cheaper). It is never required; without the variable the mode is skipped.
Traced runs go through `cltrace run -q -f -o DB --mode MODE -- PROG`, exactly as a user would; every
trace is read back with cltrace.open(DB).launches to check that no launch record was lost. Besides the
wall-clock loop time, the driver reports the CPU time of its launching thread over the loop ("main cpu").

--compare-native LABEL=DIR adds, for every traced mode M, a mode M@LABEL: the same `cltrace run` with the
shim libraries of another build (its cltrace/_native/ directory), interleaved with the others, for
before/after comparisons in one run (on a noisy machine, medians of separate runs differ by more than
most changes do):
    git worktree add --detach /tmp/before HEAD && (cd /tmp/before && python setup.py -q build_ext --inplace)
    python bench/bench_overhead.py --workloads trivial --compare-native before=/tmp/before/cltrace/_native

--callgrind N counts instructions instead of timing (needs valgrind; Debian: apt-get install valgrind):
each mode runs the driver under `valgrind --tool=callgrind` with N and with 2N launches, and the
launching thread's instructions per launch are (Ir(2N) - Ir(N)) / N, so that start-up, build and warm-up
cancel. "shim-own" counts the shim library's own instructions plus what it calls outside OpenCL (libc,
vDSO, ld.so); "OpenCL by shim" the OpenCL calls it makes (the forwarded launch, event queries and
releases). Deterministic up to PoCL's scheduling (its worker threads decide some of the launching
thread's work): repeat (--repeats) and compare medians for differences under ~100 Ir. "all threads" adds
up every thread of the process (what a tool makes the driver's threads do counts too). With
CLINTERCEPT_LOADER set, CLIntercept -d is counted the same way, and "vs CLI" divides by its added Ir.

--driver null swaps PoCL for tests/programs' fake ICD as the only OpenCL vendor (OCL_ICD_VENDORS), its log
off: kernels "run" synchronously on the calling thread, events and profiling times are made up, no thread
is started. There are no wake-ups to wait for, so what a tool adds is its own work (and what it makes the
driver do: events, profiling reads), measurable to ~0.1 us where PoCL's wake-ups blur it to +-2 us.

--pin CPUS runs every driver process under `taskset -c CPUS` (e.g. 1: the app and PoCL's workers on one
CPU; a wake-up is then a context switch, not a cross-CPU interrupt).

--self-timed adds a mode `self-timed`: the untraced program doing itself what any tool that reports device
times makes the driver do (a profiling queue, an event per launch kept until the clFinish, its four
timestamps read, then released). What a traced mode adds beyond it is the tool's own part; what
self-timed adds over untraced is the driver's price for device times, paid by CLIntercept -d too.

After the table, "intervals" gives each difference as a median with a 95% bootstrap interval over
processes (the process is the unit of replication here too: a process's loop time is one observation):
traced - untraced, and traced - CLIntercept -d, in wall time and in the launching thread's CPU time, with
a verdict vs CLIntercept only where the interval excludes 0.
"""
import argparse
import glob
import os
import re
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

from overhead_driver import (DRIVER, build, callgrind_split, callgrind_total, cltrace_cli,  # noqa: E402
                             fmt_ci, fmt_row, median_diff_ci, parse)

# name -> (driver workload, default launches, quick launches, extra driver args)
WORKLOADS = {
    "trivial": ("trivial", 100_000, 20_000, []),
    "sync": ("trivial", 5_000, 2_000, ["--finish-every", "1"]),
    "event": ("trivial", 100_000, 20_000, ["--app-event"]),
    "realistic": ("realistic", 3_000, 600, []),
}
DEFAULT_WORKLOADS = "trivial,sync,event"
CLINTERCEPT = "clintercept"     # the mode running CLINTERCEPT_LOADER -d
SELF_TIMED = "self-timed"       # the untraced program doing what a device-timing tool makes the driver do
FAKE_ICD_DIR = os.path.join(ROOT, "tests", "programs")
FAKE_ICD = "libcltrace_fake_icd.so"


def clintercept_loader():
    """The cliloader named by CLINTERCEPT_LOADER, or None (unset); exits when it names no executable."""
    path = os.environ.get("CLINTERCEPT_LOADER")
    if not path:
        return None
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit(f"CLINTERCEPT_LOADER={path} is not an executable file (a built cliloader; see bench/README.md)")
    return os.path.abspath(path)





def null_driver_env(tmp):
    """Environment making tests/programs' fake ICD the only OpenCL vendor, with its log off: a driver that runs
    kernels synchronously on the calling thread, makes events and profiling times up and starts no thread."""
    r = subprocess.run(["make", "-s", "-C", FAKE_ICD_DIR, os.path.join("bin", FAKE_ICD)], capture_output=True,
                       text=True)
    lib = os.path.join(FAKE_ICD_DIR, "bin", FAKE_ICD)
    if r.returncode != 0 or not os.path.exists(lib):
        sys.exit(f"building {lib} failed:\n{r.stdout}{r.stderr}")
    vendors = os.path.join(tmp, "null-vendors")
    os.makedirs(vendors, exist_ok=True)
    with open(os.path.join(vendors, "null.icd"), "w") as f:
        f.write(lib + "\n")
    return {"OCL_ICD_VENDORS": vendors, "FAKE_ICD_LOG": "off"}


def traced_cmd(mode, natives, db, cltrace_args, prog):
    """`cltrace run` for MODE or MODE@LABEL (the shim libraries of natives[LABEL])."""
    base, _, label = mode.partition("@")
    return (cltrace_cli(natives[label] if label else None) + ["run", "-q", "-f", "-o", db, "--mode", base]
            + cltrace_args + ["--"] + prog)


def run_once(workload, launches, mode, tmp, tag, cltrace_args, env, natives, wrap=(), check=True):
    """One driver process in MODE (wrapped in `wrap`, e.g. taskset or valgrind); with check, its trace is read
    back and its records counted."""
    kind, _, _, extra = WORKLOADS[workload]
    prog = list(wrap) + [DRIVER, kind, "--launches", str(launches)] + extra
    db = None
    if mode == "untraced":
        cmd = prog
    elif mode == SELF_TIMED:
        cmd = prog + ["--self-timed"]
    elif mode == CLINTERCEPT:
        # device timing only; its report goes to a dump directory under tmp, not the user's home
        cmd = [clintercept_loader(), "-d"] + prog
        env = dict(env, CLI_DumpDir=os.path.join(tmp, f"{tag}-clintercept"))
    else:
        db = os.path.join(tmp, f"{tag}.db")
        cmd = traced_cmd(mode, natives, db, cltrace_args, prog)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    res = parse(r.stdout)
    if r.returncode != 0 or res is None:
        sys.exit(f"{' '.join(cmd)} failed (rc {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    res["process_wall_s"] = wall
    if db and not check:
        res["records"] = res["expected"] = 0
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
    elif db:
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
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per (workload, mode); medians over these (default 7; 1 with --callgrind)")
    ap.add_argument("--workloads", default=DEFAULT_WORKLOADS,
                    help=f"comma list of {', '.join(WORKLOADS)} (default {DEFAULT_WORKLOADS})")
    ap.add_argument("--modes", default="layer,preload")
    ap.add_argument("--cltrace-arg", action="append", default=[], dest="cltrace_args",
                    help="extra option for `cltrace run` (repeatable), e.g. --cltrace-arg=--no-timing")
    ap.add_argument("--keep", help="directory for the traces (default: a temporary one, removed)")
    ap.add_argument("--compare-native", action="append", default=[], metavar="LABEL=DIR",
                    help="also run every traced mode M as M@LABEL with the shim libraries in DIR (repeatable)")
    ap.add_argument("--driver", choices=("pocl", "null"), default="pocl",
                    help="pocl: the system's OpenCL (PoCL here); null: tests/programs' fake ICD as the only vendor, "
                         "quiet (no threads, no device work: what is left is the tools' own cost)")
    ap.add_argument("--pin", metavar="CPUS",
                    help="run every driver process under `taskset -c CPUS` (all its threads, every mode alike)")
    ap.add_argument("--self-timed", action="store_true",
                    help="also run the untraced program timing itself (profiling queue, an event per launch, its four "
                         "timestamps read and released at each clFinish): what the driver charges any tool that "
                         "reports device times; the intervals then add each tool's cost beyond it")
    ap.add_argument("--callgrind", type=int, metavar="N",
                    help="count instructions per launch under valgrind (N and 2N launches) instead of timing")
    args = ap.parse_args()
    if args.repeats is None:
        args.repeats = 1 if args.callgrind else 7
    if args.quick:
        args.repeats = min(args.repeats, 5)
    natives = {}
    for spec in args.compare_native:
        label, sep, path = spec.partition("=")
        if not sep or not label or "@" in label or not os.path.isdir(path):
            sys.exit(f"--compare-native wants LABEL=DIR with an existing DIR, got {spec!r}")
        natives[label] = os.path.abspath(path)
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit(f"unknown workload {w} (choose from {', '.join(WORKLOADS)})")
    traced = [m for m in args.modes.split(",") if m]
    modes = ["untraced"] + traced + [f"{m}@{label}" for label in natives for m in traced]
    cli = clintercept_loader()
    if cli:
        modes.append(CLINTERCEPT)
    if args.self_timed:
        modes.insert(1, SELF_TIMED)
    pin = ["taskset", "-c", args.pin] if args.pin else []
    if pin and not shutil.which("taskset"):
        sys.exit("--pin needs taskset on PATH (Debian: util-linux)")

    build()
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    tmp = args.keep or tempfile.mkdtemp(prefix="cltrace-overhead-")
    os.makedirs(tmp, exist_ok=True)
    if args.driver == "null":
        env.update(null_driver_env(tmp))
    if args.callgrind:
        try:
            return callgrind_main(args, workloads, modes, natives, env, tmp, pin)
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)

    driver = "the null driver (tests/programs fake ICD, only vendor)" if args.driver == "null" else "system ICDs"
    print(f"OpenCL: {driver}")
    print(f"driver: {DRIVER}   repeats: {args.repeats}   cltrace run args: {args.cltrace_args or '(defaults)'}"
          + (f"   pinned: taskset -c {args.pin}" if pin else ""))
    print(f"CLIntercept: {cli + ' -d' if cli else 'not measured (set CLINTERCEPT_LOADER to a built cliloader)'}")
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (start)")
    results = {}
    lost = []
    try:
        for w in workloads:
            n = args.launches or WORKLOADS[w][2 if args.quick else 1]
            # one warm-up process per mode (PoCL kernel cache, page cache), not measured
            for m in modes:
                run_once(w, min(n, 1000), m, tmp, f"{w}-{m}-warm", args.cltrace_args, env, natives, wrap=pin)
            for r in range(args.repeats):
                order = modes[r % len(modes):] + modes[:r % len(modes)]  # rotate so no mode always goes first
                for m in order:
                    res = run_once(w, n, m, tmp, f"{w}-{m}-{r}", args.cltrace_args, env, natives, wrap=pin)
                    results.setdefault((w, m), []).append(res)
                    if m not in ("untraced", CLINTERCEPT, SELF_TIMED) and res["records"] != res["expected"]:
                        lost.append((w, m, r, res["records"], res["expected"]))
                    print(f"  {w:9s} {m:8s} #{r}: {res['us_per_launch']:10.3f} us/launch"
                          f"  main cpu {res.get('main_cpu_us', float('nan')):6.3f} us"
                          f"  VmHWM {res['vmhwm_kb'] / 1024:7.1f} MB"
                          + (f"  records {res['records']}/{res['expected']}" if "records" in res else ""),
                          flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    hdr = ["workload", "mode", "launches", "loop ms", "us/launch", "min-max us", "added us", "ratio", "vs CLI",
           "main cpu us", "cpu added", "peak RSS MB", "RSS +MB", "records"]
    mw = max([8] + [len(m) for m in modes])
    widths = [9, mw, 8, 9, 10, 17, 9, 6, 6, 11, 9, 11, 8, 17]
    med = statistics.median
    print()
    print(f"machine: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (end)")
    print(fmt_row(hdr, widths))
    print(fmt_row(["-" * w for w in widths], widths))
    for w in workloads:
        base = results[(w, "untraced")]
        base_us = med(x["us_per_launch"] for x in base)
        base_cpu = med(x["main_cpu_us"] for x in base)
        base_rss = med(x["vmhwm_kb"] for x in base) / 1024
        cli_added = None
        if (w, CLINTERCEPT) in results:
            cli_added = med(x["us_per_launch"] for x in results[(w, CLINTERCEPT)]) - base_us
        for m in modes:
            rs = results[(w, m)]
            us = [x["us_per_launch"] for x in rs]
            med_us = med(us)
            med_ms = med(x["loop_ns"] for x in rs) / 1e6
            rss = med(x["vmhwm_kb"] for x in rs) / 1024
            cpu = med(x["main_cpu_us"] for x in rs)
            vs_cli = "-"
            if m == "untraced":
                added, ratio, dcpu, drss, rec = "-", "1.00", "-", "-", "-"
            else:
                added = f"{med_us - base_us:+.2f}"
                ratio = f"{med_us / base_us:.2f}"
                dcpu = f"{cpu - base_cpu:+.3f}"
                drss = f"{rss - base_rss:+.1f}"
                if m == CLINTERCEPT:
                    rec = "(aggregates)"
                elif m == SELF_TIMED:
                    rec = "(the program)"
                else:
                    got = sum(x["records"] for x in rs)
                    exp = sum(x["expected"] for x in rs)
                    rec = f"{got}/{exp}" + (" ok" if got == exp else " LOST")
                    if cli_added is not None:
                        # cltrace's added cost in units of CLIntercept -d's (both from this run's untraced median)
                        vs_cli = f"{(med_us - base_us) / cli_added:.2f}" if cli_added > 0 else "n/a"
            print(fmt_row([w, m, int(rs[0]["launches"]), f"{med_ms:.1f}", f"{med_us:.3f}",
                           f"{min(us):.2f}-{max(us):.2f}", added, ratio, vs_cli, f"{cpu:.3f}", dcpu,
                           f"{rss:.1f}", drss, rec], widths))
    print()
    print_intervals(workloads, modes, results)
    print()
    print("workloads: trivial = clFinish every 1000 launches; sync = clFinish after every launch; event = the app's")
    print("  own event, released right after each launch (clFinish every 1000); realistic = a ~1 ms kernel.")
    print("loop ms / us/launch: medians of the driver's own CLOCK_MONOTONIC loop time (warm-up and build excluded);")
    print("added us = traced - untraced median us/launch; ratio = traced/untraced; "
          "vs CLI = added us / CLIntercept -d's")
    print("  added us in this run (only with CLINTERCEPT_LOADER; < 1: cltrace adds less); cpu added = main cpu us -")
    print("  untraced main cpu us; main cpu us = median CPU time")
    print("  (user+sys) of the launching thread over the loop, per launch; peak RSS = the driver's VmHWM")
    print("  (its ru_maxrss is also printed by the driver, but on Linux it carries over the forking Python parent's")
    print("  peak across exec, so it measures the launcher, not the program);")
    print("records = launch rows read back with cltrace.open(db).launches / launches issued (timed + warm-up).")
    if lost:
        print("LOST RECORDS:", lost)
        return 1
    return 0


def print_intervals(workloads, modes, results):
    """How well this run resolves the differences: 95% bootstrap intervals, over processes, of each traced mode's
    added cost (wall and launching-thread CPU) and, with CLIntercept measured, of its cost minus CLIntercept's."""
    floor = SELF_TIMED in modes
    hdr = ["workload", "mode", "added us [95%]", "cpu added [95%]", "minus CLI us [95%]", "cpu minus CLI [95%]",
           "verdict vs CLI"] + (["beyond self-timed [95%]", "cpu beyond [95%]"] if floor else [])
    widths = [9, max([8] + [len(m) for m in modes]), 22, 22, 22, 22, 24] + ([23, 22] if floor else [])
    print("intervals: median differences with 95% bootstrap intervals (each mode's processes resampled; the")
    print("process is the unit of replication). An interval that spans 0 means this run cannot tell the two apart.")
    if floor:
        print("beyond self-timed: a tool's cost minus what the driver charges the program that reads its own device")
        print("times (profiling queue, an event per launch, four timestamps, release): the tool's own part.")
    print(fmt_row(hdr, widths))
    print(fmt_row(["-" * x for x in widths], widths))

    def col(rs, key):
        return [x[key] for x in rs]

    for w in workloads:
        base = results[(w, "untraced")]
        cli = results.get((w, CLINTERCEPT))
        for m in modes:
            if m == "untraced":
                continue
            rs = results[(w, m)]
            row = [w, m, fmt_ci(*median_diff_ci(col(rs, "us_per_launch"), col(base, "us_per_launch"))),
                   fmt_ci(*median_diff_ci(col(rs, "main_cpu_us"), col(base, "main_cpu_us")), 3)]
            if cli and m not in (CLINTERCEPT, SELF_TIMED):
                wall = median_diff_ci(col(rs, "us_per_launch"), col(cli, "us_per_launch"))
                cpu = median_diff_ci(col(rs, "main_cpu_us"), col(cli, "main_cpu_us"))
                verdict = ("cheaper (wall)" if wall[2] < 0 else "costlier (wall)" if wall[1] > 0
                           else f"not resolved (wall ±{(wall[2] - wall[1]) / 2:.2f})")
                row += [fmt_ci(*wall), fmt_ci(*cpu, 3), verdict]
            else:
                row += ["-", "-", "-"]
            if floor and m != SELF_TIMED:
                st = results[(w, SELF_TIMED)]
                row += [fmt_ci(*median_diff_ci(col(rs, "us_per_launch"), col(st, "us_per_launch"))),
                        fmt_ci(*median_diff_ci(col(rs, "main_cpu_us"), col(st, "main_cpu_us")), 3)]
            elif floor:
                row += ["-", "-"]
            print(fmt_row(row, widths))


def callgrind_main(args, workloads, modes, natives, env, tmp, pin):
    """--callgrind N: instructions per launch, of the launching thread and of all threads, per mode (see the
    module docstring)."""
    if not shutil.which("valgrind"):
        sys.exit("--callgrind needs valgrind on PATH (Debian: apt-get install valgrind)")
    n = args.callgrind
    print(f"driver: {DRIVER}   callgrind, {n} and {2 * n} launches, repeats: {args.repeats}   "
          f"cltrace run args: {args.cltrace_args or '(defaults)'}")
    rows = {}
    for w in workloads:
        for r in range(args.repeats):
            for m in modes:
                split = {}
                for k in (n, 2 * n):
                    tag = f"cg-{w}-{m.replace('@', '_')}-{k}-{r}"
                    wrap = pin + ["valgrind", "--tool=callgrind", "--separate-threads=yes", "-q",
                                  f"--callgrind-out-file={os.path.join(tmp, tag)}.%p"]
                    run_once(w, k, m, tmp, tag, args.cltrace_args, env, natives, wrap=wrap, check=False)
                    files = glob.glob(os.path.join(tmp, f"{tag}.*"))
                    threads = [f for f in files if re.search(r"\.\d+-\d+$", f)]    # PID-THREAD, one per thread
                    main_thread = [f for f in threads if f.endswith("-01")]
                    if len(main_thread) != 1:
                        sys.exit(f"expected one callgrind file for the launching thread, found {main_thread}")
                    split[k] = callgrind_split(main_thread[0]) + (sum(callgrind_total(f) for f in threads),)
                    for f in files:
                        os.remove(f)
                per = [(b - a) / n for a, b in zip(split[n], split[2 * n])]
                rows.setdefault((w, m), []).append(per)
                print(f"  {w:9s} {m:8s} #{r}: {per[0]:8.0f} Ir/launch  shim-own {per[1]:6.0f}"
                      f"  OpenCL by shim {per[2]:6.0f}  all threads {per[3]:8.0f}", flush=True)
    hdr = ["workload", "mode", "Ir/launch", "added Ir", "vs CLI", "shim-own Ir", "OpenCL by shim Ir",
           "all threads Ir", "added", "vs CLI"]
    widths = [9, max([8] + [len(m) for m in modes]), 10, 9, 6, 11, 17, 14, 9, 6]
    print()
    print(fmt_row(hdr, widths))
    print(fmt_row(["-" * x for x in widths], widths))
    med = statistics.median
    for w in workloads:
        base = [med(p[i] for p in rows[(w, "untraced")]) for i in range(4)]
        cli = [med(p[i] for p in rows[(w, CLINTERCEPT)]) for i in range(4)] if (w, CLINTERCEPT) in rows else None

        def vs_cli(added, i):
            return f"{added / (cli[i] - base[i]):.2f}" if cli and cli[i] > base[i] else "-"

        for m in modes:
            v = [med(p[i] for p in rows[(w, m)]) for i in range(4)]
            ours = m not in ("untraced", CLINTERCEPT, SELF_TIMED)
            print(fmt_row([w, m, f"{v[0]:.0f}", "-" if m == "untraced" else f"{v[0] - base[0]:+.0f}",
                           vs_cli(v[0] - base[0], 0) if ours else "-",
                           f"{v[1]:.0f}" if ours else "-", f"{v[2]:.0f}" if ours else "-",
                           f"{v[3]:.0f}", "-" if m == "untraced" else f"{v[3] - base[3]:+.0f}",
                           vs_cli(v[3] - base[3], 3) if ours else "-"], widths))
    print()
    print("Ir/launch: instructions of the launching thread per launch, (Ir(2N) - Ir(N)) / N, median over repeats;")
    print("all threads: the same over every thread of the process (the driver's worker threads included: what a")
    print("tool makes the driver do elsewhere counts too; PoCL's idle workers make it noisier, repeat);")
    print("vs CLI: added Ir / CLIntercept -d's added Ir (< 1: cltrace adds fewer instructions);")
    print("shim-own: the shim library's own instructions + its calls outside OpenCL; OpenCL by shim: the OpenCL")
    print("calls the shim makes (in layer mode the app's launch enters the shim through the loader, and the")
    print("shim's forwarded launch is counted there). Kernel time (page faults, syscalls) is not in Ir.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
