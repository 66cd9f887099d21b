"""analyse() end to end on synthetic sweeps: ground truth, edge cases, serialisation, plots."""
import json

import numpy as np
import pandas as pd
import pytest

from cltrace.analysis import changepoints
from cltrace.analysis.prepare import choose_param
from cltrace.analysis.staircase import analyse
from cltrace.analysis.synthetic import (REALISTIC_NOISE, SweepSpec, StepSpec, make_staircase, match_steps,
                                        paper_example, random_steps)
from cltrace.report.staircase_json import staircase_dict


def test_precision_recall_on_steps_at_least_3_sigma():
    tp = found = true = 0
    causes_ok = causes_all = 0
    for sigma in (0.02, 0.05, 0.1):
        for seed in range(3):
            rng = np.random.default_rng(100 + seed)
            vals = list(range(32, 96))
            sweeps = [SweepSpec(vals, random_steps(vals, rng, n_steps=5, min_log=3 * sigma,
                                                   max_log=max(np.log(2), 4.5 * sigma)), {"method": m})
                      for m in ("gemm", "direct")]
            syn = make_staircase(sweeps, sigma=sigma, n=10, seed=seed)
            res = analyse(syn.samples, "channels")
            a, b, c = match_steps(res.steps, syn.truth)
            tp, found, true = tp + a, found + b, true + c
            for t in syn.truth.to_dict("records"):
                hit = res.steps[(res.steps["group_label"] == t["group_label"])
                                & (res.steps["from_value"] == t["from_value"])]
                if len(hit):
                    causes_all += 1
                    causes_ok += hit["cause_kind"].iloc[0] == t["cause"]
    assert tp / found >= 0.95, (tp, found)
    assert tp / true >= 0.95, (tp, true)
    assert causes_ok == causes_all > 0


def test_no_step_on_flat_sweep_of_200_configs_20pct_noise():
    syn = make_staircase([SweepSpec(list(range(1, 201)))], sigma=0.2, n=10, seed=7)
    res = analyse(syn.samples)
    assert res.param == "channels" and len(res.configs) == 200
    assert res.steps.empty and res.hazards.empty
    assert res.summary["n_steps"] == 0


@pytest.mark.parametrize("mode", ["runs", "single-run", "no-regions"])
def test_modes_and_paper_example_causes(mode):
    vals = list(range(60, 80))
    spec = SweepSpec(vals, [StepSpec(64, 1.6, "dispatch-count"), StepSpec(70, 0.6, "work-group-split"),
                            StepSpec(75, 1.5, "unexplained")], {"method": "gemm"})
    syn = make_staircase([spec], sigma=0.03, n=5, seed=1, mode=mode)
    res = analyse(syn.samples)
    assert list(res.steps["from_value"]) == [64, 70, 75]
    assert list(res.steps["cause_kind"]) == ["dispatch-count", "work-group-split", "unexplained"]
    assert res.steps["cause"][0] == "extra dispatch: conv_tail (1 more launch)"


def test_failed_configs_untimed_and_notes():
    spec = SweepSpec(list(range(8, 24)), [StepSpec(15, 2.0, "tile-padding")], {"method": "m"})
    syn = make_staircase([spec], sigma=0.02, n=5, seed=2, fail_values=(10,), untimed_prob=0.05)
    res = analyse(syn.samples)
    assert res.summary["failed_runs"] and res.summary["n_untimed"] > 0
    assert any("not ok" in n for n in res.notes) and any("missing device times" in n for n in res.notes)
    assert any("no usable sample" in n for n in res.notes)
    assert list(res.steps["from_value"]) == [15]


def test_single_config_single_sample_and_non_numeric():
    syn = make_staircase([SweepSpec([32])], n=1, seed=0)
    res = analyse(syn.samples)
    assert res.param is None and res.steps.empty and any("nothing to sweep" in n for n in res.notes)
    res = analyse(syn.samples.assign(channels=32), "channels")
    assert res.steps.empty and len(res.configs) == 1
    with pytest.raises(ValueError, match="not numeric"):
        analyse(syn.samples.assign(method="gemm"), "method")
    with pytest.raises(ValueError, match="no parameter"):
        analyse(syn.samples, "width")


def test_choose_param_and_ignore_repeat():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [1, 1, 2], "m": ["x", "y", "z"]})
    assert choose_param(df, ["a", "b", "m"]) == "a"
    syn = make_staircase([SweepSpec(list(range(8, 16)))], n=3, seed=0)
    S = syn.samples.assign(repeat_tag=0)
    S["trial"] = range(len(S))
    res = analyse(S)
    assert res.param == "channels" and len(res.configs) == 8


def test_to_dict_is_json_and_layout():
    res = analyse(paper_example().samples)
    d = json.loads(json.dumps(staircase_dict(res)))
    assert set(d) == {"param", "by", "summary", "notes", "configs", "steps", "edges", "pareto", "hazards",
                      "hazard_candidates", "speedups", "segments", "undecided", "dispatch_changes", "compute_units",
                      "jobs"}
    # every per-group table carries the group both ways: a dict and its label
    for table in ("configs", "steps", "edges", "pareto", "hazards", "speedups", "segments", "dispatch_changes"):
        assert all(r["group"] == {"method": r["group_label"].split("=")[1]} for r in d[table]), table
    assert d["configs"][0]["params"] == {"method": d["configs"][0]["method"], "channels": d["configs"][0]["channels"]}
    assert d["param"] == "channels" and d["by"] == ["method"]
    assert {"from_value", "to_value", "location_from", "location_to", "ratio", "p_adjusted", "confidence",
            "n_before", "n_after", "cause", "causes", "dispatch_change_ids"} <= set(d["steps"][0])
    assert "process_logs" not in d["configs"][0] and d["configs"][0]["n_processes"] == 3
    assert {"kind", "from_value", "to_value", "text", "at_step"} <= set(d["dispatch_changes"][0])
    assert "latencies" not in d["configs"][0] and d["configs"][0]["group_label"] == "method=direct"
    assert d["hazards"] and all(h["factor"] > 1 for h in d["hazards"])
    assert not res.best(budget_ns=15e6).empty


@pytest.mark.parametrize("ext", ["png", "svg", "html"])
def test_plot_writes_files(tmp_path, ext):
    from cltrace.report.plot import plot_staircase
    res = analyse(paper_example(n=3).samples)
    out = plot_staircase(res, str(tmp_path / f"s.{ext}"), title="t")
    data = open(out, "rb").read()
    assert len(data) > 1000
    if ext == "html":
        assert b"<svg" in data and b"<html" in data


def test_plot_single_group(tmp_path):
    from cltrace.report.plot import plot_staircase
    syn = make_staircase([SweepSpec(list(range(8, 20)), [StepSpec(12, 1.5)])], n=3, seed=0)
    plot_staircase(analyse(syn.samples), str(tmp_path / "one.png"))


def test_realistic_noise_precision_recall_and_no_flat_steps():
    """The validation that matters: a process effect, bimodal processes (REALISTIC_NOISE, fitted on
    real PoCL runs); 5 processes per configuration, steps of 3-4.5 x the between-process sigma."""
    tp = found = true = 0
    for seed in range(2):
        rng = np.random.default_rng(200 + seed)
        vals = list(range(32, 64))
        sweeps = [SweepSpec(vals, random_steps(vals, rng, n_steps=3, min_log=1.2, max_log=1.6, min_gap=4),
                            {"method": m}) for m in ("gemm", "direct")]
        syn = make_staircase(sweeps, n=10, seed=seed, processes=5, **REALISTIC_NOISE)
        a, b, c = match_steps(analyse(syn.samples, "channels").steps, syn.truth)
        tp, found, true = tp + a, found + b, true + c
    assert tp == found and tp / true >= 0.9, (tp, found, true)
    flat = [make_staircase([SweepSpec(list(range(12)), [], {"method": m}) for m in ("a", "b")], n=10, seed=s,
                           processes=3, **REALISTIC_NOISE) for s in range(10)]
    assert sum(len(analyse(f.samples, "channels").steps) > 0 for f in flat) <= 1


def test_every_dispatch_change_is_listed_whether_or_not_latency_steps():
    # a tail dispatch toggles at 64 but costs nothing: no latency step, still a fact in the result
    spec = SweepSpec(list(range(60, 70)), [StepSpec(64, 1.0, "dispatch-count"), StepSpec(66, 1.6, "unexplained")])
    res = analyse(make_staircase([spec], sigma=0.02, n=5, seed=3).samples, "channels")
    assert [(s["from_value"], s["to_value"]) for s in res.steps.to_dict("records")] == [(66, 67)]
    ch = res.dispatch_changes
    assert list(zip(ch["from_value"], ch["to_value"], ch["kind"])) == [(64, 65, "extra-dispatch")]
    assert not ch["at_step"].iloc[0] and res.steps["dispatch_change_ids"].iloc[0] == []


def test_compute_units_per_run_become_per_group():
    spec = [SweepSpec(list(range(8, 14)), [StepSpec(10, 1.5, "tile-padding")], {"method": m}) for m in ("a", "b")]
    syn = make_staircase(spec, sigma=0.02, n=3, seed=4)
    group_of = {r: p["method"] for r, p in syn.params.iterrows()}
    cu = {r: (2 if m == "a" else 1 if r % 2 else 4) for r, m in group_of.items()}   # b's runs disagree
    res = analyse(syn.samples, "channels", compute_units=cu)
    assert res.compute_units == {"method=a": 2, "method=b": None}
    assert analyse(syn.samples, "channels", compute_units=8).compute_units == 8


def test_a_slow_mode_whose_share_drifts_is_placed_over_its_range():
    """synthetic.make_staircase(bimodal_at=...): the slow mode's share rises 0 -> 1 over 12..16; the change is
    reported where the level moves (its interval holds the middle of the range), never as an exact pair off it."""
    spec = SweepSpec(list(range(1, 25)))
    syn = make_staircase([spec], sigma=0.05, n=5, seed=3, processes=8, sigma_process=0.1, bimodal_ratio=1.9,
                         bimodal_at=lambda v: min(max((v - 12) / 4, 0.0), 1.0))
    assert syn.truth.empty                           # no step of the level itself: only the mixture moves
    assert len(syn.runs) == 24 * 8
    steps = analyse(syn.samples, "channels").steps
    assert len(steps) == 1 and steps["ratio"][0] > 1.5
    assert steps["location_from"][0] <= 13 and steps["location_to"][0] >= 15


def _drifting_sweep(processes, seed=7, width=4):
    """bench_steps.drift_coverage's sweep number `seed`: the slow mode's share rises 0 -> 1 over [at, at+width]."""
    at = int(np.random.default_rng(7000 + seed).integers(6, 32 - width - 5))
    model = dict(REALISTIC_NOISE, bimodal=0.0, bimodal_at=lambda v: min(max((v - at) / width, 0.0), 1.0))
    return at, make_staircase([SweepSpec(list(range(1, 33)))], n=10, seed=seed, processes=processes, **model)


def test_three_processes_do_not_place_a_drifting_level_at_one_pair(monkeypatch):
    """At 3 processes per configuration a configuration that drew 2 slow processes of 3 looks like the stair
    itself; the plain bootstrap keeps it so and claimed 15->16 exactly inside a drift over 14..18. The smoothed
    bootstrap (changepoints.SMOOTH_BELOW) keeps the middle of the range (15..17) inside the interval."""
    at, syn = _drifting_sweep(processes=3)
    assert at == 14
    (lo, hi), = zip(*(analyse(syn.samples, "channels").steps[c] for c in ("location_from", "location_to")))
    assert lo <= 15 and hi >= 17
    monkeypatch.setattr(changepoints, "SMOOTH_BELOW", 0)
    (lo, hi), = zip(*(analyse(syn.samples, "channels").steps[c] for c in ("location_from", "location_to")))
    assert (lo, hi) == (15, 16)                      # what the unsmoothed set claimed: one exact, wrong pair


def test_configurations_with_five_processes_or_more_are_not_smoothed(monkeypatch):
    _, syn = _drifting_sweep(processes=5)
    before = analyse(syn.samples, "channels").steps
    monkeypatch.setattr(changepoints, "SMOOTH_BELOW", 0)
    pd.testing.assert_frame_equal(before, analyse(syn.samples, "channels").steps)
