"""`cltrace sweep` overhead per configuration run: spawn + shim + ingest, beyond the program's own time.

    python bench/bench_sweep_overhead.py [--configs N] [--repeats R] [--programs true,ocl0,k1000,k10000]
                                         [--modes auto] [--no-breakdown] [--keep DIR]

Goal (issue): "`cltrace sweep` overhead per configuration run (spawn + ingest) < 100 ms beyond the
program's own time".

Programs (each takes a dummy {c} argument so that every configuration is a distinct command):
  true     /bin/true {c}: no OpenCL at all (in layer mode the shim is never even loaded)
  ocl0     overhead trivial --launches 0 --warmup 0: OpenCL platform/context/program build, 0 launches
  k1000    overhead trivial --launches 1000 --warmup 0: 1,000 launches of a trivial kernel
  k10000   overhead trivial --launches 10000 --warmup 0: 10,000 launches

Per repeat and program, interleaved (the order of the two rotates between repeats):
  untraced  the same N commands run one after another from this Python process with subprocess.run
            (stdout to /dev/null): its wall time is the program's own time
  sweep     cltrace sweep -q -f -p c=1:N --repeat 1 -o DB [--mode M] -- PROG {c}   (wall time)
per-configuration overhead = (sweep wall - untraced loop wall) / N. That includes cltrace's one-off
CLI start-up (Python + imports, paid once per sweep), so it is also shown separately (`cltrace sweep
--dry-run` with the same arguments: parse, import, plan, no runs) and the marginal per-configuration
overhead = (sweep wall - start-up - untraced wall) / N (start-up: median of all dry runs of that
mode) is what a long sweep pays per run.

Breakdown (--no-breakdown to skip): `cltrace sweep` is run in-process through cltrace.cli.main.main with
run_traced, ingest_capture_dir, trace_into and run_latency_ms wrapped in perf_counter timers, next to
untraced subprocess.Popen runs from the same (equally large) process, giving per configuration:
  child extra   run_traced's child wall (Popen..wait) - untraced Popen..wait: exec with the shim
                loaded (layer: libcltrace_layer.so via OPENCL_LAYERS; preload: LD_PRELOAD), recording,
                and writing the capture at exit
  setup         run_traced minus its child wall: capture dir, environment
  ingest        ingest_capture_dir (capture files -> SQLite rows)
  record        trace_into minus run_traced and ingest: insert_run, tags, commit, capture dir removal
  latency       run_latency_ms (the progress bar's per-run median, computed even with -q)
  loop other    the rest of the sweep loop per run (stderr temp file, /dev/null open, progress calls)
Every sweep's trace is checked: runs == N and launches == N x launches per run.
"""
import argparse
import contextlib
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from overhead_driver import DRIVER, build, cltrace_cli, print_table  # noqa: E402  (bench/ is on sys.path)
GOAL_MS = 100.0

# name -> (argv template with {c}, kernel launches per run)
PROGRAMS = {
    "true": (["true", "{c}"], 0),
    "ocl0": ([DRIVER, "trivial", "--launches", "0", "--warmup", "0", "--cfg", "{c}"], 0),
    "k1000": ([DRIVER, "trivial", "--launches", "1000", "--warmup", "0", "--cfg", "{c}"], 1000),
    "k10000": ([DRIVER, "trivial", "--launches", "10000", "--warmup", "0", "--cfg", "{c}"], 10000),
}




def render(template, c):
    return [a.replace("{c}", str(c)) for a in template]


def untraced_loop(template, n, env):
    """The N configurations run plainly, back to back; returns (loop wall s, per-run walls)."""
    walls = []
    t0 = time.perf_counter()
    for c in range(1, n + 1):
        t = time.perf_counter()
        r = subprocess.run(render(template, c), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        walls.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"untraced {render(template, c)} failed (rc {r.returncode}): {r.stderr.decode()[-1000:]}")
    return time.perf_counter() - t0, walls


def sweep_cmd(template, n, db, mode, dry=False):
    cmd = cltrace_cli() + ["sweep", "-q", "-f", "-p", f"c=1:{n}", "--repeat", "1", "-o", db]
    if mode != "auto":
        cmd += ["--mode", mode]
    if dry:
        cmd.append("--dry-run")
    return cmd + ["--"] + template


def timed(cmd, env):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc {r.returncode}): {r.stderr.decode()[-2000:]}")
    return wall


def check_db(db, n, launches):
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        ok_runs = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'ok'").fetchone()[0]
        nl = conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0]
    finally:
        conn.close()
    return runs == n and ok_runs == n and nl == n * launches, f"runs {ok_runs}/{runs}/{n} launches {nl}/{n * launches}"


def remove_db(db):
    for s in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + s):
            os.remove(db + s)


# ---------------------------------------------------------------- in-process breakdown

def breakdown(template, n, mode, tmp, env_overrides):
    """One sweep run in-process with timers around its phases; returns per-config medians (ms)."""
    os.environ.update(env_overrides)
    import cltrace.record.session as session
    import cltrace.sweep.local as sweep_mod
    from cltrace.cli import main as cli_main

    times = {"run_traced": [], "child_wall": [], "ingest": [], "trace_into": [], "latency": []}
    orig = (session.run_traced, session.ingest_capture_dir, sweep_mod.trace_into, sweep_mod.run_latency_ms)

    def wrap(key, fn, post=None):
        def inner(*a, **kw):
            t = time.perf_counter()
            out = fn(*a, **kw)
            times[key].append(time.perf_counter() - t)
            if post:
                post(out)
            return out
        return inner

    session.run_traced = wrap("run_traced", orig[0], post=lambda child: times["child_wall"].append(child.wall_s))
    session.ingest_capture_dir = wrap("ingest", orig[1])
    sweep_mod.trace_into = wrap("trace_into", orig[2])
    sweep_mod.run_latency_ms = wrap("latency", orig[3])
    cli_main.build_parser()  # imports every command module (scipy, pandas) once, outside the timed sweep
    db = os.path.join(tmp, "breakdown.db")
    argv = ["sweep", "-q", "-f", "-p", f"c=1:{n}", "--repeat", "1", "-o", db] + \
        (["--mode", mode] if mode != "auto" else []) + ["--"] + template
    try:
        # untraced, same process, same Popen path as run_traced, interleaved with the sweep halves
        un = []
        for c in range(1, n + 1):
            t = time.monotonic()
            p = subprocess.Popen(render(template, c), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            p.wait()
            un.append(time.monotonic() - t)
        t = time.perf_counter()
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            rc = cli_main.main(argv)
        total = time.perf_counter() - t
        if rc != 0:
            sys.exit(f"in-process sweep {argv} failed with {rc}")
    finally:
        session.run_traced, session.ingest_capture_dir, sweep_mod.trace_into, sweep_mod.run_latency_ms = orig
        remove_db(db)
    med = lambda xs: statistics.median(xs) * 1e3  # noqa: E731
    per_config_total = (total - sum(times["child_wall"])) / n * 1e3 + med(times["child_wall"]) - med(un)
    return {
        "untraced": med(un),
        "child": med(times["child_wall"]),
        "child_extra": med(times["child_wall"]) - med(un),
        "setup": statistics.median(a - b for a, b in zip(times["run_traced"], times["child_wall"])) * 1e3,
        "ingest": med(times["ingest"]),
        "record": statistics.median(ti - rt - ig for ti, rt, ig in
                                    zip(times["trace_into"], times["run_traced"], times["ingest"])) * 1e3,
        "latency": med(times["latency"]),
        "loop_other": (total - sum(times["trace_into"]) - sum(times["latency"])) / n * 1e3,
        "total": per_config_total,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", type=int, default=20, help="configurations per sweep (default 20)")
    ap.add_argument("--repeats", type=int, default=3, help="sweeps per (program, mode); medians over these")
    ap.add_argument("--programs", default="true,ocl0,k1000,k10000")
    ap.add_argument("--modes", default="auto", help="comma list of auto,layer,preload (default auto)")
    ap.add_argument("--no-breakdown", action="store_true")
    ap.add_argument("--keep", help="directory for the traces (default: a temporary one, removed)")
    args = ap.parse_args()
    progs = [p for p in args.programs.split(",") if p]
    for p in progs:
        if p not in PROGRAMS:
            sys.exit(f"unknown program {p} (choose from {', '.join(PROGRAMS)})")
    modes = [m for m in args.modes.split(",") if m]
    n = args.configs

    build()
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    os.environ["POCL_CACHE_DIR"] = env["POCL_CACHE_DIR"]
    tmp = args.keep or tempfile.mkdtemp(prefix="cltrace-sweepbench-")
    os.makedirs(tmp, exist_ok=True)
    from cltrace.capture.modes import resolve_mode
    print(f"configs per sweep: {n}   repeats: {args.repeats}   modes: "
          + ", ".join(f"{m}->{resolve_mode(m)}" for m in modes) + f"   cpus: {os.cpu_count()}"
          f"   load avg: {os.getloadavg()[0]:.2f}")

    # CLI start-up alone (paid once per cltrace invocation)
    startup = {}
    for key, cmd in (("python -c pass", [sys.executable, "-c", "pass"]),
                     ("python -c 'import cltrace'", [sys.executable, "-c", "import cltrace"]),
                     ("cltrace --version", cltrace_cli() + ["--version"])):
        timed(cmd, env)
        startup[key] = statistics.median(timed(cmd, env) for _ in range(5))

    results = {}
    bad = []
    try:
        for p in progs:  # warm-up: PoCL kernel cache, page cache
            template, _ = PROGRAMS[p]
            untraced_loop(template, 2, env)
            for m in modes:
                db = os.path.join(tmp, "warm.db")
                timed(sweep_cmd(template, 2, db, m), env)
                remove_db(db)
        for r in range(args.repeats):
            for p in progs:
                template, launches = PROGRAMS[p]
                kinds = ["untraced"] + [("sweep", m) for m in modes] + [("dry", m) for m in modes]
                k = r % len(kinds)
                for kind in kinds[k:] + kinds[:k]:
                    if kind == "untraced":
                        wall, walls = untraced_loop(template, n, env)
                        results.setdefault((p, "untraced"), []).append((wall, statistics.median(walls)))
                        continue
                    what, m = kind
                    db = os.path.join(tmp, f"{p}-{m}-{r}.db")
                    wall = timed(sweep_cmd(template, n, db, m, dry=(what == "dry")), env)
                    results.setdefault((p, what, m), []).append(wall)
                    if what == "sweep":
                        ok, msg = check_db(db, n, launches)
                        if not ok:
                            bad.append((p, m, r, msg))
                        remove_db(db)
                u = results[(p, "untraced")][-1][0]
                print(f"  #{r} {p:7s} untraced {u:7.3f} s  "
                      + "  ".join(f"sweep[{m}] {results[(p, 'sweep', m)][-1]:7.3f} s "
                                  f"(dry-run {results[(p, 'dry', m)][-1]:.3f} s)" for m in modes), flush=True)

        print()
        print("CLI start-up (median of 5 processes, s): "
              + "   ".join(f"{k}: {v:.3f}" for k, v in startup.items()))
        print()
        hdr = ["program", "mode", "launches", "own ms/run", "untraced s", "sweep s", "dry-run s",
               "overhead ms/cfg", "marginal ms/cfg", "< 100 ms"]
        widths = [7, 7, 8, 10, 10, 8, 9, 15, 15, 16]
        rows = []
        verdicts = []
        # the CLI start-up does not depend on the program: pool every dry run of a mode
        startup_s = {m: statistics.median(x for p in progs for x in results[(p, "dry", m)]) for m in modes}
        for p in progs:
            launches = PROGRAMS[p][1]
            u_wall = statistics.median(x[0] for x in results[(p, "untraced")])
            u_run = statistics.median(x[1] for x in results[(p, "untraced")]) * 1e3
            for m in modes:
                # pair each sweep with the untraced loop and dry-run of the same repeat
                ovh = [(s - uw[0]) / n * 1e3 for s, uw in zip(results[(p, "sweep", m)], results[(p, "untraced")])]
                marg = [(s - startup_s[m] - uw[0]) / n * 1e3 for s, uw in
                        zip(results[(p, "sweep", m)], results[(p, "untraced")])]
                o, mg = statistics.median(ovh), statistics.median(marg)
                verdicts.append((p, m, o, mg))
                rows.append([p, m, launches, f"{u_run:.1f}", f"{u_wall:.3f}",
                             f"{statistics.median(results[(p, 'sweep', m)]):.3f}",
                             f"{statistics.median(results[(p, 'dry', m)]):.3f}",
                             f"{o:.1f} ({min(ovh):.0f}-{max(ovh):.0f})", f"{mg:.1f} ({min(marg):.0f}-{max(marg):.0f})",
                             ("PASS" if o < GOAL_MS else "FAIL") + "/" + ("PASS" if mg < GOAL_MS else "FAIL")])
        print_table(hdr, widths, rows)
        print()
        print(f"own ms/run: median untraced wall of one run; untraced s / sweep s / dry-run s: medians over "
              f"{args.repeats} repeats of N={n} configurations;")
        print("overhead ms/cfg = (sweep - untraced) / N, start-up included (median, min-max over repeats);")
        print("marginal ms/cfg = (sweep - start-up - untraced) / N, "
              "where start-up = median wall of `cltrace sweep --dry-run`")
        print("  (same arguments: interpreter, imports, parsing, planning, no runs) "
              "pooled over all programs of the mode;")
        print("'< 100 ms' column: overhead/marginal against the goal.")

        if not args.no_breakdown:
            print()
            print(f"Breakdown, in-process `cltrace sweep` (N={n}, medians per configuration, ms):")
            hdr = ["program", "mode", "own run", "traced run", "child extra", "setup", "ingest", "record",
                   "latency q", "loop other", "total/cfg"]
            widths = [7, 7, 8, 10, 11, 6, 7, 7, 9, 10, 9]
            rows = []
            for p in progs:
                for m in modes:
                    b = breakdown(PROGRAMS[p][0], n, m, tmp, {"POCL_CACHE_DIR": env["POCL_CACHE_DIR"]})
                    rows.append([p, m] + [f"{b[k]:.1f}" for k in ("untraced", "child", "child_extra", "setup",
                                                                    "ingest", "record", "latency", "loop_other",
                                                                    "total")])
            print_table(hdr, widths, rows)
            print("own run / traced run: Popen..wait of the program untraced / under the shim (same process);")
            print("child extra = traced - own (shim load + recording + capture write); setup = run_traced - child;")
            print("record = insert_run + tags + commit + capture-dir removal; latency q = run_latency_ms;")
            print("loop other = per-run rest of the sweep loop (parser and db creation spread over N included);")
            print("total/cfg = everything in main() except the program's own untraced time, per configuration")
            print("  (no interpreter start-up: that is the `cltrace --version` line above, once per sweep).")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    worst = max(verdicts, key=lambda v: v[2])
    worst_m = max(verdicts, key=lambda v: v[3])
    print(f"GOAL sweep overhead < {GOAL_MS:.0f} ms per configuration (N={n}, start-up included): "
          + ("PASS" if worst[2] < GOAL_MS else "FAIL") + f" (worst {worst[0]}/{worst[1]}: {worst[2]:.1f} ms)")
    print("GOAL marginal (start-up excluded): " + ("PASS" if worst_m[3] < GOAL_MS else "FAIL")
          + f" (worst {worst_m[0]}/{worst_m[1]}: {worst_m[3]:.1f} ms)")
    if bad:
        print("TRACE CHECK FAILED:", bad)
        return 1
    print("trace check: every sweep recorded N ok runs and N x launches launch rows")
    return 0 if worst[2] < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
