"""What one more job costs on PoCL: the bifrost GEMM of conv_bench, paired in one process (issue 22, item 7).

    OPENCL_LAYERS=$PWD/examples/bin/libsplit_layer.so python bench/bench_split_jobs.py [--n 784] [--kd 1152]
        [--reps 200]

gemm_mm_f32_bifrost_like (examples/kernels/conv_cl2.cl) over N output pixels and Kd = C*K*K, launched in
round-robin order, device time (first START to last END, from the events) per variant:
  24      global 24 x N, local 4 x 1: one job (C = 93..96)
  20+4    the same 24 columns as two uniform launches, 20 and 4 at x offset 20, local 4: the same work-groups
          and work, one job more: what a job costs by itself
  23      global 23 x N, local 4 x 1 (C = 89..92), through the split layer: 20 (local 4) + 3 (local 3), two jobs
  20      global 20 x N, local 4 x 1: one job (C = 77..80), for the cost of a column of 4 channels
Process-level noise (thread placement, other work on the machine) hits all variants alike; the medians and the
differences of the paired rounds are printed. Needs the split layer for `23` (PoCL alone refuses it).
"""
import argparse
import os
import statistics
import sys

import numpy as np
import pyopencl as cl

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "examples", "kernels", "conv_cl2.cl")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=784, help="output pixels (default 784: resnet50.L15, 28x28)")
    ap.add_argument("--kd", type=int, default=1152, help="C*K*K (default 1152: 128 channels, 3x3)")
    ap.add_argument("--reps", type=int, default=200, help="rounds (default 200)")
    a = ap.parse_args()
    ctx = cl.create_some_context(interactive=False)
    q = cl.CommandQueue(ctx, properties=cl.command_queue_properties.PROFILING_ENABLE)
    prog = cl.Program(ctx, open(SRC).read()).build(options=["-cl-std=CL2.0"])
    k = cl.Kernel(prog, "gemm_mm_f32_bifrost_like")
    mp, m = 96, 96
    mf = cl.mem_flags
    rng = np.random.default_rng(1)
    wt = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=rng.random(a.kd * mp, dtype=np.float32))
    col = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=rng.random(a.kd * a.n, dtype=np.float32))
    out = cl.Buffer(ctx, mf.READ_WRITE, m * a.n * 4)
    k.set_args(wt, col, out, np.int32(m), np.int32(a.n), np.int32(a.kd), np.int32(mp))

    def run(parts):
        evs = [cl.enqueue_nd_range_kernel(q, k, (g, a.n), (4, 1), global_work_offset=(off, 0)) for off, g in parts]
        evs[-1].wait()
        return (evs[-1].profile.end - evs[0].profile.start) / 1e6

    variants = {"24": [(0, 24)], "20+4": [(0, 20), (20, 4)], "23": [(0, 23)], "20": [(0, 20)]}
    try:
        for parts in variants.values():      # warm-up: PoCL compiles per local size
            run(parts)
    except cl.LogicError as e:
        sys.exit(f"bench_split_jobs: {e}: global 23 with local 4 needs the split layer "
                 f"(OPENCL_LAYERS=$PWD/examples/bin/libsplit_layer.so)")
    t = {name: [] for name in variants}
    for _ in range(a.reps):
        for name, parts in variants.items():
            t[name].append(run(parts))
    med = {name: statistics.median(v) for name, v in t.items()}
    print(f"N={a.n} Kd={a.kd} reps={a.reps} device {ctx.devices[0].name}")
    for name, v in t.items():
        print(f"  {name:5s} median {med[name]:8.3f} ms  min {min(v):8.3f}  (jobs: "
              f"{ {'24': 1, '20+4': 2, '23': 2, '20': 1}[name]})")

    def paired(x, y):
        d = [p - r for p, r in zip(t[x], t[y])]
        return statistics.median(d), 100 * statistics.median(d) / med[y]
    for x, y, what in (("20+4", "24", "one more job, same work"), ("23", "24", "92 vs 93 channels (2 jobs vs 1)"),
                       ("24", "20", "4 columns more (16 channels), 1 job each")):
        d, pct = paired(x, y)
        print(f"  {x} - {y}: median paired difference {d:+.3f} ms ({pct:+.1f}%): {what}")


if __name__ == "__main__":
    main()
