"""The main job (`./dev demo`): sweep a real conv layer over its output channels with two methods,
print the report and write the staircase plot.

The default sweep shows two mechanical staircases that survive a re-run (examples/README.md):
- `tiled`: ceil(C/4) work-groups of 4 channels each, run in rounds of the device's compute units (CU):
  the latency steps up at C = 4*CU*r -> 4*CU*r+1 (8 -> 9 and 16 -> 17 on a 2-core PoCL device), and at
  every tile 4k -> 4k+1 while other work on the machine leaves PoCL's threads one core;
- `gemm`: a second, scalar `gemm_tail` dispatch for the C % 4 channels left over: a sawtooth whose
  cheap teeth are the multiples of 4 (up at 4k -> 4k+1, down at 4k+3 -> 4k+4), as in the paper's
  groups of 4 with an extra `gemm_mm`.
resnet50.L15 (3x3, 128 input channels, 28x28 output), channels 1..24, 8 processes per count (the process is
the unit of replication), 10 iterations each: 384 short processes, about a minute on a 2-core CPU shared
with other work (54 s measured). Pass --channels, --layer, --scale, --repeat, --iters or --methods to
change it, e.g. `./dev demo --channels 84:100 --scale 0.5 --methods gemm,direct`.
"""
import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(HERE, "bin", "conv_bench")


def cltrace(*args):
    cmd = [sys.executable, "-m", "cltrace.cli.main", *args]
    print("$ cltrace " + " ".join(args), flush=True)
    return subprocess.call(cmd)


def compute_units():
    """CL_DEVICE_MAX_COMPUTE_UNITS as conv_bench's tiled plan reports it (None when it cannot tell)."""
    p = subprocess.run([BENCH, "--input", "4x4x1", "--kernel", "1", "--out-channels", "1", "--method", "tiled",
                        "--iters", "1", "--warmup", "0"], capture_output=True, text=True)
    m = re.search(r"(\d+) compute units?", p.stdout)
    return int(m.group(1)) if m else None


def expected(methods, lo, hi, cu):
    """The mechanical steps to look for in the report, from the methods' own arithmetic."""
    out = []
    if "tiled" in methods and cu:
        r = [c for c in range(lo, hi) if c % (4 * cu) == 0]
        if r:
            out.append(f"tiled: rounds of {cu} work-groups -> up at " + ", ".join(f"{c}->{c + 1}" for c in r))
    if "gemm" in methods:
        r = [c for c in range(lo, hi) if c % 4 == 0]
        if r:
            out.append("gemm: extra gemm_tail dispatch -> up at " + ", ".join(f"{c}->{c + 1}" for c in r[:6])
                       + (", ..." if len(r) > 6 else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", default="resnet50.L15")
    ap.add_argument("--scale", default="1", help="spatial scale of the layer for a CPU (default 1)")
    ap.add_argument("--channels", default="1:24", help="channel range a:b (default 1:24)")
    ap.add_argument("--methods", default="tiled,gemm", help="conv_bench methods (default tiled,gemm)")
    ap.add_argument("--repeat", default="8", help="processes per configuration (default 8)")
    ap.add_argument("--iters", default="10", help="layer iterations (regions) per process (default 10)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out"), help="output directory (default ./out)")
    a = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"demo: {BENCH} is missing: run ./dev build")
    os.makedirs(a.out, exist_ok=True)
    db = os.path.join(a.out, "demo.db")
    plot = os.path.join(a.out, "staircase.png")
    methods = [m.strip() for m in a.methods.split(",")]
    try:
        lo, hi = (int(x) for x in a.channels.split(":")[:2])
        for line in expected(methods, lo, hi, compute_units() if "tiled" in methods else None):
            print(f"expected  {line}")
    except ValueError:
        lo = hi = None
    t0 = time.perf_counter()
    rc = cltrace("sweep", "-f", "-o", db, "-p", f"channels={a.channels}", "-p", f"method={a.methods}",
                 "--repeat", a.repeat, "--", BENCH, "--layer", a.layer, "--scale", a.scale,
                 "--out-channels", "{channels}", "--method", "{method}", "--iters", a.iters, "--warmup", "1")
    if rc not in (0, 1):
        sys.exit(rc)
    if cltrace("report", db) != 0:
        sys.exit(1)
    if cltrace("plot", db, "-o", plot) != 0:
        sys.exit(1)
    m0 = "gemm" if "gemm" in methods else methods[0]
    a_ch, b_ch = (8, 9) if lo is not None and lo <= 8 and hi >= 9 else (lo, (lo or 0) + 1)
    print(f"\nstaircase plot: {plot}\ntrace: {db}  (try: cltrace diff {db} channels={a_ch},method={m0} "
          f"channels={b_ch},method={m0})\ndemo wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
