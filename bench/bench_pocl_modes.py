"""Per-process medians of conv_bench --method tiled under PoCL thread settings: the two modes (work-groups in
parallel or one after another) of docs/noise.md, "Why a kernel is bimodal per process on PoCL".

    python bench/bench_pocl_modes.py [--rounds 10] [--channels 8,12,16]

Each round runs every (setting, channel count) once, in a shuffled order, one process each (--iters 10 --warmup 1),
so the settings share the machine's load; printed: the sorted per-process medians, their median and max/min, and
the load average at the start and the end. "+1 hog" runs a busy loop (a shell `while :`) beside each process.
"""
import argparse
import os
import random
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "examples", "bin", "conv_bench")
SETTINGS = {
    "default": ({}, None),
    "POCL_AFFINITY=1": ({"POCL_AFFINITY": "1"}, None),
    "POCL_MAX_PTHREAD_COUNT=1": ({"POCL_MAX_PTHREAD_COUNT": "1"}, None),
    "taskset -c 0": ({}, ["taskset", "-c", "0"]),
    "POCL_AFFINITY=1 +1 hog": ({"POCL_AFFINITY": "1"}, "hog"),
    "POCL_MAX_PTHREAD_COUNT=1 +1 hog": ({"POCL_MAX_PTHREAD_COUNT": "1"}, "hog"),
}


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--channels", default="8,12,16")
    ap.add_argument("--layer", default="resnet50.L15")
    a = ap.parse_args()
    chans = [int(c) for c in a.channels.split(",")]
    res = {(s, c): [] for s in SETTINGS for c in chans}
    env0 = dict(os.environ)
    env0.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    print(f"load average at start {load()} on {os.cpu_count()} CPUs", flush=True)
    for r in range(a.rounds):
        order = list(res)
        random.Random(r).shuffle(order)
        for s, c in order:
            env, pre = SETTINGS[s]
            hog = subprocess.Popen(["sh", "-c", "while :; do :; done"]) if pre == "hog" else None
            p = subprocess.run(([] if pre in (None, "hog") else pre)
                               + [BENCH, "--layer", a.layer, "--out-channels", str(c), "--method", "tiled",
                                  "--iters", "10", "--warmup", "1"], capture_output=True, text=True,
                               env=dict(env0, **env))
            if hog:
                hog.kill()
                hog.wait()
            m = re.search(r"median_ms=([\d.]+)", p.stdout)
            if not m:
                raise SystemExit(f"conv_bench failed:\n{p.stdout}{p.stderr}")
            res[(s, c)].append(float(m.group(1)))
    print(f"load average at end {load()}")
    print(f"{'setting':<34}{'C':>3} {'WG':>3}  per-process medians, ms (sorted)   median  max/min")
    for (s, c), v in res.items():
        v = sorted(v)
        print(f"{s:<34}{c:>3} {-(-c // 4):>3}  {' '.join(f'{x:.2f}' for x in v)}   {statistics.median(v):.2f}  "
              f"{v[-1] / v[0]:.2f}")


if __name__ == "__main__":
    main()
