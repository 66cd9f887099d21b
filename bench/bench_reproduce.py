"""Reproducibility benchmark: does the staircase analysis find the same steps when a real sweep is re-run?

    python bench/bench_reproduce.py [--pairs 5] [--workloads wave,gemm] [--stabilise on|off|both]

Workloads with a known mechanical stair, each swept twice independently (two `cltrace sweep` runs of
examples/bin/conv_bench, `--repeat` processes per channel count), per pair, analysed with
`analyse(cltrace.open(db).samples(), "channels")`:

- wave: `--method tiled` (one work-group per tile of 4 output channels, ceil(C/4) work-groups, run in
  rounds of CU = CL_DEVICE_MAX_COMPUTE_UNITS), channels 4*CU-3 .. 4*CU+4; the true stair is
  4*CU -> 4*CU+1 (CU read from the device, not assumed).
- gemm: `--method gemm` (float4 GEMM for the channels rounded down to a multiple of 4 plus a scalar
  `gemm_tail` dispatch for the rest), channels 9..16 by default; the true stairs are the extra-dispatch
  up-steps 4k -> 4k+1 inside the range (12 -> 13).

Printed: how often the two step sets of a pair are identical (same (group_label, from_value, to_value) triples;
"both empty" counts the identical pairs where neither sweep found anything) and how often the true stair is found
in both sweeps of a pair; a found step spanning an interval counts when from_value <= true_from and to_value >=
true_to and it goes the true way (up).
The default run (2 settings x 2 workloads x 5 pairs x 2 sweeps of 24 short processes) takes a few
minutes on 2 cores.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _sweep_bench as sb


def parse_range(text):
    a, b = (int(x) for x in text.split(":"))
    if not 1 <= a < b:
        raise argparse.ArgumentTypeError(f"invalid range {text!r} (expected a:b with 1 <= a < b)")
    return a, b


def workloads(a, cu):
    """name -> (sweep params, program argv, [(true_from, true_to)], description)."""
    out = {}
    common = ["--iters", str(a.iters), "--warmup", "2"]
    if "wave" in a.workloads:
        lo, hi = a.wave_channels or sb.wave_range(cu)
        true = [(c, c + 1) for c in range(lo, hi) if c % (sb.TILE * cu) == 0]
        out["wave"] = ([f"channels={lo}:{hi}"],
                       [sb.BENCH, "--layer", a.layer, "--scale", a.wave_scale, "--out-channels", "{channels}",
                        "--method", "tiled", *common],
                       true,
                       f"tiled {a.layer} --scale {a.wave_scale}, channels {lo}:{hi}; "
                       f"{cu} compute units -> stair " + ", ".join(f"{f}->{t}" for f, t in true))
    if "gemm" in a.workloads:
        lo, hi = a.gemm_channels
        true = [(m, m + 1) for m in range(lo, hi) if m % sb.GEMM_VEC == 0]
        out["gemm"] = ([f"channels={lo}:{hi}"],
                       [sb.BENCH, "--layer", a.layer, "--scale", a.gemm_scale, "--out-channels", "{channels}",
                        "--method", "gemm", *common],
                       true,
                       f"gemm {a.layer} --scale {a.gemm_scale}, channels {lo}:{hi}; extra gemm_tail dispatch -> "
                       + ", ".join(f"{f}->{t}" for f, t in true))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--pairs", type=int, default=5, help="independent pairs of sweeps per workload and setting")
    ap.add_argument("--workloads", default="wave,gemm", help="comma list of wave, gemm")
    ap.add_argument("--stabilise", choices=("on", "off", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=3, help="processes per channel count")
    ap.add_argument("--iters", type=int, default=5, help="measured iterations (regions) per process")
    ap.add_argument("--layer", default="resnet50.L15")
    ap.add_argument("--wave-scale", default="1", help="--scale of the wave workload")
    ap.add_argument("--gemm-scale", default="1", help="--scale of the gemm workload")
    ap.add_argument("--gemm-channels", type=parse_range, default=(9, 16), help="channel range a:b of gemm")
    ap.add_argument("--wave-channels", type=parse_range, default=None,
                    help="channel range a:b of wave (default 4*CU-3:4*CU+4; issue 23's demo: 5:20 --repeat 6 "
                         "--iters 10)")
    ap.add_argument("--keep", metavar="DIR", help="keep the trace files in DIR")
    ap.add_argument("--block", type=int, default=1, metavar="K",
                    help="cltrace sweep --block K: each process measures K channel counts (1: one process each)")
    ap.add_argument("--order", choices=("default", "interleave", "shuffle"), default="shuffle",
                    help="cltrace sweep --order; shuffle: a new --seed per sweep (the analysis' permutation "
                         "test is exact only for rounds in random order: docs/analysis.md)")
    a = ap.parse_args()
    a.workloads = [w.strip() for w in a.workloads.split(",") if w.strip()]
    if not a.workloads or set(a.workloads) - {"wave", "gemm"}:
        ap.error("--workloads: a comma list of wave, gemm")
    if a.pairs < 1 or a.repeat < 1 or a.block < 1:
        ap.error("--pairs, --repeat and --block must be >= 1")

    sb.ensure_bench()
    cu = sb.compute_units()
    sw = sb.Sweeper(a.keep, None if a.order == "default" else a.order,
                    ["--block", str(a.block)] if a.block > 1 else [])
    wl = workloads(a, cu)
    print(f"reproducibility: {a.pairs} pairs of independent sweeps per workload, --repeat {a.repeat}, "
          f"--iters {a.iters}" + (f", --block {a.block}" if a.block > 1 else "") + f"; device: {cu} compute units")
    load0 = sb.header(sw, __file__, sys.argv[1:])
    t_all = time.perf_counter()
    table = []
    for name, (params, program, true, desc) in wl.items():
        for mode in sb.modes(a.stabilise):
            _, _, line = sw.command(params, a.repeat, program, mode, db=f"{name}.db")
            print(f"\n[{name}, stabilise {mode}] {desc}\n  one sweep: {line}", flush=True)
            t0 = time.perf_counter()
            same = both = empty = agreed = 0
            found = {t: 0 for t in true}
            nsteps = 0
            every = []
            for i in range(a.pairs):
                ra = sw.run(params, a.repeat, program, mode, "channels", f"{name}-{mode}")
                rb = sw.run(params, a.repeat, program, mode, "channels", f"{name}-{mode}")
                every += [ra["steps"], rb["steps"]]
                ident = sb.step_set(ra["steps"]) == sb.step_set(rb["steps"])
                agreed += sb.agree(ra["steps"], rb["steps"])
                hit = [all(sb.covers(r["steps"], f, t, up=True) for f, t in true) for r in (ra, rb)]
                for r in (ra, rb):
                    nsteps += len(r["steps"])
                    for f, t in true:
                        found[(f, t)] += sb.covers(r["steps"], f, t, up=True)
                same += ident
                empty += ident and len(ra["steps"]) == 0
                both += all(hit)
                fails = ra["failed"] + rb["failed"]
                print(f"  pair {i + 1}/{a.pairs}: identical {'yes' if ident else 'no '}  true stair in both "
                      f"{'yes' if all(hit) else 'no '}{f'  ({fails} failed runs)' if fails else ''}\n"
                      f"    A: {sb.fmt_steps(ra['steps'])}\n    B: {sb.fmt_steps(rb['steps'])}", flush=True)
            # every pair of sweeps (not only A with B): for each true stair, do the location intervals of the
            # steps that cover it overlap? (issue 23: exact places four counts apart)
            stair_pairs = stair_overlap = 0
            for f, t in true:
                iv = [[(r["location_from"], r["location_to"]) for r in st.to_dict("records")
                       if float(r["ratio"]) > 1 and r["location_from"] <= f and t <= r["location_to"]] for st in every]
                for x in range(len(iv)):
                    for y in range(x + 1, len(iv)):
                        if iv[x] and iv[y]:
                            stair_pairs += 1
                            stair_overlap += any(lo1 < hi2 and lo2 < hi1 for lo1, hi1 in iv[x] for lo2, hi2 in iv[y])
            allp = sum(sb.agree(every[x], every[y]) for x in range(len(every)) for y in range(x + 1, len(every)))
            nall = len(every) * (len(every) - 1) // 2
            print(f"  all {nall} pairs of the {len(every)} sweeps: steps agree (overlapping intervals) in {allp}; "
                  f"pairs that both found a true stair: {stair_pairs}, their intervals overlap in {stair_overlap}",
                  flush=True)
            table.append((name, mode, a.pairs, same, empty, agreed, both, found, nsteps, time.perf_counter() - t0,
                          ", ".join(f"{f}->{t}" for f, t in true)))
    sw.cleanup()
    total = time.perf_counter() - t_all

    print("\n=== reproducibility figures " + "=" * 48)
    print(f"device {cu} compute units; --repeat {a.repeat}, --iters {a.iters}; "
          "'found' = sweeps (of 2 x pairs) whose steps cover each true stair")
    print("'agree' = the same steps up to their location intervals (one to one, same direction, overlapping)")
    print(f"{'workload':<8} {'stabilise':<9} {'true stair':<12} {'pairs':>5} {'identical':>9} {'(both empty)':>12} "
          f"{'agree':>6} {'true in both':>12} {'found':>7} {'steps/sweep':>11} {'wall s':>7}")
    for name, mode, pairs, same, empty, agreed, both, found, nsteps, wall, tl in table:
        f = " ".join(f"{v}/{2 * pairs}" for v in found.values())
        print(f"{name:<8} {mode:<9} {tl:<12} {pairs:>5} {f'{same}/{pairs}':>9} {f'({empty})':>12} "
              f"{f'{agreed}/{pairs}':>6} {f'{both}/{pairs}':>12} {f:>7} {nsteps / (2 * pairs):>11.1f} {wall:>7.0f}")
    print(f"load average at start {load0}, at end {sb.loadavg()}")
    print(f"total wall time {total:.0f} s; reproduce: {sb.argv_line(__file__, sys.argv[1:])}")


if __name__ == "__main__":
    main()
