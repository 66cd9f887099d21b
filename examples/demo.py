"""The main job (`./dev demo`): sweep a real conv layer over its output channels with two methods,
print the report and write the staircase plot.

Defaults are sized for a 2-core CPU running PoCL (a few minutes); pass --channels, --layer, --scale,
--repeat or --methods to change them, e.g. `./dev demo --channels 64:128 --repeat 5`.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(HERE, "bin", "conv_bench")


def cltrace(*args):
    cmd = [sys.executable, "-m", "cltrace.cli.main", *args]
    print("$ cltrace " + " ".join(args), flush=True)
    return subprocess.call(cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", default="resnet50.L15")
    ap.add_argument("--scale", default="0.5", help="spatial scale of the layer for a CPU (default 0.5)")
    ap.add_argument("--channels", default="84:100", help="channel range a:b (default 84:100)")
    ap.add_argument("--methods", default="gemm,direct")
    ap.add_argument("--repeat", default="3", help="processes per configuration (default 3)")
    ap.add_argument("--iters", default="10", help="layer iterations (regions) per process (default 10)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out"), help="output directory (default ./out)")
    a = ap.parse_args()
    if not os.path.exists(BENCH):
        sys.exit(f"demo: {BENCH} is missing: run ./dev build")
    os.makedirs(a.out, exist_ok=True)
    db = os.path.join(a.out, "demo.db")
    plot = os.path.join(a.out, "staircase.png")
    rc = cltrace("sweep", "-f", "-o", db, "-p", f"channels={a.channels}", "-p", f"method={a.methods}",
                 "--repeat", a.repeat, "--", BENCH, "--layer", a.layer, "--scale", a.scale,
                 "--out-channels", "{channels}", "--method", "{method}", "--iters", a.iters, "--warmup", "1")
    if rc not in (0, 1):
        sys.exit(rc)
    if cltrace("report", db) != 0:
        sys.exit(1)
    if cltrace("plot", db, "-o", plot) != 0:
        sys.exit(1)
    print(f"\nstaircase plot: {plot}\ntrace: {db}  (try: cltrace diff {db} channels=92,method=gemm "
          f"channels=93,method=gemm)")


if __name__ == "__main__":
    main()
