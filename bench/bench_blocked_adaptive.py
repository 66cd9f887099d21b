"""Blocked sweeps with and without --adaptive, side by side: the true stairs found, processes and wall time.

    python bench/bench_blocked_adaptive.py [--pairs 3] [--repeat 2] [--block 12]

The workload is bench_blocked.py's tiled one (conv_bench --method tiled, resnet50.L15, channels 1..12, one PoCL
thread, 40 iterations; true stairs 4->5 and 8->9 up). Each pair runs `cltrace sweep --block K --repeat R` and the
same with `--adaptive` (its rounds: new processes of the undecided counts and their neighbours, docs/analysis.md
3b), alternating which goes first, each with a new --seed. Printed per sweep: processes, wall time, whether the
steps found are exactly the true stairs; then the means per design.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _sweep_bench as sb
from bench_blocked import ONE_THREAD, WORKLOADS, found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2, help="blocked processes per configuration in the first pass")
    ap.add_argument("--block", type=int, default=12, help="--block K (12: every count in each process)")
    ap.add_argument("--keep", metavar="DIR", help="keep the trace files in DIR")
    a = ap.parse_args()
    if a.pairs < 1 or a.repeat < 1 or not 2 <= a.block <= 12:
        ap.error("--pairs and --repeat must be >= 1, --block 2..12")
    sb.ensure_bench()
    channels, args, truth = WORKLOADS["tiled"]
    program = ONE_THREAD + [sb.BENCH, *args, "--method", "tiled", "--out-channels", "{channels}"]
    block = ["--block", str(a.block)]
    designs = {"blocked": sb.Sweeper(a.keep, "shuffle", block),
               "blocked+adaptive": sb.Sweeper(a.keep, "shuffle", block + ["--adaptive"])}
    load0 = sb.header(designs["blocked"], __file__, sys.argv[1:])
    for d, s in designs.items():
        print(f"  {d}: {s.command([f'channels={channels}'], a.repeat, program, 'on', db='t.db')[2]}")
    res = {}
    for i in range(a.pairs):
        for d in (list(designs) if i % 2 == 0 else list(designs)[::-1]):
            r = designs[d].run([f"channels={channels}"], a.repeat, program, "on", "channels",
                               "tiled-" + d.replace("+", "-"))
            ok = found(r["steps"]) == truth
            res.setdefault(d, []).append((r["wall_s"], ok, r["runs"]))
            print(f"  pair {i + 1} {d:<17} {r['runs']:>2} processes, sweep {r['wall_s']:6.1f} s, "
                  f"{'TRUE stairs' if ok else 'other verdicts'}: {sb.fmt_steps(r['steps'])}", flush=True)
    for s in designs.values():
        s.cleanup()
    print("\n=== blocked, without and with --adaptive " + "=" * 40)
    for d, rows in res.items():
        procs = [p for *_, p in rows]
        print(f"{d:<17} true stairs {sum(o for _, o, _ in rows)}/{len(rows)}, processes {min(procs)}-{max(procs)} "
              f"(mean {sum(procs) / len(rows):.1f}), mean wall {sum(w for w, *_ in rows) / len(rows):.1f} s")
    print(f"load average at start {load0}, at end {sb.loadavg()}")
    print(f"reproduce: {sb.argv_line(__file__, sys.argv[1:])}")


if __name__ == "__main__":
    main()
