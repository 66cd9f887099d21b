"""A/A benchmark: how often does the staircase analysis find a step where there is none?

    python bench/bench_aa.py [--sweeps 10] [--stabilise on|off|both] [--repeat 3] [--iters 5] [--block K]
                             [--adaptive [--max-runs N]] [--warmup-per count|variant]

Each sweep runs one real PoCL workload, examples/bin/conv_bench at a FIXED channel count, over a dummy
parameter that the program ignores (`-p dummy=1:12`, passed as an environment variable the program never
reads), `--repeat` processes per value, traced by `cltrace sweep` into one trace, then analysed with
`analyse(cltrace.open(db).samples(), "dummy")`. Every step found is false. Printed: per sweep the steps
found, and at the end the share of sweeps with any false step, per stabiliser setting (on: PoCL threads
pinned, POCL_AFFINITY=1, by `cltrace sweep` itself when it offers that, else set here; off: unpinned).
The default run (2 x 10 sweeps of 36 short processes) takes a few minutes on 2 cores.

--block K: blocked runs (`cltrace sweep --block K`): each process measures K dummy values, the same layer once
per value (`conv_bench --aa-label dummy=V1,V2,...`, its regions tagged with the value, in the sweep's random
order), and the analysis compares values inside each process and permutes them within it
(docs/analysis.md). Every step found is false there too: the target is <= 5% of sweeps.

--adaptive: `cltrace sweep --adaptive` (with --block K: each round is new processes of the undecided values and
their neighbours); the figures are those of the final trace, after the rounds, and a sweep's processes, re-run
values and rounds are printed. Adaptive rounds re-test the data as it grows, so this is the check that they keep
the false-step share at the target.

--warmup-per variant (with --block): the warm-up runs go to one value of the process only (conv_bench
--warmup-per variant: the smallest value, and with --method clblast the largest too); a first measured run that
paid a cost the warmed value had paid in its warm-up would show as a false step next to those values.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _sweep_bench as sb


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--sweeps", type=int, default=10, help="A/A sweeps per stabiliser setting")
    ap.add_argument("--stabilise", choices=("on", "off", "both"), default="both")
    ap.add_argument("--values", default="1:12", help="values of the dummy parameter")
    ap.add_argument("--repeat", type=int, default=3, help="processes per dummy value")
    ap.add_argument("--method", default="gemm", help="conv_bench --method")
    ap.add_argument("--channels", type=int, default=93, help="the fixed --out-channels")
    ap.add_argument("--layer", default="resnet50.L15")
    ap.add_argument("--scale", default="0.5")
    ap.add_argument("--iters", type=int, default=5, help="measured iterations (regions) per process")
    ap.add_argument("--keep", metavar="DIR", help="keep the trace files in DIR")
    ap.add_argument("--block", type=int, default=1, metavar="K",
                    help="cltrace sweep --block K: each process measures K dummy values (1: one process each)")
    ap.add_argument("--warmup-per", choices=("count", "variant"), default="count",
                    help="conv_bench --warmup-per of the blocked processes (with --block)")
    ap.add_argument("--order", choices=("default", "interleave", "shuffle"), default="shuffle",
                    help="cltrace sweep --order; shuffle: a new --seed per sweep (the analysis' permutation "
                         "test is exact only for rounds in random order: docs/analysis.md)")
    ap.add_argument("--adaptive", action="store_true", help="cltrace sweep --adaptive (rounds where a verdict is open)")
    ap.add_argument("--max-runs", type=int, metavar="N", help="cltrace sweep --max-runs N (with --adaptive)")
    a = ap.parse_args()
    if a.sweeps < 1 or a.repeat < 1 or a.block < 1:
        ap.error("--sweeps, --repeat and --block must be >= 1")
    if a.max_runs is not None and not a.adaptive:
        ap.error("--max-runs is a budget of --adaptive: give --adaptive too")
    if a.warmup_per != "count" and a.block < 2:
        ap.error("--warmup-per variant needs --block K (K >= 2): a process of one value warms it up either way")

    sb.ensure_bench()
    extra = (["--block", str(a.block)] if a.block > 1 else []) + (["--adaptive"] if a.adaptive else []) \
        + (["--max-runs", str(a.max_runs)] if a.max_runs is not None else [])
    # --adaptive reads each trace's notes after its analysis: kept in a directory of its own unless --keep
    scratch = tempfile.mkdtemp(prefix="cltrace-aa-") if a.adaptive and not a.keep else None
    sw = sb.Sweeper(a.keep or scratch, None if a.order == "default" else a.order, extra)
    common = [sb.BENCH, "--layer", a.layer, "--scale", a.scale, "--out-channels", str(a.channels),
              "--method", a.method, "--iters", str(a.iters), "--warmup", "2"]
    if a.block > 1:         # one process measures K values: its regions say which
        program = common + ["--aa-label", "dummy={dummy}", "--warmup-per", a.warmup_per]
    else:
        program = ["env", "CLTRACE_AA_DUMMY={dummy}"] + common
    params = [f"dummy={a.values}"]
    design = (f", --block {a.block}, --warmup-per {a.warmup_per}" if a.block > 1 else "") \
        + (" --adaptive" if a.adaptive else "") \
        + (f" --max-runs {a.max_runs}" if a.max_runs is not None else "")
    print(f"A/A: conv_bench --method {a.method} --layer {a.layer} --scale {a.scale} --out-channels {a.channels}, "
          f"swept over an ignored dummy={a.values}, --repeat {a.repeat}, --iters {a.iters}{design}")
    load0 = sb.header(sw, __file__, sys.argv[1:])
    t_all = time.perf_counter()
    results = {}
    for mode in sb.modes(a.stabilise):
        _, _, line = sw.command(params, a.repeat, program, mode, db="aa.db")
        print(f"\n[stabilise {mode}] one sweep: {line}", flush=True)
        rows = []
        t_mode = time.perf_counter()
        for i in range(a.sweeps):
            r = sw.run(params, a.repeat, program, mode, "dummy", f"aa-{mode}")
            rows.append(r)
            fail = f", {r['failed']} failed run(s)" if r["failed"] else ""
            if a.adaptive:
                r.update(adaptive_figures(r["db"]))
                if scratch:
                    os.remove(r["db"])
                fail += (f", {r['rounds']} round(s) re-running {r['rerun']} value(s) in {r['rerun_processes']} "
                         f"process(es)")
            print(f"  sweep {i + 1:>2}/{a.sweeps}: {len(r['steps'])} step(s): {sb.fmt_steps(r['steps'])}"
                  f"   ({r['runs']} runs{fail}, sweep {r['wall_s']:.1f} s, analyse {r['analyse_s']:.2f} s)",
                  flush=True)
        results[mode] = (rows, time.perf_counter() - t_mode)
    sw.cleanup()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    total = time.perf_counter() - t_all

    print("\n=== A/A figures " + "=" * 60)
    print(f"workload  conv_bench {a.method} {a.layer} --scale {a.scale}, {a.channels} channels, dummy={a.values}, "
          f"--repeat {a.repeat}, --iters {a.iters}{design}")
    print(f"{'stabilise':<10} {'sweeps':>6} {'with false step':>15} {'share':>6} {'false steps':>11} "
          f"{'wall s':>7}")
    for mode, (rows, wall) in results.items():
        bad = sum(1 for r in rows if len(r["steps"]) > 0)
        nsteps = sum(len(r["steps"]) for r in rows)
        print(f"{mode:<10} {len(rows):>6} {bad:>15} {bad / len(rows):>6.2f} {nsteps:>11} {wall:>7.0f}")
    if a.adaptive:
        for mode, (rows, _) in results.items():
            runs = [r["runs"] for r in rows]
            print(f"adaptive ({mode}): processes per sweep {min(runs)}-{max(runs)}"
                  f" (mean {sum(runs) / len(rows):.1f}); sweeps with a round "
                  f"{sum(1 for r in rows if r['rounds'])}/{len(rows)}; values re-run per sweep, mean "
                  f"{sum(r['rerun'] for r in rows) / len(rows):.1f}")
    for mode, (rows, _) in results.items():
        found = [(i + 1, r["steps"]) for i, r in enumerate(rows) if len(r["steps"]) > 0]
        print(f"steps found ({mode}):" + (" none" if not found else ""))
        for i, s in found:
            print(f"  sweep {i}: {sb.fmt_steps(s)}")
    print(f"load average at start {load0}, at end {sb.loadavg()}")
    print(f"total wall time {total:.0f} s; reproduce: {sb.argv_line(__file__, sys.argv[1:])}")


def adaptive_figures(db):
    """rounds, values re-run and processes re-run of an adaptive sweep's trace (its adaptive-round notes; a
    blocked process's values from its block note)."""
    import sqlite3
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT n.run_id, n.value, (SELECT b.value FROM notes b WHERE b.run_id = n.run_id AND "
                            "b.kind = 'block') FROM notes n WHERE n.kind = 'adaptive-round'").fetchall()
    finally:
        conn.close()
    return dict(rounds=len({k for _, k, _ in rows}), rerun=sum(v or 1 for _, _, v in rows), rerun_processes=len(rows))


if __name__ == "__main__":
    main()
