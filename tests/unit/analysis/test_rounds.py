"""Rounds and run order: the permutation test stays inside randomised rounds (rounds.py, changepoints.py)."""
import numpy as np
import pandas as pd

from cltrace.analysis.changepoints import segment
from cltrace.analysis.rounds import blocks, unit_rounds, value_ordered


def _sweep(rng, m=12, R=3, step=0.0, at=5, order="shuffle", drift=0.0, burst=0.0):
    """log medians of m configurations x R rounds; per round a random (or value) order; noise: a process
    effect, a round level, a linear drift over run time and a burst lifting 4 neighbouring runs."""
    T = m * R
    noise = rng.normal(0, 0.3, T) + np.repeat(rng.normal(0, 0.2, R), m) + drift * np.arange(T) / T
    b = rng.integers(0, T - 4)
    noise[b:b + 4] += burst
    vals, rounds, times = ([[] for _ in range(m)] for _ in range(3))
    for r in range(R):
        seq = rng.permutation(m) if order == "shuffle" else np.arange(m)
        for pos, v in enumerate(seq):
            vals[v].append(noise[r * m + pos] + (step if v > at else 0.0))
            rounds[v].append(r)
            times[v].append(r * m + pos)
    return [np.array(v) for v in vals], rounds, times


def test_unit_rounds_rank_units_of_a_configuration_in_run_order():
    u = pd.DataFrame({"config_id": [0, 0, 1, 1, 0], "unit": [5, 1, 2, 4, 3], "run_id": [5, 1, 2, 4, 3],
                      "first_sample": [50, 10, 20, 40, 30]})
    out = unit_rounds(u)
    assert out["time"].tolist() == [4, 0, 1, 3, 2]
    assert out["round"].tolist() == [2, 0, 0, 1, 1]


def test_value_ordered_rounds():
    assert value_ordered(np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13]))
    assert value_ordered(np.array([3, 2, 1]), np.array([0, 1, 2]))
    assert not value_ordered(np.array([0, 2, 1, 3]), np.array([0, 1, 2, 3]))
    assert not value_ordered(np.array([0, 1]), np.array([0, 1]))          # too short to tell
    found = blocks([[0, 1], [0, 1], [0, 1]], [[0, 5], [2, 3], [1, 4]])
    assert [(list(p), o) for p, o in found] == [([0, 4, 2], False), ([3, 5, 1], False)]


def test_aa_with_drift_bursts_and_round_levels_gives_no_step_in_shuffled_rounds():
    rng = np.random.default_rng(3)
    found = 0
    for i in range(20):
        vals, rounds, times = _sweep(rng, drift=0.5, burst=0.8)
        seg = segment(vals, alpha=0.01, seed=i, n_perm=500, rounds=rounds, times=times)
        assert seg.within_rounds and seg.n_rounds == 3 and seg.ordered_rounds == 0
        found += len(seg.change_points)
    assert found == 0


def test_real_step_still_found_in_shuffled_rounds():
    rng = np.random.default_rng(4)
    hits = 0
    for i in range(10):
        vals, rounds, times = _sweep(rng, step=0.7, drift=0.5, burst=0.8)
        seg = segment(vals, alpha=0.01, seed=i, n_perm=500, rounds=rounds, times=times)
        hits += any(c.index == 5 for c in seg.change_points)
    assert hits >= 8


def test_round_levels_cancel_in_the_within_round_test():
    """Rounds that differ in level (the machine between passes) make the free permutation conservative;
    inside rounds they cancel, so a moderate step is found more often."""
    rng = np.random.default_rng(5)
    free = within = 0
    for i in range(12):
        vals, rounds, times = _sweep(rng, step=0.5)
        vals = [v + np.array([0.0, 0.5, -0.5]) for v in vals]           # strong round levels
        free += any(c.index == 5 for c in segment(vals, seed=i, n_perm=500).change_points)
        within += any(c.index == 5 for c in segment(vals, seed=i, n_perm=500, rounds=rounds,
                                                     times=times).change_points)
    assert within > free


def test_value_ordered_rounds_fall_back_to_the_free_permutation():
    rng = np.random.default_rng(6)
    vals, rounds, times = _sweep(rng, order="value")
    seg = segment(vals, alpha=0.01, n_perm=200, rounds=rounds, times=times)
    assert seg.ordered_rounds == 3 and not seg.within_rounds
    plain = segment(vals, alpha=0.01, n_perm=200)
    assert seg.threshold == plain.threshold
