"""Step detection under a realistic noise model: precision, recall, false-step rate, speed.

    python bench/bench_steps.py [--seeds 10] [--quick]
    python bench/bench_steps.py --fit TRACE.db      # fit the noise model to a real sweep, then run with it

The synthetic sweeps have the noise measured on PoCL (cltrace.analysis.synthetic.REALISTIC_NOISE,
or the model fitted with --fit): a random effect per process, a slow mode that some processes fall
into (bimodal), and noise between the iterations inside a process. Steps have |log ratio| in
[3, 4.5] x the between-process sigma (the SD of the per-process medians of one configuration, measured
on the model by simulation). Prints, per processes-per-configuration:
- recall: true steps found (a found step matches when its [from, to] contains the true pair);
- precision: found steps that are true;
- false-step rate: the share of flat sweeps (nothing changes, 2 groups x 24 configurations) with any step;
- location coverage: of the true steps found, the share whose `within` interval
  [location_from, location_to] contains the true pair (goal >= 95%), and the share of found steps placed at
  one exact pair (the price of coverage: wider intervals);
then location coverage under a slow mode whose share drifts over several counts (the level changes over a
range: a ramp; found when a step's interval overlaps the range; covered when the interval holds the whole
range, "exact" when the claim is one pair inside it), and the time analyse() takes on 2,048 configurations
(goal < 5 s).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from cltrace.analysis.staircase import analyse
from cltrace.analysis.synthetic import (REALISTIC_NOISE, SweepSpec, make_staircase, match_steps,
                                        random_steps)


def between_sigma(model, n=10, draws=20000, seed=0):
    """SD of log per-process medians of one configuration under the model (by simulation)."""
    rng = np.random.default_rng(seed)
    eff = rng.normal(0, model["sigma_process"], draws)
    eff += np.where(rng.random(draws) < model["bimodal"], np.log(model["bimodal_ratio"]), 0.0)
    within = np.median(rng.normal(0, model["sigma"], (draws, n)), axis=1)
    return float(np.std(eff + within))


def _intervals(steps):
    return [(str(g), float(lf), float(lt), float(r) > 1, str(kd)) for g, lf, lt, r, kd in
            zip(steps["group_label"], steps["location_from"], steps["location_to"], steps["ratio"], steps["kind"])]


def location_hits(steps, truths):
    """truths: [(group_label, from, to, up)] -> (found, covered, middle, exact): per true change, whether a
    step of its group and direction has a location interval overlapping [from, to], whether one holds all
    of it, whether one holds its middle (the pairs where a single step fitted to it would sit: for a ramp
    from a to b, [floor((a+b)/2) - 1, ceil((a+b)/2) + 1] clipped to [a, b]; for one pair, the pair), and
    whether one claims a single pair (interval = its pair) while the truth spans more."""
    f = c = md = x = 0
    iv = _intervals(steps)
    for g, a, b, up in truths:
        hit = [(lf, lt, kd) for g2, lf, lt, up2, kd in iv if g2 == g and up2 == up and lf < b and a < lt]
        ma, mb = max(a, np.floor((a + b) / 2) - 1), min(b, np.ceil((a + b) / 2) + 1)
        f += bool(hit)
        c += any(lf <= a and b <= lt for lf, lt, _ in hit)
        md += any(lf <= ma and mb <= lt for lf, lt, _ in hit)
        x += b - a > 1 and any(lt - lf == 1 for lf, lt, _ in hit)
    return f, c, md, x


def drift_coverage(model, k, sweeps, n=10, width=4):
    """Sweeps of 32 counts, flat level, whose slow mode's share rises from 0 to 1 over `width` counts at a
    random place: the level drifts over that range. -> (sweeps, found, covered, middle covered, exact)."""
    f = c = md = x = 0
    vals = list(range(1, 33))
    for seed in range(sweeps):
        rng = np.random.default_rng(7000 + seed)
        at = int(rng.integers(6, 32 - width - 5))
        m = dict(model, bimodal=0.0, bimodal_at=lambda v, at=at: min(max((v - at) / width, 0.0), 1.0))
        syn = make_staircase([SweepSpec(vals, [])], n=n, seed=seed, processes=k, **m)
        res = analyse(syn.samples, "channels")
        a, b, d, e = location_hits(res.steps, [("all", at, at + width, True)])
        f, c, md, x = f + a, c + b, md + d, x + e
    return sweeps, f, c, md, x


def quality(model, k, seeds, n=10, n_values=48, n_steps=4, lo=3.0, hi=4.5, cover=None):
    sb = between_sigma(model, n)
    tp = found = true = 0
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        vals = list(range(32, 32 + n_values))
        sweeps = [SweepSpec(vals, random_steps(vals, rng, n_steps=n_steps, min_log=lo * sb, max_log=hi * sb,
                                               min_gap=4), {"method": m}) for m in ("gemm", "direct")]
        syn = make_staircase(sweeps, n=n, seed=seed, processes=k, **model)
        res = analyse(syn.samples, "channels")
        a, b, c = match_steps(res.steps, syn.truth)
        tp, found, true = tp + a, found + b, true + c
        if cover is not None:
            if len(res.steps):
                cover[2] += int(((res.steps["location_to"] - res.steps["location_from"]) == 1).sum())
                cover[3] += len(res.steps)
            t = [(g, float(f), float(to), r > 1) for g, f, to, r in
                 zip(syn.truth["group_label"], syn.truth["from_value"], syn.truth["to_value"], syn.truth["ratio"])]
            fc, cc, _, _ = location_hits(res.steps, t)
            cover[0] += fc
            cover[1] += cc
    return tp / found if found else 1.0, tp / true if true else 1.0, found, true


def false_step_rate(model, k, seeds, n=10, n_values=24):
    hits = 0
    for seed in range(seeds):
        vals = list(range(1, n_values + 1))
        syn = make_staircase([SweepSpec(vals, [], {"method": m}) for m in ("gemm", "direct")], n=n,
                             seed=50_000 + seed, processes=k, **model)
        hits += len(analyse(syn.samples, "channels").steps) > 0
    return hits / seeds


def timing(model, n_configs=2048, k=2, n=5, repeats=3):
    half = n_configs // 2
    vals = list(range(1, half + 1))
    rng = np.random.default_rng(0)
    sweeps = [SweepSpec(vals, random_steps(vals, rng, n_steps=40, min_log=0.3), {"method": m}, kernel=m)
              for m in ("gemm", "direct")]
    t0 = time.perf_counter()
    syn = make_staircase(sweeps, n=n, seed=0, processes=k, **model)
    t_build = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = analyse(syn.samples, "channels")
        times.append(time.perf_counter() - t0)
    return len(syn.samples), len(res.configs), t_build, min(times), len(res.steps), len(syn.truth)


def fit(path):
    """The noise model of a real sweep: per configuration, its processes' log medians split into a
    fast mode (within log 1.3 of the lower half's median) and a slow one; sigma_process is the pooled
    SD of the fast mode, bimodal the slow share, bimodal_ratio the slow/fast ratio, sigma the median
    spread of the iterations inside a process."""
    import cltrace
    res = analyse(cltrace.open(path).samples())
    fast_dev, slow_share, ratios, within = [], [], [], []
    for cid, u in res.units.groupby("config_id"):
        y = np.sort(u["log_median"].to_numpy())
        if len(y) < 4:
            continue
        base = np.median(y[: max(2, len(y) // 2)])
        slow = y > base + np.log(1.3)
        fast = y[~slow]
        fast_dev += list(fast - fast.mean())
        slow_share.append(slow.mean())
        if slow.any():
            ratios.append(np.exp(y[slow].mean() - fast.mean()))
        within += list(u["within_sigma"])
    dof = max(len(fast_dev) - len(slow_share), 1)
    return {"sigma": float(np.median(within)),
            "sigma_process": float(np.sqrt(np.sum(np.square(fast_dev)) / dof)),
            "bimodal": float(np.mean(slow_share)) if slow_share else 0.0,
            "bimodal_ratio": float(np.median(ratios)) if ratios else 1.5}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 seeds, 5 processes only")
    ap.add_argument("--fit", metavar="TRACE", help="fit the noise model to this real sweep first")
    ap.add_argument("--no-timing", action="store_true", help="skip the analyse() timing on 2,048 configurations")
    ap.add_argument("--drift-only", action="store_true", help="only the drifting slow mode's location coverage")
    a = ap.parse_args()
    model = dict(REALISTIC_NOISE)
    if a.fit:
        model = fit(a.fit)
        print(f"fitted on {a.fit}: " + ", ".join(f"{k}={v:.3f}" for k, v in model.items()))
    seeds = 3 if a.quick else a.seeds
    sb = between_sigma(model)
    print("noise model: " + ", ".join(f"{k}={v:g}" for k, v in model.items())
          + f"  -> between-process sigma {sb:.3f} (log)")
    print(f"steps |log ratio| in [3, 4.5] x {sb:.3f}; 2 groups x 48 configs x 4 steps; {seeds} seeds; 10 iterations"
          f" per process")
    print(f"{'processes':>9} {'precision':>9} {'recall':>7} {'found':>6} {'true':>5} {'false-step rate':>16}"
          f"   {'recall, steps 1-2 x sigma':>26}   {'location coverage':>17}   {'at one pair':>11}")
    ks = (5,) if a.quick else (3, 5, 10)
    for k in () if a.drift_only else ks:
        cover = [0, 0, 0, 0]
        p, r, f, t = quality(model, k, seeds, cover=cover)
        fsr = false_step_rate(model, k, max(seeds * 4, 20))
        _, r_small, _, _ = quality(model, k, seeds, lo=1.0, hi=2.0, cover=cover)
        print(f"{k:>9} {p:>9.3f} {r:>7.3f} {f:>6} {t:>5} {fsr:>16.3f}   {r_small:>26.3f}   "
              f"{cover[1] / max(cover[0], 1):>8.3f} ({cover[1]}/{cover[0]})   {cover[2] / max(cover[3], 1):>5.2f}")
    n_drift = 10 if a.quick else max(seeds * 4, 40)
    print(f"\nslow mode drifting 0 -> 1 over 4 counts (x {model['bimodal_ratio']:g}), 32 counts, "
          f"{n_drift} sweeps each:")
    print(f"{'processes':>9} {'found':>7} {'middle covered':>15} {'whole covered':>14} {'exact (wrong)':>14}")
    for k in ks:
        n_s, f, c, md, x = drift_coverage(model, k, n_drift)
        print(f"{k:>9} {f:>4}/{n_s:<2} {md / max(f, 1):>8.3f} ({md:>3}) {c / max(f, 1):>7.3f} ({c:>3}) {x:>14}")
    if a.no_timing:
        return
    ns, nc, tb, ta, nf, nt = timing(model)
    print(f"\ntiming: {nc} configs x 2 processes x 5 iterations ({ns} samples): synthetic+build_samples {tb:.2f} s, "
          f"analyse() {ta:.2f} s (best of 3; goal < 5 s); {nf} steps found, {nt} true")


if __name__ == "__main__":
    main()
