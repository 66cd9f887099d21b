"""The network map's per-layer table: one stair rule for the cells, the edges and the best count."""
import numpy as np
import pandas as pd

from cltrace.network.pruning_map import build

# conv2_1's process medians (ms) in docs/network.md's OpenCV VGG run (6 processes x 20 forwards): a step up
# after 26 channels (ocl4dnn's work-groups 5 -> 6) followed by a slow rise, which the analysis reports as a ramp
CONV2_1_MS = {24: 2.441, 25: 2.544, 26: 2.507, 27: 2.763, 28: 2.832, 29: 2.982, 30: 3.079, 31: 3.158, 32: 3.294}
SEED = 0         # a draw where the ramp starts at 24, below the stair's end at 26 (as the docs' run started at 25)


def layer_samples(levels_ms: dict, seed: int, processes=6, iters=5, sigma_p=0.03, sigma=0.02) -> pd.DataFrame:
    """One layer's sweep along channels: ``processes`` processes per count, each with a process effect
    exp(N(0, sigma_p)) and ``iters`` iterations with noise exp(N(0, sigma))."""
    rng = np.random.default_rng(seed)
    rows, pid = [], 0
    for c, ms in levels_ms.items():
        for _ in range(processes):
            pid += 1
            eff = np.exp(rng.normal(0, sigma_p))
            rows += [{"run_id": pid, "process_id": pid, "latency_ns": ms * 1e6 * eff * np.exp(rng.normal(0, sigma)),
                      "status": "ok", "signature": (("k", "64x1x1", "8x1x1", 8),), "signature_hash": "h",
                      "signature_text": "k", "channels": c, "layer": "conv2_1"} for _ in range(iters)]
    return pd.DataFrame(rows)


def stairs(m) -> list:
    """(first, last, level) of each stair of the map's only layer, from the cells."""
    cells = m.cells.sort_values("channels")
    return [(int(g["channels"].min()), int(g["channels"].max()), float(g["latency_ns"].iloc[0]))
            for _, g in cells.groupby("segment_id")]


def test_a_ramps_edge_is_its_stairs_largest_count_and_the_best_count_is_an_edge():
    """The staircase of the docs' conv2_1: the step is a ramp that starts at 24 (its place is open), while the
    stairs (the segments every cell is read from) split after 26. The edge was the ramp's first count (24)
    and the best count 26: two rules. Both are now the stair's largest count."""
    m = build(layer_samples(CONV2_1_MS, seed=SEED))
    steps = m.result.steps
    assert list(steps["kind"]) == ["ramp"] and int(steps["from_value"].iloc[0]) < 26    # the case that disagreed
    st = stairs(m)
    assert st[0][:2] == (24, 26)
    row = m.layers.iloc[0]
    slower_next = [last for (_, last, lvl), (_, _, nxt) in zip(st[:-1], st[1:]) if nxt > lvl]
    assert row["edges"] == slower_next and row["edges"][0] == 26
    assert row["best_channels"] == 26 and row["best_distance"] == 6 and row["best_channels"] in row["edges"]
    assert row["best_speedup"] == max(c["speedup"] for c in m.cells.to_dict("records") if c["status"] == "edge")
    assert set(m.cells.loc[m.cells["status"] == "edge", "channels"]) == set(row["edges"])


def test_edges_and_best_agree_on_sharp_steps_ramps_and_hazards():
    """On every shape the best count is one of the edges, every edge is the largest count of its stair, and
    the next stair is slower."""
    shapes = [CONV2_1_MS,
              {c: 1.0 if c <= 20 else 2.0 if c == 30 else 1.5 for c in range(12, 33)},          # a hazard at 30
              {c: 1.0 if c <= 25 else 1.1 if c == 26 else 1.25 if c == 27 else 1.5 for c in range(16, 33)}]
    for levels in shapes:
        for seed in range(2):
            m = build(layer_samples(levels, seed=seed))
            row, st = m.layers.iloc[0], stairs(m)
            last_of = {last: i for i, (_, last, _) in enumerate(st)}
            for e in row["edges"]:
                i = last_of[e]
                assert i == len(st) - 1 or st[i + 1][2] > st[i][2]
            assert row["best_channels"] in row["edges"]
            assert row["best_speedup"] >= max(c["speedup"] for c in m.cells.to_dict("records")
                                              if c["status"] not in ("hazard", "untested")) / 1.0001

