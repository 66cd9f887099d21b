"""bench/overhead_driver.py's interval for a difference of medians over processes: it must cover the true
difference, exclude 0 only when the two sets of processes really differ, and be reproducible."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))

from overhead_driver import fmt_ci, median_diff_ci


def test_interval_excludes_zero_for_a_real_difference_and_covers_it():
    rng = np.random.default_rng(1)
    untraced = 20 + rng.normal(0, 0.3, 15)
    traced = 20.8 + rng.normal(0, 0.3, 15)
    est, lo, hi = median_diff_ci(traced, untraced)
    assert lo > 0 and lo <= 0.8 <= hi
    assert est == np.median(traced) - np.median(untraced)


def test_interval_spans_zero_for_the_same_distribution():
    rng = np.random.default_rng(2)
    # multimodal per-process times, as the sync pattern gives on this VM
    modes = np.array([22.0, 33.0, 49.0])
    a = modes[rng.integers(0, 3, 21)] + rng.normal(0, 1, 21)
    b = modes[rng.integers(0, 3, 21)] + rng.normal(0, 1, 21)
    _, lo, hi = median_diff_ci(a, b)
    assert lo < 0 < hi


def test_interval_is_reproducible_and_formatted():
    a, b = [3.1, 3.4, 2.9, 3.3, 3.0], [2.5, 2.6, 2.4, 2.7, 2.5]
    assert median_diff_ci(a, b) == median_diff_ci(a, b)
    est, lo, hi = median_diff_ci(a, b)
    assert fmt_ci(est, lo, hi) == f"{est:+.2f} [{lo:+.2f}, {hi:+.2f}]"
    assert fmt_ci(0.5, -0.25, 1.0, 3) == "+0.500 [-0.250, +1.000]"
