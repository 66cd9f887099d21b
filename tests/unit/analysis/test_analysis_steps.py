"""configs, units, steps, attribution and recommendations on hand-made samples."""
import numpy as np
import pandas as pd
import pytest

from cltrace.analysis.adaptive import configs_to_rerun, undecided_summary
from cltrace.analysis.attribution import attribute, global_changed, short_label
from cltrace.analysis.configs import config_stats
from cltrace.analysis.staircase import analyse
from cltrace.analysis.steps import detect_steps
from cltrace.analysis.units import process_units, unit_estimates

SIG = (("k", "64x8x1", "8x8x1", 8),)


def samples(levels: dict, n=10, sigma=0.02, seed=0, status="ok", sig=SIG, method=None, k=3, sigma_p=0.0,
            bimodal=0.0):
    """n samples in each of k processes per configuration; a process effect exp(N(0, sigma_p)),
    a slow mode (x1.8) with probability bimodal."""
    rng = np.random.default_rng(seed)
    rows = []
    pid = 1000 * (seed + 1) + (0 if method is None else 500 * len(method))
    for c, lvl in levels.items():
        for p in range(k):
            pid += 1
            eff = np.exp(rng.normal(0, sigma_p)) * (1.8 if rng.random() < bimodal else 1.0)
            for i in range(n):
                rows.append({"run_id": pid, "process_id": pid,
                             "latency_ns": lvl * eff * np.exp(rng.normal(0, sigma)) if sigma else float(lvl) * eff,
                             "status": status, "signature": sig, "signature_hash": str(hash(sig))[-8:],
                             "signature_text": "k g=64x8x1 l=8x8x1 wg=8", "channels": c,
                             **({"method": method} if method else {})})
    return pd.DataFrame(rows)


def stairs(values, at, ratio=1.5, base=1e6):
    return {v: base * (ratio if v > at else 1.0) for v in values}


def test_config_stats_basic_and_cold_and_failed():
    S = samples({8: 100.0}, n=4, sigma=0, k=1)
    S.loc[0, "status"] = "cold"
    S.loc[0, "latency_ns"] = 1000.0
    S.loc[1, "status"] = "failed-run"
    C = config_stats(S, ["channels"])
    r = C.iloc[0]
    assert r["n"] == 2 and r["median_ns"] == pytest.approx(100) and r["iter_median_ns"] == 100
    assert r["n_cold_excluded"] == 1 and r["n_failed"] == 1
    assert r["failed_runs"] == [S["run_id"][0]] and not r["cold_only"] and not r["signature_varies"]


def test_config_levels_come_from_the_processes_and_the_iteration_spread_says_so():
    """Two processes of one configuration: one with 9 iterations at 100 ns, one with 1 at 300 ns. The level
    statistics are the processes' (median of 100 and 300), the pooled iterations keep iter_* names; one row
    never mixes the two."""
    S = pd.DataFrame([{"run_id": pid, "process_id": pid, "latency_ns": lat, "status": "ok", "signature": SIG,
                       "signature_hash": "h", "signature_text": "k", "channels": 8}
                      for pid, lat, n in ((1, 100.0, 9), (2, 300.0, 1)) for _ in range(n)])
    r = config_stats(S, ["channels"]).iloc[0]
    assert r["n_processes"] == 2 and r["process_median_ns"] == pytest.approx([100, 300])
    assert r["median_ns"] == pytest.approx(200) and r["level_ns"] == pytest.approx(np.sqrt(100 * 300))
    assert r["iter_median_ns"] == 100 and r["iter_p10_ns"] == 100 and r["iter_p90_ns"] == pytest.approx(120)
    assert r["iter_mean_ns"] == pytest.approx(120) and r["n"] == 10
    assert not {"p10_ns", "p90_ns", "mean_ns", "std_ns", "sample_median_ns"} & set(config_stats(S).columns)


def test_configs_and_units_count_the_same_samples_under_one_config_id():
    """units.usable_mask is the one rule: an ok sample without a positive latency counts neither as an
    iteration nor in a unit; config_id is assigned once and the units carry the same ids."""
    from cltrace.analysis.configs import configurations
    S = samples({8: 100.0, 16: 200.0}, n=3, sigma=0, k=2)
    S.loc[0, "latency_ns"] = 0.0
    S.loc[1, "latency_ns"] = np.nan
    m = configurations(S, ["channels"])
    assert m.table["config_id"].tolist() == [0, 1] and m.table["n"].tolist() == [4, 6]
    assert m.units.groupby("config_id")["n_samples"].sum().tolist() == [4, 6]
    assert m.sample_ids.tolist() == [0] * 6 + [1] * 6


def test_config_cold_only_used_when_no_warm():
    S = samples({8: 100.0}, n=2, sigma=0, status="cold")
    r = config_stats(S, ["channels"]).iloc[0]
    assert r["cold_only"] and r["n"] == 6 and r["n_cold_excluded"] == 0


def test_config_all_failed_has_no_stats():
    r = config_stats(samples({8: 1.0}, n=2, status="failed-run"), ["channels"]).iloc[0]
    assert r["n"] == 0 and np.isnan(r["median_ns"])


def test_units_are_one_median_per_process():
    S = samples({8: 100.0, 9: 200.0}, n=5, sigma=0.1, k=3)
    S.loc[0, "latency_ns"] = 1e9                  # one preempted iteration moves nothing
    cid = (S["channels"] == 9).to_numpy().astype(int)
    U = process_units(S, cid)
    assert len(U) == 6 and list(U["n_samples"]) == [5] * 6
    first = S[S["process_id"] == S["process_id"][0]]["latency_ns"]
    assert U["median_ns"][0] == pytest.approx(first.median())
    E = unit_estimates(U, [0, 1])
    assert list(E["n_processes"]) == [3, 3]
    assert E["level_ns"][1] / E["level_ns"][0] == pytest.approx(2.0, rel=0.15)
    assert (E["within_sigma"] > 0).all() and len(E["process_median_ns"][0]) == 3


def test_detects_single_step_ascending_and_descending_input():
    S = samples(stairs(range(16, 48), 31), sigma_p=0.05)
    res = analyse(S.iloc[::-1], "channels")            # input order must not matter
    assert len(res.pairs) == 31 and res.pairs["tested"].all()
    assert len(res.steps) == 1
    s = res.steps.iloc[0]
    assert (s["from_value"], s["to_value"], s["direction"]) == (31, 32, "up")
    assert s["ratio"] == pytest.approx(1.5, rel=0.05) and s["confidence"] >= 0.99
    assert (s["n_before"], s["n_after"]) == (16 * 3, 16 * 3)     # processes behind the verdict, not samples
    assert s["location_from"] <= 31 and s["location_to"] >= 32


def test_step_down_direction():
    res = analyse(samples(stairs(range(16, 48), 31, ratio=0.5)), "channels")
    assert list(res.steps["direction"]) == ["down"]


def test_one_configuration_and_one_process():
    res = analyse(samples({8: 1.0}), "channels")
    assert res.steps.empty
    res = analyse(samples(stairs(range(8, 24), 15, ratio=3.0), k=1, n=20), "channels")
    assert res.steps.empty and len(res.pairs) == 15 and not res.pairs["tested"].any()
    assert any("fewer than 2 processes and get no verdict" in n and "--repeat 3" in n for n in res.notes)
    assert configs_to_rerun(res) and "fewer than 2 processes" in undecided_summary(res)


def test_iterations_are_not_replicates():
    # A/A: strong process effects, 50 iterations each. Per-configuration medians differ by far more
    # than min_effect and a test on iterations calls them steps at confidence 1; on processes, none.
    false = 0
    for seed in range(20):
        res = analyse(samples({c: 1e6 for c in range(12)}, n=50, sigma=0.05, sigma_p=0.25, seed=seed), "channels")
        false += len(res.steps) > 0
    assert false <= 1


def test_bimodal_processes_make_no_false_step():
    false = sum(len(analyse(samples({c: 1e6 for c in range(12)}, n=10, sigma_p=0.05, bimodal=0.2, seed=s),
                            "channels").steps) > 0 for s in range(20))
    assert false <= 1


def test_all_samples_equal():
    res = analyse(samples({c: 100.0 for c in range(8)}, n=3, sigma=0), "channels")
    assert res.steps.empty
    res = analyse(samples(stairs(range(8), 3, ratio=1.01), n=3, sigma=0), "channels")
    assert res.steps.empty                                    # below min_effect
    res = analyse(samples(stairs(range(8), 3, ratio=1.5), n=3, sigma=0), "channels")
    assert len(res.steps) == 1


def test_groups_are_separate():
    a = samples(stairs(range(16, 40), 20), method="gemm")
    b = samples(stairs(range(16, 40), 30), method="direct", seed=1)
    res = analyse(pd.concat([a, b], ignore_index=True), "channels")
    got = sorted(zip(res.steps["group_label"], res.steps["from_value"]))
    assert got == [("method=direct", 30), ("method=gemm", 20)]


def test_a_stair_over_two_counts_is_one_step():
    lv = {c: 1e6 * (1.25 ** min(max(c - 20, 0), 2)) for c in range(10, 40)}
    res = analyse(samples(lv, sigma=0.005), "channels")
    assert len(res.steps) == 1 and res.steps["kind"][0] == "ramp" and res.steps["n_pairs"][0] == 2
    assert (res.steps["from_value"][0], res.steps["to_value"][0]) == (20, 22)
    assert res.steps["ratio"][0] == pytest.approx(1.5625, rel=0.03)
    assert len(analyse(samples(lv, sigma=0.005), "channels", merge_ramps=False).steps) == 2


def test_single_configuration_spikes_and_sawtooth():
    lv = {c: 1e6 * (1.0 if c % 4 == 0 else 1.3) for c in range(84, 101)}
    res = analyse(samples(lv, n=5, sigma=0.02, sigma_p=0.02), "channels")
    fast = [c for c in lv if c % 4 == 0]
    want = sorted({(c - 1, c) for c in fast if c > 84} | {(c, c + 1) for c in fast if c < 100})
    assert sorted(zip(res.steps["from_value"], res.steps["to_value"])) == want


def test_a_level_halfway_between_is_a_ramp_not_an_exact_step():
    lv = {c: 1e6 * (1.0 if c < 20 else 1.118 if c == 20 else 1.25) for c in range(10, 31)}
    res = analyse(samples(lv, sigma=0.02, sigma_p=0.06, seed=5, k=5), "channels")
    assert len(res.steps) == 1
    s = res.steps.iloc[0]
    assert (s["kind"], s["from_value"], s["to_value"], s["n_pairs"]) == ("ramp", 19, 21, 2)
    assert (s["location_from"], s["location_to"]) == (19, 21)
    # with 3 processes per configuration the set is smoothed (changepoints.SMOOTH_BELOW): wider, still holding it
    s = analyse(samples(lv, sigma=0.02, sigma_p=0.06, seed=5, k=3), "channels").steps.iloc[0]
    assert s["kind"] == "ramp" and s["location_from"] <= 19 and s["location_to"] >= 21


def test_a_level_that_drifts_over_several_counts_is_one_ramp_over_them():
    # a slow mode whose share grows from 0 to 1 over 16..20 (PoCL's thread placement changing with the count)
    lv = {c: 1e6 * 1.8 ** min(max(c - 16, 0) / 4, 1.0) for c in range(6, 31)}
    res = analyse(samples(lv, sigma=0.02, sigma_p=0.05, seed=2, k=5), "channels")
    assert len(res.steps) == 1
    s = res.steps.iloc[0]
    assert s["kind"] == "ramp" and s["location_from"] <= 17 and s["location_to"] >= 19


def test_noisy_step_gets_a_location_interval():
    lv = {c: 1e6 * (1.0 if c <= 20 else 1.15) for c in range(10, 31)}
    res = analyse(samples(lv, sigma=0.02, sigma_p=0.08, seed=2), "channels")
    assert len(res.steps) == 1
    s = res.steps.iloc[0]
    assert s["kind"] == "step" and s["location_from"] <= s["from_value"] < s["to_value"] <= s["location_to"]
    assert s["location_from"] <= 20 and s["location_to"] >= 21 and s["location_to"] - s["location_from"] > 1
    # a step whose place is open asks for processes in its two segments (here: the whole sweep)
    u = res.undecided
    assert list(u["reason"]) == ["step found, its place is open"]
    assert (u["from_value"][0], u["to_value"][0]) == (s["location_from"], s["location_to"])
    assert sorted(c["channels"] for c in configs_to_rerun(res)) == list(range(10, 31))
    assert undecided_summary(res) == "1 step whose place is open"


def test_undecided_step_asks_for_processes_of_its_segment():
    lv = stairs(range(10, 22), 15, ratio=1.12)
    res = analyse(samples(lv, n=5, sigma=0.02, sigma_p=0.05, seed=3, k=2), "channels")
    assert res.steps.empty and len(res.undecided) == 1
    assert res.undecided["reason"][0] == "possible step, not significant yet"
    again = configs_to_rerun(res)
    assert sorted(c["channels"] for c in again) == list(range(10, 22))      # the whole segment
    assert undecided_summary(res) == "1 candidate step undecided"
    # with 8 processes the step is found; its place may still be open (within 14..16: the bootstrap over
    # processes moves it in a few percent of resamples); with 12 it is decided
    res = analyse(samples(lv, n=5, sigma=0.02, sigma_p=0.05, seed=3, k=8), "channels")
    assert [(s["from_value"], s["to_value"]) for s in res.steps.to_dict("records")] == [(15, 16)]
    res = analyse(samples(lv, n=5, sigma=0.02, sigma_p=0.05, seed=3, k=12), "channels")
    assert [(s["from_value"], s["to_value"]) for s in res.steps.to_dict("records")] == [(15, 16)]
    assert configs_to_rerun(res) == [] and undecided_summary(res) == "all verdicts decided"


def test_detect_steps_on_process_logs_directly():
    rng = np.random.default_rng(0)
    C = pd.DataFrame({"channels": range(10), "config_id": range(10), "n": 3, "median_ns": 1.0,
                      "process_logs": [rng.normal(0.0 if c < 5 else 0.5, 0.02, 3) for c in range(10)]})
    v = detect_steps(C, "channels", alpha=0.01)
    assert list(zip(v.steps["from_value"], v.steps["to_value"])) == [(4, 5)]
    assert list(v.segments["n_configs"]) == [5, 5] and list(v.segments["n_processes"]) == [15, 15]
    assert v.untested.empty and v.alpha_group == 0.01


@pytest.mark.parametrize("before,after,kinds,text", [
    ((("k", "g", "l", 1),), (("k", "g", "l", 1), ("tail", "g", "l", 1)), ["dispatch-count"],
     "extra dispatch: tail (1 more launch)"),
    ((("k", "g", "l", 1),) * 2, (("k", "g", "l", 1),), ["dispatch-count"], "dispatch removed: k (1 fewer launch)"),
    ((("k", "g", "8x56x1", 1),), (("k", "g", "1x56x56", 1),), ["work-group-split"],
     "work-group split: k local 8x56x1 -> 1x56x56"),
    ((("k", "96x56", "l", 1),), (("k", "100x56", "l", 2),), ["tile-padding"],
     "global size (tile padding): k 96x56 -> 100x56 (work-groups 1 -> 2)"),
    ((("a", "g", "l", 1),), (("b", "g", "l", 1), ("c", "g", "l", 1)), ["variant-switch"],
     "kernel variant switched: a -> b + c"),
    ((("k", "g", "l", 1),), (("k", "g", "l", 1),), ["unexplained"],
     "unexplained: identical dispatches on both sides; inside the driver or device"),
    ((("k", "g1", "l1", 1),), (("k", "g2", "l2", 1), ("t", "g", "l", 1)),
     ["dispatch-count", "work-group-split", "tile-padding"], None),
])
def test_attribution(before, after, kinds, text):
    causes = attribute(before, after)
    assert [c.kind for c in causes] == kinds
    if text:
        assert causes[0].text == text
    assert short_label(causes)


def test_attribution_routine_global_and_driver_local():
    c = attribute((("k", "96x56", "driver", None),), (("k", "97x56", "driver", None),), routine_global=True)
    assert [x.kind for x in c] == ["unexplained"] and "every count" in c[0].text and "driver" in c[0].text
    assert global_changed((("k", "1", "l", 1),), (("k", "2", "l", 1),))
    assert "no dispatch signature" in attribute((), ())[0].text


def test_recommendations():
    lv = {c: 1e6 * (2.0 if c == 30 else 1.0 if c > 20 else 0.5) for c in range(10, 33)}
    res = analyse(samples(lv, sigma=0.01), "channels")
    assert list(res.edges["value"]) == [20, 29, 32] and list(res.edges["is_max"]) == [False, False, True]
    hz = res.hazards
    assert list(hz["value"]) == [30] and hz["factor"][0] == pytest.approx(2.0, rel=0.05)
    assert hz["confidence"][0] >= 0.99
    assert list(res.pareto["value"]) == [20, 32]
    sp = res.speedups
    row = sp[sp["value"] == 15].iloc[0]
    assert row["removed"] == 17 and row["speedup"] == pytest.approx(2.0, rel=0.05)
    assert res.best(budget_ns=0.6e6)["value"][0] == 20
    assert res.best(min_value=25)["value"][0] == 32          # one segment: its right edge
    b = res.best(budget_ns=1.0)
    assert b["value"][0] is None and "no configuration" in b["reason"][0]


def test_routine_global_is_judged_per_kernel_over_all_pairs():
    from cltrace.analysis.attribution import routine_global_kernels
    direct = [((("d", f"{c}x28", "driver", None),), (("d", f"{c + 1}x28", "driver", None),)) for c in range(4)]
    assert routine_global_kernels(direct) == {"d"}
    padded = [((("g", f"{c // 4}", "32", 1),), (("g", f"{(c + 1) // 4}", "32", 1),)) for c in range(8, 16)]
    assert routine_global_kernels(padded) == set()
    assert routine_global_kernels(padded, steady=True) == {"g"}
    # two counts, no evidence: a driver-chosen local size makes the global change no cause ...
    c = attribute((("d", "60x28", "driver", None),), (("d", "61x28", "driver", None),))
    assert [x.kind for x in c] == ["unexplained"]
    # ... unless the sweep showed its global holding still; explicit locals stay tile padding
    c = attribute((("d", "60x28", "driver", None),), (("d", "64x28", "driver", None),), steady_global={"d"})
    assert [x.kind for x in c] == ["tile-padding"]
    c = attribute((("g", "160x3", "32x1", 15),), (("g", "160x4", "32x1", 20),))
    assert [x.kind for x in c] == ["tile-padding"] and "work-groups 15 -> 20" in c[0].text


def test_time_shift_names_where_the_time_went_and_warns_when_causes_do_not_carry_it():
    from cltrace.analysis.attribution import Cause
    from cltrace.analysis.attribution import time_shift
    before = {"im2col": 1e6, "gemm_v4": 12.5e6}
    after = {"im2col": 1e6, "gemm_v4": 15.6e6, "gemm_tail": 0.3e6}
    causes = [Cause("dispatch-count", "extra dispatch: gemm_tail (1 more launch)", "gemm_tail", "0", "1")]
    text, share, warning = time_shift(before, after, causes)
    assert text.startswith("gemm_v4 +3.100 ms, gemm_tail +0.300 ms")
    assert abs(share - 0.3 / 3.4) < 1e-9
    assert "carry only 9% of the change: most is in gemm_v4, +3.100 ms" in warning
    text, share, warning = time_shift({"k": 1e6}, {"k": 1e6, "tail": 4e6}, [Cause("dispatch-count", "x", "tail")])
    assert share == 1.0 and warning == ""
    empty = time_shift({}, {}, causes)
    assert empty[0] == "" and empty[2] == "" and empty[1] != empty[1]      # nan: nothing to share out


def test_build_samples_carries_per_kernel_time():
    import pandas as pd
    from cltrace.analysis.configs import config_stats
    from cltrace.analysis.samples import build_samples
    rows = []
    for rid in range(3):
        for k, d in (("a", 1000), ("b", 3000), ("b", 2000)):
            rows.append({"run_id": 1, "process_id": 1, "seq": len(rows) + 1, "tid": 1, "kernel_name": k,
                         "work_dim": 1, "global0": 8, "local0": 8, "driver_local": 0, "work_groups": 1,
                         "duration_ns": d, "start_ns": 0, "end_ns": d, "region_id": rid, "times_status": "ok"})
    runs = pd.DataFrame({"run_id": [1], "status": ["ok"]})
    regions = pd.DataFrame({"region_id": [0, 1, 2], "run_id": 1, "process_id": 1, "tid": 1, "name": "L",
                            "tags": ['{"c": "4"}'] * 3, "begin_ns": 0, "end_ns": 1})
    S = build_samples(pd.DataFrame(rows), runs, None, regions)
    assert S["kernel_ns"].iloc[1] == {"a": 1000.0, "b": 5000.0}
    assert "wg=1" in S["signature_text"].iloc[1] and "wg=1.0" not in S["signature_text"].iloc[1]
    cfg = config_stats(S[S.status == "ok"], ["c"])
    assert cfg["kernel_median_ns"].iloc[0] == {"a": 1000.0, "b": 5000.0}


def test_kernel_levels_come_from_the_processes():
    """kernel_median_ns is a level like median_ns: the median over processes of each process's median, so a
    process with many iterations weighs no more than one with few."""
    from cltrace.analysis.configs import configurations
    rows = [{"run_id": pid, "process_id": pid, "latency_ns": t, "status": "ok", "signature": SIG,
             "signature_hash": "h", "signature_text": "k", "channels": 8, "kernel_ns": {"k": t}}
            for pid, t, n in ((1, 100.0, 9), (2, 300.0, 1), (3, 400.0, 1)) for _ in range(n)]
    r = configurations(pd.DataFrame(rows), ["channels"]).table.iloc[0]
    assert r["kernel_median_ns"] == {"k": 300.0} and r["median_ns"] == pytest.approx(300.0)
    assert r["iter_median_ns"] == 100.0


def test_every_reported_step_has_the_stated_confidence():
    # a sawtooth (cheap multiples of 4) whose tail grows with C % 4: spikes beside short stairs, where the
    # contrast over whole adjacent segments is weaker than the one that found the change
    lv = {c: 1e6 * (1.0 if c % 4 == 0 else 1.15 + 0.12 * (c % 4)) for c in range(9, 17)}
    for seed in range(6):
        res = analyse(samples(lv, n=5, sigma=0.05, sigma_p=0.08, seed=seed, k=5), "channels", alpha=0.01)
        assert (res.steps["confidence"] >= 0.99).all(), res.steps[["from_value", "to_value", "confidence"]]
        assert (res.steps["p_adjusted"] <= 0.01).all()
