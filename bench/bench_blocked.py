"""Blocked runs against one process per configuration: the same step verdicts, for how much wall time?

    python bench/bench_blocked.py [--workloads tiled,clblast] [--pairs 2] [--unblocked tiled=8,clblast=6]
                                  [--blocked tiled=3,clblast=3] [--blocked-warmup variant|count] [--keep DIR]

The demo's two workloads (examples/demo.py), each swept both ways by a real `cltrace sweep` and analysed with
`analyse(cltrace.open(db).samples(), "channels")`:
- tiled: conv_bench --method tiled, resnet50.L15, channels 1..12, PoCL on one thread, 40 iterations per
  configuration and process; its true stairs: up at 4->5 and 8->9 (tiles of 4 channels, one work-group each,
  run one after another);
- clblast: conv_bench --method clblast, a 14x14x2048 3x3 layer, channels 197..202, one thread, 1 iteration
  after 1 warm-up; its true stair: down at 199->200 (CLBlast's direct -> indirect GEMM switch).
One process per configuration (`--repeat` = the demo's 8 and 6 processes) against blocked runs (`--block`
= every configuration of the workload in each process, `--repeat` processes of them). The two designs of a
pair run back to back, their order alternating between pairs, so that both see the same load. A blocked process
warms up once per variant of its list (`conv_bench --warmup-per variant`: tiled one count per work-group count;
clblast the largest count, and every count by a CLBlast call with k = 1, either side of its direct/indirect
switch), not once per count (`--blocked-warmup count`, the design measured before). Printed: per
sweep the wall time and the steps found; at the end, per workload and design, how many sweeps found exactly
the true stairs (from -> to, direction), the mean wall time, and the blocked / unblocked wall-time ratio, with
the load averages. The target (issue 24): the same verdicts in <= 1/3 of the wall time.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _sweep_bench as sb

ONE_THREAD = ["env", "POCL_MAX_PTHREAD_COUNT=1"]
WORKLOADS = {
    # name: (channels, program args after conv_bench, true stairs {(from, to, up)})
    "tiled": ("1:12", ["--layer", "resnet50.L15", "--iters", "40", "--warmup", "1"], {(4, 5, True), (8, 9, True)}),
    "clblast": ("197:202", ["--input", "14x14x2048", "--kernel", "3", "--pad", "1", "--iters", "1", "--warmup", "1"],
                {(199, 200, False)}),
}


def per_workload(text, what):
    out = {}
    for part in text.split(","):
        name, _, n = part.partition("=")
        if name not in WORKLOADS or not n.isdigit() or int(n) < 2:
            sys.exit(f"bench_blocked: {what} takes NAME=N with NAME in {', '.join(WORKLOADS)} and N >= 2, "
                     f"not {part!r}")
        out[name] = int(n)
    return out


def found(steps):
    """{(from, to, up)} of the steps found."""
    if steps is None or len(steps) == 0:
        return set()
    return {(sb._num(f), sb._num(t), float(r) > 1) for f, t, r in
            zip(steps["from_value"], steps["to_value"], steps["ratio"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--workloads", default="tiled,clblast")
    ap.add_argument("--pairs", type=int, default=2, help="sweeps of each design per workload")
    ap.add_argument("--unblocked", default="tiled=8,clblast=6",
                    help="processes per configuration, one configuration per process (the demo's)")
    ap.add_argument("--blocked", default="tiled=3,clblast=3",
                    help="processes, each measuring every configuration of the workload (--block = all)")
    ap.add_argument("--blocked-warmup", choices=("variant", "count"), default="variant",
                    help="conv_bench --warmup-per of the blocked processes")
    ap.add_argument("--keep", metavar="DIR", help="keep the trace files in DIR")
    a = ap.parse_args()
    names = [w for w in a.workloads.split(",") if w]
    if not names or any(w not in WORKLOADS for w in names):
        ap.error(f"--workloads takes {', '.join(WORKLOADS)}")
    if a.pairs < 1:
        ap.error("--pairs must be >= 1")
    unblocked, blocked = per_workload(a.unblocked, "--unblocked"), per_workload(a.blocked, "--blocked")
    sb.ensure_bench()
    sweepers = {}
    load0 = None
    results = {}
    t_all = time.perf_counter()
    for w in names:
        channels, args, truth = WORKLOADS[w]
        lo, hi = (int(x) for x in channels.split(":"))
        m = hi - lo + 1
        program = ONE_THREAD + [sb.BENCH, *args, "--method", w, "--out-channels", "{channels}"]
        programs = {"unblocked": program, "blocked": program + ["--warmup-per", a.blocked_warmup]}
        designs = {"unblocked": (sb.Sweeper(a.keep, "shuffle"), unblocked[w]),
                   "blocked": (sb.Sweeper(a.keep, "shuffle", ["--block", str(m)]), blocked[w])}
        if load0 is None:
            load0 = sb.header(designs["unblocked"][0], __file__, sys.argv[1:])
        sweepers.update({(w, d): s for d, (s, _) in designs.items()})
        print(f"\n[{w}] true stairs: " + ", ".join(f"{f}->{t} {'up' if u else 'down'}" for f, t, u in sorted(truth)))
        for d, (s, r) in designs.items():
            print(f"  {d}: {s.command([f'channels={channels}'], r, programs[d], 'on', db=f'{w}.db')[2]}")
        for i in range(a.pairs):
            order = ["unblocked", "blocked"] if i % 2 == 0 else ["blocked", "unblocked"]
            for d in order:
                s, r = designs[d]
                res = s.run([f"channels={channels}"], r, programs[d], "on", "channels", f"{w}-{d}")
                got = found(res["steps"])
                results.setdefault((w, d), []).append((res["wall_s"], got == truth, res["runs"]))
                print(f"  pair {i + 1} {d:<9}: {res['runs']:>3} processes, sweep {res['wall_s']:6.1f} s, "
                      f"{'TRUE stairs' if got == truth else 'other verdicts'}: {sb.fmt_steps(res['steps'])}",
                      flush=True)
    load1 = sb.loadavg()
    for s in sweepers.values():
        s.cleanup()

    print("\n=== blocked vs one process per configuration " + "=" * 40)
    print(f"{'workload':<9} {'design':<10} {'procs/config':>12} {'processes':>9} {'true stairs':>11} "
          f"{'mean wall s':>11} {'ratio':>6}")
    for w in names:
        base = None
        for d, reps in (("unblocked", unblocked[w]), ("blocked", blocked[w])):
            rows = results[(w, d)]
            wall = sum(x for x, _, _ in rows) / len(rows)
            ok = sum(1 for _, t, _ in rows if t)
            base = wall if base is None else base
            print(f"{w:<9} {d:<10} {reps:>12} {rows[0][2]:>9} {f'{ok}/{len(rows)}':>11} {wall:>11.1f} "
                  f"{wall / base:>6.2f}")
    print(f"load average at start {load0}, at end {load1}")
    print(f"total wall time {time.perf_counter() - t_all:.0f} s; reproduce: {sb.argv_line(__file__, sys.argv[1:])}")


if __name__ == "__main__":
    main()
