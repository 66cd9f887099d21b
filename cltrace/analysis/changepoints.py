"""Change points along a sweep, on per-process units, with a permutation-calibrated threshold.

Input: for one group, the configurations in ascending order of the swept parameter,
each with the log medians of its processes (units.py). Output: the change points,
each with its statistic, p-value, a confidence set for its location and the levels
of the segments on either side.

Method (docs/analysis.md states it in full):
- Statistic: the CUSUM contrast of an interval [s, e] of configurations split after
  configuration j, ``sqrt(nL nR / (nL + nR)) * (mean_R - mean_L)`` over the units
  (processes) on each side. Intervals are the seeded intervals of Kovacs et al.
  (2020) at every scale down to two configurations, so a one-configuration spike
  and a long stair are both seen; the narrowest interval over the threshold gives
  the location (narrowest-over-threshold, Baranowski et al. 2019).
- Threshold: the (1 - alpha) quantile of the largest statistic over all intervals
  under "no change": the within-configuration residuals permuted over all units, or,
  when ``rounds`` show rounds run in random order, the units permuted inside each
  round (the randomisation test of that design: exact whatever the noise does in
  time). Rounds run in the order of the swept value keep the free permutation
  (rounds.py says why). Either way the chance of any false change point in a group
  is at most alpha under its assumption, without a noise model.
- Location (location_set): the splits of the two adjacent segments whose single-change
  fit trails the best by no more than the 95% quantile of that loss under permuted
  residuals of the fit (the sweep's own noise, its tails and bimodal processes, no
  normal model), joined with the central 99% of where a bootstrap over processes
  within configurations puts the change (smoothed where a configuration has fewer than
  SMOOTH_BELOW processes). The set then grows over configurations at
  its edges whose level already left their plateau, and a set with a configuration
  between both levels is a ramp (the level changes over several counts).
- A change whose segment levels differ by less than ``min_effect`` is not one.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from .rounds import blocks as _blocks

LOCATION_LEVEL = 0.95          # a location set holds the true split with at least this probability
N_LOCATION = 1000              # residual permutations per change
BOOTSTRAP_LEVEL = 0.99         # central range of the bootstrap's places (a discrete argmax: the percentile
                               # bootstrap under-covers at its nominal level; bench_steps measured 0.95 -> 0.99)
SMOOTH_BELOW = 5               # configurations with fewer processes get a smoothed bootstrap (see location_set)
SMOOTH_H = 1.0                 # its kernel: this many pooled between-process sigmas
RAMP_Z = 2.5                   # a configuration this many standard errors off both plateaus is between them
RAMP_EDGE_Z = 2.5              # a configuration at a set's edge this far off its plateau joins the set
SIGMA_FLOOR = 1e-9            # identical processes: any difference is a change; min_effect gates
N_PERMUTATIONS = 2000
_CHUNK = 4_000_000            # statistics evaluated per numpy pass (memory bound)


def seeded_intervals(m: int, decay: float = 0.5, min_len: int = 2) -> np.ndarray:
    """Seeded intervals [s, e] (inclusive) over 0..m-1: at each scale k the length m * decay^k,
    shifted evenly so that neighbouring intervals overlap by half, down to ``min_len``."""
    out = {(0, m - 1)} if m >= min_len else set()
    k = 1
    while True:
        length = int(np.ceil(m * decay ** k))
        if length < min_len:
            break
        n = int(2 * np.ceil(decay ** -k) - 1)
        shift = (m - length) / max(n - 1, 1)
        for i in range(n):
            s = int(np.floor(i * shift))
            out.add((s, min(m - 1, s + length - 1)))
        k += 1
    if min_len <= 2 <= m:                     # every neighbour pair, so any one-configuration spike is seen
        out.update((i, i + 1) for i in range(m - 1))
        out.update((i, i + 2) for i in range(m - 2))
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)


@dataclass
class _Positions:
    s: np.ndarray           # interval start (config index)
    j: np.ndarray           # split: left side ends at config j
    e: np.ndarray           # interval end
    width: np.ndarray       # e - s + 1


def _positions(intervals: np.ndarray, offset: int = 0) -> _Positions:
    ls: list[int] = []
    lj: list[int] = []
    le: list[int] = []
    for a, b in intervals:
        for x in range(a, b):
            ls.append(a + offset)
            lj.append(x + offset)
            le.append(b + offset)
    s, j, e = (np.asarray(v, dtype=np.int64) for v in (ls, lj, le))
    return _Positions(s, j, e, e - s + 1)


def _contrast(cum_n: np.ndarray, cum_s: np.ndarray, P: _Positions) -> np.ndarray:
    """Signed CUSUM contrast at every position; cum_s may carry leading permutation axes."""
    n_l = cum_n[P.j + 1] - cum_n[P.s]
    n_r = cum_n[P.e + 1] - cum_n[P.j + 1]
    s_l = cum_s[..., P.j + 1] - cum_s[..., P.s]
    s_r = cum_s[..., P.e + 1] - cum_s[..., P.j + 1]
    return np.sqrt(n_l * n_r / (n_l + n_r)) * (s_r / n_r - s_l / n_l)


def _effect(cum_n, cum_s, P: _Positions) -> np.ndarray:
    n_l = cum_n[P.j + 1] - cum_n[P.s]
    n_r = cum_n[P.e + 1] - cum_n[P.j + 1]
    return (cum_s[..., P.e + 1] - cum_s[..., P.j + 1]) / n_r - (cum_s[..., P.j + 1] - cum_s[..., P.s]) / n_l


@dataclass
class ChangePoint:
    index: int              # the change lies between configuration index and index + 1
    stat: float
    p_value: float
    level_before: float     # mean log median of the segment on the left
    level_after: float
    n_before: int           # units (processes) in the two segments
    n_after: int
    location: tuple         # (lo, hi): the change lies between some j and j + 1 with lo <= j <= hi
    ramp: tuple | None = None   # (lo, hi) when the level changes over configurations lo+1..hi (a ramp)


@dataclass
class Candidate:
    """The strongest split inside a final segment that did not pass: a change not (yet) decided."""
    index: int
    stat: float
    p_value: float
    effect: float           # difference of log means across the split inside its interval
    segment: tuple          # (first, last) configuration index of its segment


@dataclass
class Segmentation:
    change_points: list = field(default_factory=list)
    segments: list = field(default_factory=list)          # (first, last, level, n_units)
    candidates: list = field(default_factory=list)
    threshold: float = float("nan")
    noise_sigma: float = float("nan")                      # pooled SD of log medians within configurations
    n_permutations: int = 0
    n_rounds: int = 0                                      # rounds of the units (0: run order unknown)
    ordered_rounds: int = 0                                # of them run in the order of the swept value
    within_rounds: bool = False                            # the permutation stayed inside rounds
    n_blocks: int = 0                                      # processes the permutation stayed inside (blocks.py)


def _pooled_sigma(values: list) -> float:
    num = sum(float(np.var(v, ddof=1)) * (len(v) - 1) for v in values if len(v) > 1)
    df = sum(len(v) - 1 for v in values if len(v) > 1)
    return float(np.sqrt(num / df)) if df else float("nan")


class _Design:
    """The units of one group in configuration order, and the studentized contrasts over them."""

    def __init__(self, values: list):
        self.counts = np.array([len(v) for v in values], dtype=np.int64)
        self.cum_n = np.concatenate(([0], np.cumsum(self.counts)))
        self.y = np.concatenate([np.asarray(v, dtype=float) for v in values])
        self.df = int(len(self.y) - len(self.counts))
        means = np.add.reduceat(self.y, self.cum_n[:-1]) / self.counts
        self.residuals = self.y - np.repeat(means, self.counts)

    def sums(self, y: np.ndarray) -> np.ndarray:
        return np.add.reduceat(y, self.cum_n[:-1], axis=-1)

    def sigma(self, y: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Pooled SD between the processes of one configuration (per row)."""
        if self.df <= 0:
            return np.ones(sums.shape[:-1])
        yc = y - y.mean(axis=-1, keepdims=True)
        sc = sums - self.counts * y.mean(axis=-1, keepdims=True)
        ssw = (yc ** 2).sum(axis=-1) - (sc ** 2 / self.counts).sum(axis=-1)
        return np.sqrt(np.maximum(ssw, 0.0) / self.df).clip(SIGMA_FLOOR)

    def t(self, y: np.ndarray, P: _Positions, effect: bool = True):
        """(studentized contrast, effect in log units or None) at every position, per row of y."""
        sums = self.sums(y)
        cum_s = np.concatenate((np.zeros(sums.shape[:-1] + (1,)), np.cumsum(sums, axis=-1)), axis=-1)
        return (_contrast(self.cum_n, cum_s, P) / self.sigma(y, sums)[..., None],
                _effect(self.cum_n, cum_s, P) if effect else None)

    def null_max(self, P: _Positions, n_perm: int, seed: int, blocks: list | None = None) -> np.ndarray:
        """Largest |t| over the positions under "no change at all". Without ``blocks``: the
        within-configuration residuals permuted over all units (data with this sweep's noise, its tails
        and bimodal processes; assumes units exchangeable in time). With ``blocks`` (the unit positions of
        each round, whose configurations ran in random order): the units themselves permuted inside each
        round, the randomisation test of that design, exact whatever the noise does in time (drift,
        bursts over neighbouring runs, round levels)."""
        rng = np.random.default_rng(seed)
        n = len(self.y)
        n_l = (self.cum_n[P.j + 1] - self.cum_n[P.s]).astype(float)
        n_r = (self.cum_n[P.e + 1] - self.cum_n[P.j + 1]).astype(float)
        w = np.sqrt(n_l * n_r / (n_l + n_r))
        # contrast = w * (S_r / n_r - S_l / n_l), as three weighted prefix sums (float32: it is a maximum)
        a_e, a_j, a_s = (w / n_r).astype(np.float32), (-w * (1 / n_r + 1 / n_l)).astype(np.float32), \
            (w / n_l).astype(np.float32)
        out = np.empty(n_perm)
        step = max(1, _CHUNK // max(len(P.s), n, 1))
        for lo in range(0, n_perm, step):
            hi = min(n_perm, lo + step)
            if blocks is None:
                yp = rng.permuted(np.broadcast_to(self.residuals, (hi - lo, n)), axis=1)
            else:
                yp = self.y[_block_index(blocks, hi - lo, n, rng)]
            sums = self.sums(yp)
            cum = np.concatenate((np.zeros((hi - lo, 1)), np.cumsum(sums, axis=1)), axis=1).astype(np.float32)
            c = cum[:, P.e + 1] * a_e
            c += cum[:, P.j + 1] * a_j
            c += cum[:, P.s] * a_s
            out[lo:hi] = np.abs(c).max(axis=1) / self.sigma(yp, sums)
        return out


def _block_index(blocks: list, rows: int, n: int, rng) -> np.ndarray:
    """(rows x n) indices into the units: each round's units permuted among themselves."""
    idx = np.broadcast_to(np.arange(n), (rows, n)).copy()
    for pos in blocks:
        if len(pos) > 1:
            idx[:, pos] = pos[rng.permuted(np.broadcast_to(np.arange(len(pos)), (rows, len(pos))), axis=1)]
    return idx


def segment(values: list, *, alpha: float = 0.01, min_effect: float = 0.02, n_perm: int = N_PERMUTATIONS,
            seed: int | str = 0, rounds: list | None = None, times: list | None = None,
            blocked=None) -> Segmentation:
    """Change points of a sequence of configurations; ``values[i]`` holds the log medians of the
    processes of configuration i (at least two each for a test). ``alpha`` bounds the chance of any
    false change point in this sequence. ``rounds[i]`` / ``times[i]`` (rounds.py), aligned with
    ``values[i]``, give each unit's round and run-order rank: the permutation then stays inside rounds.
    ``blocked`` (blocks.BlockedDesign: processes that measured several configurations) replaces ``values`` by
    its units relative to their process and keeps the permutation inside each process."""
    if blocked is not None:
        values, rounds = blocked.values, None
    m = len(values)
    result = Segmentation(noise_sigma=_pooled_sigma(values), n_permutations=n_perm)
    if m == 0:
        return result
    D = _Design(values)
    if (D.counts < 1).any():
        raise ValueError("every configuration needs at least one unit")
    intervals = seeded_intervals(m)
    P_all = _positions(intervals)
    level = lambda a, b: float(D.y[D.cum_n[a]:D.cum_n[b + 1]].mean())      # noqa: E731  (configs a..b)
    if m < 2 or D.df <= 0:
        result.segments.append((0, m - 1, level(0, m - 1), int(D.cum_n[-1])))
        return result
    blk = None
    if rounds is not None:
        found = _blocks(rounds, times if times is not None else rounds)
        result.n_rounds = len(found)
        result.ordered_rounds = int(sum(o for _, o in found))
        if not result.ordered_rounds:             # a round in value order is no randomised block
            blk = [pos for pos, _ in found]
    result.within_rounds = blk is not None
    if blocked is not None:
        blk, result.n_blocks = blocked.blocks, blocked.n_blocks
    null = D.null_max(P_all, n_perm, zlib.crc32(str(seed).encode()), blk)
    threshold = float(np.quantile(null, 1 - alpha, method="higher"))
    result.threshold = threshold
    t_all, eff_all = D.t(D.y, P_all)
    min_log = np.log1p(min_effect)
    over = (np.abs(t_all) > threshold) & (np.abs(eff_all) >= min_log)
    cps: list[int] = []
    detected: dict = {}                           # change point -> |t| of the interval that found it
    todo = [(0, m - 1)]
    while todo:                                   # narrowest-over-threshold, recursively
        a, b = todo.pop()
        inside = over & (P_all.s >= a) & (P_all.e <= b)
        if not inside.any():
            continue
        w = np.where(inside, P_all.width, np.iinfo(np.int64).max)
        narrow = w == w.min()
        k = int(np.argmax(np.where(narrow, np.abs(t_all), -1)))
        j = int(P_all.j[k])
        cps.append(j)
        detected[j] = abs(float(t_all[k]))
        todo += [(a, j), (j + 1, b)]
    cps.sort()
    bounds = [0] + [j + 1 for j in cps] + [m]
    # levels that differ by less than min_effect are one segment (a change can shrink once its
    # neighbours are found): drop the smallest such change until none is left
    while len(bounds) > 2:
        diffs = [abs(level(bounds[i], bounds[i + 1] - 1) - level(bounds[i - 1], bounds[i] - 1))
                 for i in range(1, len(bounds) - 1)]
        i = int(np.argmin(diffs))
        if diffs[i] >= min_log:
            break
        del bounds[i + 1]
    # each change moves to where all the units of its two segments put it (the single-change fit over
    # them): the narrow interval that found it saw only a few configurations, and one noisy configuration
    # beside a stair could pull it a count off (measured: 3 of 20 real wave sweeps at 7->8 or 9->10)
    for _ in range(3):
        moved = False
        for i in range(1, len(bounds) - 1):
            a, b, old = bounds[i - 1], bounds[i + 1] - 1, bounds[i] - 1
            t_u, _ = D.t(D.y, _positions(np.array([[a, b]])))
            same = np.sign(t_u) == np.sign(t_u[old - a])
            j = a + int(np.argmax(np.where(same, np.abs(t_u), -1)))
            if j != old:
                bounds[i] = j + 1
                detected[j] = detected.pop(old)
                moved = True
        if not moved:
            break
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1] - 1
        result.segments.append((a, b, level(a, b), int(D.cum_n[b + 1] - D.cum_n[a])))

    def p_of(t):
        return (1 + int(np.count_nonzero(null >= abs(t)))) / (len(null) + 1)

    for i in range(1, len(bounds) - 1):
        a, j, b = bounds[i - 1], bounds[i] - 1, bounds[i + 1] - 1
        P = _positions(np.array([[a, b]]))
        t_u, _ = D.t(D.y, P)
        t = float(t_u[j - a])
        lo, hi, ramp = location_set(values[a:b + 1], j - a, np.sign(t), seed=(seed, j))
        # its evidence is the contrast that found it (over the threshold by construction); the contrast
        # over the two whole adjacent segments can be weaker (a spike beside a long stair)
        t_det = max(detected[j], abs(t))
        result.change_points.append(ChangePoint(
            index=j, stat=float(np.copysign(t_det, t)), p_value=p_of(t_det), level_before=level(a, j),
            level_after=level(j + 1, b),
            n_before=int(D.cum_n[j + 1] - D.cum_n[a]), n_after=int(D.cum_n[b + 1] - D.cum_n[j + 1]),
            location=(a + lo, a + hi), ramp=None if ramp is None else (a + ramp[0], a + ramp[1])))
    # the strongest split left inside each final segment: undecided when it looks like a step
    for a, b, _, _ in result.segments:
        inside = (P_all.s >= a) & (P_all.e <= b)
        if b <= a or not inside.any():
            continue
        k = int(np.argmax(np.where(inside, np.abs(t_all), -1)))
        result.candidates.append(Candidate(index=int(P_all.j[k]), stat=float(t_all[k]), p_value=p_of(t_all[k]),
                                           effect=float(eff_all[k]), segment=(a, b)))
    return result


def location_set(values: list, j: int, sign: float, *, level: float = LOCATION_LEVEL, n_perm: int = N_LOCATION,
                 seed=0) -> tuple:
    """Where one change between the configurations ``values`` (log medians of their processes, in sweep
    order; the change found after ``j``, going the way of ``sign``) may lie: ``(lo, hi, ramp)``, the change
    lies after some configuration lo..hi, and ``ramp`` is ``(lo, hi)`` when configurations inside the set
    sit between the two levels (the level changes over lo+1..hi), else None.

    1. Test inversion: split k is in the set when the fit's loss against the best split,
       ``max u^2 - u_k^2`` over the studentized contrasts u (in the change's direction), is within the
       ``level`` quantile of that loss at the true split. That quantile comes from the sweep itself: the
       fit at the best split plus its residuals permuted among all units (the sweep's own noise: heavy
       tails, a slow mode some processes fall into; a level that drifts over several counts leaves
       structured residuals, which widen the set). The loss at the true split is close to pivotal (its
       law hardly depends on where the split is), so one null serves every split (one permutation set per
       change, not one per split: a sweep of 2,000 configurations stays within seconds). Coverage is
       measured in bench/bench_steps.py.
    2. Edges: a configuration just outside the set whose level already left its plateau towards the
       other one (more than RAMP_EDGE_Z standard errors, pooled between-process sigma) joins the set,
       until none does: the ends of a gradual change.
    3. Ramp: a configuration inside the set that differs from both plateaus by more than RAMP_Z
       standard errors each way.
    """
    m = len(values)
    D = _Design(values)
    if m < 3 or D.df <= 0:
        return j, j, None
    P = _positions(np.array([[0, m - 1]]))
    t_obs, _ = D.t(D.y, P, effect=False)
    u = np.maximum(sign * t_obs, 0.0)
    loss = u.max() ** 2 - u ** 2
    rng = np.random.default_rng(zlib.crc32(repr(seed).encode()))
    n = len(D.y)
    cut = int(D.cum_n[j + 1])
    fit = np.concatenate((np.full(cut, D.y[:cut].mean()), np.full(n - cut, D.y[cut:].mean())))
    ys = fit + rng.permuted(np.broadcast_to(D.y - fit, (n_perm, n)), axis=1)
    ts, _ = D.t(ys, P, effect=False)
    us = np.maximum(sign * ts, 0.0)
    null = us.max(axis=1) ** 2 - us[:, j] ** 2
    bound = float(np.quantile(null, level, method="higher"))
    keep = [j] + [k for k in range(m - 1) if u[k] > 0 and loss[k] <= bound + 1e-9]
    # and where the change goes when the processes of each configuration are resampled (a bootstrap over
    # processes within configurations): it keeps each configuration's own spread, which the pooled
    # residuals dilute (a configuration whose processes split between two modes); its central 99%
    starts = np.repeat(D.cum_n[:-1], D.counts)
    sizes = np.repeat(D.counts, D.counts)
    idx = starts + (rng.random((n_perm // 2, n)) * sizes).astype(np.int64)
    yb = D.y[idx]
    # With fewer than SMOOTH_BELOW processes the plain bootstrap only redraws the few it has: a configuration
    # whose 3 processes drew 2 slow ones stays slow in most resamples, and the set claims one exact place
    # inside a level that drifts (bench_steps: 78% coverage at 3 processes). A smoothed bootstrap (each
    # redrawn process plus N(0, (SMOOTH_H * pooled sigma)^2)) lets such a configuration be what its
    # neighbours are: 95% coverage at 3 processes, at the price of wider sets for sharp steps (docs/analysis.md).
    thin = sizes < SMOOTH_BELOW
    if thin.any():
        yb = yb + thin * rng.normal(0.0, SMOOTH_H * float(D.sigma(D.y, D.sums(D.y))), yb.shape)
    tb, _ = D.t(yb, P, effect=False)
    where = np.argmax(np.maximum(sign * tb, 0.0), axis=1)
    keep += [int(np.quantile(where, (1 - BOOTSTRAP_LEVEL) / 2, method="lower")),
             int(np.quantile(where, 1 - (1 - BOOTSTRAP_LEVEL) / 2, method="higher"))]
    lo, hi = min(keep), max(keep)
    sums = D.sums(D.y)
    sigma = float(D.sigma(D.y, sums))
    means = sums / D.counts

    def z(c, first, last):
        """(mean of config c - mean of configs first..last) / its standard error, in the change's direction."""
        n_p = D.cum_n[last + 1] - D.cum_n[first]
        mu = D.y[D.cum_n[first]:D.cum_n[last + 1]].mean()
        return sign * (means[c] - mu) / (sigma * np.sqrt(1 / D.counts[c] + 1 / n_p))

    while lo > 0 and z(lo, 0, lo - 1) > RAMP_EDGE_Z:          # config lo already left the left plateau
        lo -= 1
    while hi < m - 2 and z(hi + 1, hi + 2, m - 1) < -RAMP_EDGE_Z:   # config hi+1 has not reached the right one
        hi += 1
    inside = [c for c in range(lo + 1, hi + 1) if z(c, 0, lo) > RAMP_Z and z(c, hi + 1, m - 1) < -RAMP_Z]
    return lo, hi, ((lo, hi) if inside else None)
