"""Blocked designs: processes that measured several configurations are blocks, and the permutation test
permutes configuration labels inside each process (analysis/blocks.py, changepoints.segment, steps.detect_steps)."""
import numpy as np
import pandas as pd
import pytest

from cltrace.analysis.blocks import blocked_design, is_blocked, note
from cltrace.analysis.changepoints import segment
from cltrace.analysis.steps import detect_steps

SIGMA_PROCESS = 0.4      # a strong process effect (docs/noise.md: 20-80% of the variance)
SIGMA_WITHIN = 0.03      # what is left inside one process
M = 12                   # configurations (channels 1..12)


def _blocked_sweep(rng, processes, step=0.0, at=5, block=M, drift=0.0):
    """Units of a blocked sweep: each process measures `block` configurations (a random subset when fewer than
    M), in a random order; its log latency = process effect + step + drift inside the process + noise."""
    rows = []
    t = 0
    for p in range(processes):
        effect = rng.normal(0, SIGMA_PROCESS)
        cfgs = rng.permutation(M)[:block]
        for k, c in enumerate(cfgs):
            y = effect + (step if c > at else 0.0) + drift * k / block + rng.normal(0, SIGMA_WITHIN)
            rows.append({"config_id": int(c), "unit": 1000 + p, "log_median": y, "time": t})
            t += 1
    return pd.DataFrame(rows)


def _separate_sweep(rng, processes, step=0.0, at=5):
    """The same sweep with one process per (configuration, repetition): each unit has a process effect of its
    own (cltrace sweep --repeat without --block)."""
    rows = []
    for _ in range(processes):
        for c in rng.permutation(M):
            rows.append({"config_id": int(c), "unit": 1000 + len(rows), "time": len(rows),
                         "log_median": rng.normal(0, SIGMA_PROCESS) + (step if c > at else 0.0)
                         + rng.normal(0, SIGMA_WITHIN)})
    return pd.DataFrame(rows)


def _verdicts(units, n_perm=400):
    units = units.sort_values(["config_id", "unit"]).reset_index(drop=True)
    units["round"] = units.groupby("config_id").cumcount()
    logs = dict(tuple(units.groupby("config_id")["log_median"]))
    configs = pd.DataFrame({"config_id": range(M), "channels": range(1, M + 1), "n": 10,
                            "median_ns": [float(np.exp(np.median(logs[c]))) for c in range(M)],
                            "process_logs": [logs[c].to_numpy() for c in range(M)]})
    return detect_steps(configs, "channels", n_perm=n_perm, units=units)


def test_blocked_design_centres_each_process_and_keeps_its_units_together():
    units = pd.DataFrame({"unit": [7, 7, 8, 8, 9], "time": [0, 1, 2, 3, 4]})
    per = [units.iloc[[0, 2]], units.iloc[[1, 3, 4]]]          # config 0: processes 7, 8; config 1: 7, 8, 9
    d = blocked_design(per, [np.array([1.0, 5.0]), np.array([2.0, 6.0, 3.0])])
    assert d is not None
    assert d.n_blocks == 2 and d.n_units == 4 and d.n_dropped == 1     # process 9 measured one configuration
    # relative to each process (means 1.5 and 5.5), plus the grand mean 3.5
    assert np.allclose(d.values[0], [3.0, 3.0]) and np.allclose(d.values[1], [4.0, 4.0])
    assert [list(b) for b in d.blocks] == [[0, 2], [1, 3]]
    assert d.sizes == (2, 2)
    assert "2 processes measured 2 configurations each" in note("all", d)
    assert "1 unit(s) of processes that measured a single configuration" in note("all", d)


def test_one_process_per_configuration_is_no_blocked_design():
    units = pd.DataFrame({"unit": [1, 2, 3, 4], "time": [0, 1, 2, 3], "config_id": [0, 0, 1, 1]})
    assert blocked_design([units.iloc[:2], units.iloc[2:]], [np.zeros(2), np.zeros(2)]) is None
    assert not is_blocked(units)
    assert is_blocked(units.assign(unit=[1, 2, 1, 2]))


def test_too_few_blocked_units_keeps_the_design_of_separate_processes():
    units = pd.DataFrame({"unit": [1, 2, 1, 3], "time": [0, 1, 2, 3]})
    # config 0: processes 1, 2; config 1: 1, 3; processes 2 and 3 measured one configuration each
    assert blocked_design([units.iloc[:2], units.iloc[2:]], [np.zeros(2), np.zeros(2)]) is None


def test_blocking_finds_a_real_step_with_fewer_processes():
    """A 10% step under a process effect 13x larger: 3 blocked processes find it at its place; 3 processes
    per configuration, each measuring one, do not."""
    rng = np.random.default_rng(11)
    blocked_hits = unblocked_hits = 0
    for _ in range(5):
        units = _blocked_sweep(rng, processes=3, step=np.log(1.10))
        v = _verdicts(units)
        assert any("blocked design (all): 3 processes measured 12 configurations each" in n for n in v.notes)
        blocked_hits += list(zip(v.steps["from_value"], v.steps["to_value"])) == [(6, 7)]
        u = _verdicts(_separate_sweep(rng, processes=3, step=np.log(1.10)))
        assert not u.notes
        unblocked_hits += len(u.steps) > 0
    assert blocked_hits == 5
    assert unblocked_hits == 0


def test_incomplete_blocks_find_the_step_too():
    rng = np.random.default_rng(12)
    hits = 0
    for _ in range(5):
        v = _verdicts(_blocked_sweep(rng, processes=8, step=np.log(1.15), block=6))
        assert any("blocked design (all): 8 processes measured" in n for n in v.notes)
        hits += (6, 7) in set(zip(v.steps["location_from"], v.steps["location_to"])) or \
            any(f <= 6 and t >= 7 for f, t in zip(v.steps["location_from"], v.steps["location_to"]))
    assert hits >= 4


@pytest.mark.parametrize("drift", [0.0, 0.5])
def test_aa_blocked_sweeps_report_no_step(drift):
    """No change at all, a strong process effect and (second case) a level that drifts by 65% inside every
    process: the labels are exchangeable inside a process measured in random order, so no false step."""
    rng = np.random.default_rng(13)
    false = 0
    for _ in range(30):
        false += len(_verdicts(_blocked_sweep(rng, processes=3, drift=drift), n_perm=300).steps)
    assert false <= 1          # alpha = 0.01 over 30 sweeps: 0.3 expected


def test_segment_permutes_inside_processes():
    rng = np.random.default_rng(14)
    units = _blocked_sweep(rng, processes=3)
    units = units.sort_values(["config_id", "unit"]).reset_index(drop=True)
    per = [g for _, g in units.groupby("config_id")]
    d = blocked_design(per, [g["log_median"].to_numpy() for g in per])
    seg = segment([g["log_median"].to_numpy() for g in per], n_perm=200, blocked=d)
    assert seg.n_blocks == 3 and not seg.within_rounds
    # the noise between processes of one configuration is the within-process noise once blocked
    assert seg.noise_sigma < 2 * SIGMA_WITHIN
    assert segment([g["log_median"].to_numpy() for g in per], n_perm=200).noise_sigma > 5 * SIGMA_WITHIN
