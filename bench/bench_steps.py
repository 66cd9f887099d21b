"""Step detection quality and speed on synthetic staircases.

    python bench/bench_steps.py [--seeds 5] [--quick]

Prints precision/recall of analyse() against the synthetic ground truth for
several noise levels (sigma of log latency) and samples per config, with steps
of |log ratio| in [3 sigma, max(log 2, 4.5 sigma)], then the time analyse()
takes on 2,048 configurations x 10 samples (goal < 5 s).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from cltrace.analysis.staircase import analyse  # noqa: E402
from cltrace.analysis.synthetic import SweepSpec, make_staircase, match_steps, random_steps  # noqa: E402


def quality(sigma, n, seeds, n_values=96, n_steps=6, k=3.0):
    tp = found = true = cause_ok = cause_n = 0
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        vals = list(range(32, 32 + n_values))
        sweeps = [SweepSpec(vals, random_steps(vals, rng, n_steps=n_steps, min_log=k * sigma,
                                               max_log=max(np.log(2), 1.5 * k * sigma)), {"method": m})
                  for m in ("gemm", "direct")]
        syn = make_staircase(sweeps, sigma=sigma, n=n, seed=seed)
        res = analyse(syn.samples, "channels")
        a, b, c = match_steps(res.steps, syn.truth)
        tp, found, true = tp + a, found + b, true + c
        for t in syn.truth.to_dict("records"):
            hit = res.steps[(res.steps["group_label"] == t["group_label"])
                            & (res.steps["from_value"] <= t["from_value"]) & (res.steps["to_value"] >= t["to_value"])]
            if len(hit):
                cause_n += 1
                cause_ok += hit["cause_kind"].iloc[0] == t["cause"]
    return tp / found if found else 1.0, tp / true if true else 1.0, cause_ok / cause_n if cause_n else 1.0, found, true


def flat_false_positives(sigma, n, seeds, n_values=200):
    fp = 0
    for seed in range(seeds):
        syn = make_staircase([SweepSpec(list(range(1, n_values + 1)))], sigma=sigma, n=n, seed=seed)
        fp += len(analyse(syn.samples).steps)
    return fp


def timing(n_configs=2048, n=10, repeats=3):
    half = n_configs // 2
    vals = list(range(1, half + 1))
    rng = np.random.default_rng(0)
    sweeps = [SweepSpec(vals, random_steps(vals, rng, n_steps=40, min_log=0.15), {"method": m}, kernel=m)
              for m in ("gemm", "direct")]
    t0 = time.perf_counter()
    syn = make_staircase(sweeps, sigma=0.05, n=n, seed=0)
    t_build = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = analyse(syn.samples, "channels")
        times.append(time.perf_counter() - t0)
    return len(syn.samples), len(res.configs), t_build, min(times), len(res.steps), len(syn.truth)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer noise levels, 2 seeds")
    a = ap.parse_args()
    seeds = 2 if a.quick else a.seeds
    sigmas = (0.02, 0.1) if a.quick else (0.01, 0.02, 0.05, 0.1, 0.2)
    print(f"precision/recall, steps |log ratio| >= 3 sigma, 2 groups x 96 configs x 6 steps, {seeds} seeds")
    print(f"{'sigma':>6} {'n':>3} {'precision':>9} {'recall':>7} {'cause ok':>8} {'found':>6} {'true':>5}"
          f" {'flat FP':>8}")
    for n in (10, 5, 3):
        for sigma in sigmas:
            p, r, c, f, t = quality(sigma, n, seeds)
            fp = flat_false_positives(sigma, n, max(1, seeds // 2))
            print(f"{sigma:>6.2f} {n:>3} {p:>9.3f} {r:>7.3f} {c:>8.3f} {f:>6} {t:>5} {fp:>8}")
    ns, nc, tb, ta, nf, nt = timing()
    print(f"\ntiming: {nc} configs, {ns} samples: build_samples+synthetic {tb:.2f} s, "
          f"analyse() {ta:.2f} s (best of 3; goal < 5 s); {nf} steps found, {nt} true")


if __name__ == "__main__":
    main()
