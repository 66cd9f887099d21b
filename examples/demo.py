"""The main job (`./dev demo`): sweep a real conv layer over its output channels with two methods,
print the report and write the staircase plot.

The default shows two mechanical staircases that come back in every re-run, on any host (examples/README.md,
docs/noise.md):
- `tiled` (resnet50.L15, channels 1..12, PoCL on one thread): one work-group per tile of 4 output channels,
  ceil(C/4) work-groups run one after another on the single compute unit, so the latency steps up where the
  tile count grows: 4 -> 5 (1 -> 2 work-groups, 2x) and 8 -> 9 (2 -> 3, 1.5x), named "waves" in the report.
  One thread, because with PoCL's default one thread per core the work-groups of a process run side by side
  or one after another depending on what else the machine runs: the per-process latency is bimodal and the
  steps move with the load (issue 23); one thread runs them one after another everywhere;
- `clblast` (a 14x14x2048 3x3 layer, channels 197..202, PoCL on one thread): CLBlast's SGEMM switches from
  one `XgemmDirectTN` kernel to its indirect path (transpose/pad + `Xgemm`) at m*n*k = 896^3, between 199
  and 200 output channels here; the indirect path is about 2x faster, so pruning 200 -> 199 channels is a
  hazard: the seed paper's "pruned layer runs slower".
Each configuration runs in 8 (tiled) and 6 (clblast) processes: the process is the unit of replication (a
clblast process measures one run after a warm-up: on a loaded machine 6 processes of one run place its switch
where 4 processes of two did not).
--quick halves the processes; --methods tiled (or clblast) runs one part. It ends by printing the plot's and
the trace's paths and its own wall time ("demo wall time N s"; docs/quickstart.md shows these last lines).
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


ONE_THREAD = {"POCL_MAX_PTHREAD_COUNT": "1"}    # PoCL's pthread device on one thread: one compute unit


def compute_units(env=None):
    """CL_DEVICE_MAX_COMPUTE_UNITS as conv_bench's tiled plan reports it (None when it cannot tell)."""
    p = subprocess.run([BENCH, "--input", "4x4x1", "--kernel", "1", "--out-channels", "1", "--method", "tiled",
                        "--iters", "1", "--warmup", "0"], capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    m = re.search(r"(\d+) compute units?", p.stdout)
    return int(m.group(1)) if m else None


def expected(methods, lo, hi, cu):
    """The mechanical steps to look for in the report, from the methods' own arithmetic."""
    out = []
    if "tiled" in methods and cu:
        r = [c for c in range(lo, hi) if c % (4 * cu) == 0]
        if r:
            rounds = f"rounds of {cu} work-groups" if cu > 1 else "one work-group after another (1 compute unit)"
            out.append(f"tiled: {rounds} -> up at " + ", ".join(f"{c}->{c + 1}" for c in r))
    if "gemm" in methods:
        r = [c for c in range(lo, hi) if c % 4 == 0]
        if r:
            out.append("gemm: extra gemm_tail dispatch -> up at " + ", ".join(f"{c}->{c + 1}" for c in r[:6])
                       + (", ..." if len(r) > 6 else ""))
    return out


CLBLAST_LAYER = ["--input", "14x14x2048", "--kernel", "3", "--pad", "1"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", default="resnet50.L15", help="layer of the tiled sweep (default resnet50.L15)")
    ap.add_argument("--channels", default="1:12", help="channel range a:b of the tiled sweep (default 1:12)")
    ap.add_argument("--clblast-channels", default="197:202",
                    help="channel range of the clblast sweep, around its kernel switch (default 197:202)")
    ap.add_argument("--methods", default="tiled,clblast", help="tiled, clblast or both (default tiled,clblast)")
    ap.add_argument("--quick", action="store_true", help="half the processes per configuration")
    ap.add_argument("--out", default=os.path.join(ROOT, "out"), help="output directory (default ./out)")
    a = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"demo: {BENCH} is missing: run ./dev build")
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - {"tiled", "clblast"})
    if unknown or not methods:
        sys.exit(f"demo: --methods takes tiled and/or clblast, not {','.join(unknown) or a.methods!r}")
    os.makedirs(a.out, exist_ok=True)
    db = os.path.join(a.out, "demo.db")
    plot = os.path.join(a.out, "staircase.png")
    t0 = time.perf_counter()
    first = True
    if "tiled" in methods:
        try:
            lo, hi = (int(x) for x in a.channels.split(":")[:2])
            for line in expected(["tiled"], lo, hi, compute_units(ONE_THREAD)):
                print(f"expected  {line}")
        except ValueError:
            pass
        # one PoCL thread: its work-groups run one after another whatever else the machine runs (docs/noise.md);
        # 40 iterations per process average the machine's load over ~0.1 s instead of ~30 ms
        rc = cltrace("sweep", "-f", "-o", db, "-p", f"channels={a.channels}", "-p", "method=tiled",
                     "--repeat", "4" if a.quick else "8", "--", "env", "POCL_MAX_PTHREAD_COUNT=1", BENCH,
                     "--layer", a.layer, "--out-channels", "{channels}", "--method", "{method}", "--iters", "40",
                     "--warmup", "1")
        if rc not in (0, 1):
            sys.exit(rc)
        first = False
    if "clblast" in methods:
        print("expected  clblast: XgemmDirectTN -> indirect GEMM where m*n*k reaches 896^3 (199 -> 200 here)")
        # one PoCL thread: a 0.5 s kernel split over both cores of a shared machine is as slow as its
        # most-preempted thread; the kernels are the same
        rc = cltrace("sweep", "-f" if first else "--append", "-o", db, "-p", f"channels={a.clblast_channels}",
                     "-p", "method=clblast", "--repeat", "3" if a.quick else "6", "--",
                     "env", "POCL_MAX_PTHREAD_COUNT=1", BENCH, *CLBLAST_LAYER, "--out-channels", "{channels}",
                     "--method", "{method}", "--iters", "1", "--warmup", "1")
        if rc not in (0, 1):
            sys.exit(rc)
    if cltrace("report", db) != 0:
        sys.exit(1)
    if cltrace("plot", db, "-o", plot) != 0:
        sys.exit(1)
    pair = ("channels=199,method=clblast channels=200,method=clblast" if "clblast" in methods
            else "channels=4,method=tiled channels=5,method=tiled")
    print(f"\nstaircase plot: {plot}\ntrace: {db}  (try: cltrace diff {db} {pair})\n"
          f"demo wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
