"""Synthetic staircase sweeps with known ground truth.

A sweep is a list of values of one parameter (default ``channels``) in one
group (other parameters, e.g. method=gemm).  Each true step sits between two
neighbouring values and multiplies the latency level by ``ratio``; its cause
changes the dispatch signature from that point on:
- ``dispatch-count``: toggles an extra ``<kernel>_tail`` launch;
- ``work-group-split``: toggles the main kernel's local size 8x8x1 <-> 1x8x8;
- ``tile-padding``: grows the main kernel's global size by one 64-wide tile;
- ``variant-switch``: toggles the kernel set <kernel> <-> <kernel>_pack + <kernel>_gemm;
- ``unexplained``: no change in the signature.
Noise is hierarchical, as measured on PoCL (docs/analysis.md, "Validation"):
each process draws an effect exp(N(0, sigma_process)) and, with probability
``bimodal``, runs in a slow mode (x ``bimodal_ratio``, PoCL's thread placement);
each sample inside it is level * process effect * exp(N(0, sigma)). ``bimodal_at`` (a function of the
swept value) makes the slow mode's share change with the value (per process of that configuration): the
level then drifts over the counts where it changes, as measured on conv_bench --method tiled, whose
processes run their work-groups in parallel or one after another (docs/noise.md). The latency
is split over the sample's launches; the first launch of a (kernel, global,
local) in a process is ``cold_factor`` slower.
``make_staircase`` returns trace-shaped tables (launches, runs, params,
regions), the samples built from them by ``build_samples``, and the truth.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .samples import build_samples
from .steps import group_label

CAUSES = ("dispatch-count", "work-group-split", "tile-padding", "variant-switch", "unexplained")


@dataclass
class StepSpec:
    at: float            # the lower value of the neighbouring pair the step sits between
    ratio: float         # latency(after) / latency(before)
    cause: str = "unexplained"


@dataclass
class SweepSpec:
    values: list
    steps: list[StepSpec] = field(default_factory=list)
    group: dict = field(default_factory=dict)
    base_ns: float = 1e6
    kernel: str = "conv"


@dataclass
class SyntheticSweep:
    launches: pd.DataFrame
    runs: pd.DataFrame
    params: pd.DataFrame
    regions: pd.DataFrame
    samples: pd.DataFrame
    truth: pd.DataFrame
    param: str


def _signature(state: dict, kernel: str) -> list[tuple]:
    """[(name, global(3), local(3) or None)] for a state."""
    g = (64 * (1 + state["pad"]), 56, 56)
    loc = (1, 8, 8) if state["split"] else (8, 8, 1)
    names = [f"{kernel}_pack", f"{kernel}_gemm"] if state["variant"] else [kernel]
    out = [(nm, g, loc) for nm in names]
    if state["tail"]:
        out.append((f"{kernel}_tail", (64, 56, 1), (8, 8, 1)))
    return out


def _levels(spec: SweepSpec):
    """Per value (sorted ascending): (level_ns, signature)."""
    vals = sorted(spec.values)
    state = {"pad": 0, "split": 0, "variant": 0, "tail": 0}
    level = spec.base_ns
    at = {s.at: s for s in spec.steps}
    out = []
    for v in vals:
        out.append((v, level, _signature(state, spec.kernel)))
        s = at.get(v)
        if s is not None:
            level *= s.ratio
            if s.cause == "dispatch-count":
                state["tail"] ^= 1
            elif s.cause == "work-group-split":
                state["split"] ^= 1
            elif s.cause == "tile-padding":
                state["pad"] += 1
            elif s.cause == "variant-switch":
                state["variant"] ^= 1
            elif s.cause != "unexplained":
                raise ValueError(f"unknown cause {s.cause!r}; one of {', '.join(CAUSES)}")
    return out


# Fitted on a real PoCL sweep here with bench/bench_steps.py --fit (docs/analysis.md, "Validation"):
# conv_bench resnet50.L15 --scale 0.5, gemm and direct at 64/92/93 channels, 12 processes x 10
# iterations each, --no-stabilise, on the 2-core machine while other jobs ran (a loaded machine is
# the harder case: with POCL_AFFINITY=1 the same fit gave sigma_process 0.118, bimodal 0.43).
REALISTIC_NOISE = {"sigma": 0.09, "sigma_process": 0.17, "bimodal": 0.5, "bimodal_ratio": 1.9}


def make_staircase(sweeps: list[SweepSpec], *, param: str = "channels", sigma: float = 0.05, n: int = 10,
                   seed: int = 0, mode: str = "runs", cold_factor: float = 10.0,
                   fail_values: tuple = (), untimed_prob: float = 0.0, processes: int = 3,
                   sigma_process: float = 0.0, bimodal: float = 0.0, bimodal_ratio: float = 1.8,
                   bimodal_at=None, build: bool = True) -> SyntheticSweep:
    """Generate a sweep.  mode: ``runs`` (one run per config and process, n+1 regions each: the
    first is the warm-up), ``single-run`` (one run per group and process, every config's regions
    in it, the swept value in the region tags) or ``no-regions`` (one run per config and process,
    n+1 repetitions, no regions).  ``processes``: processes per configuration.
    ``fail_values``: configs whose runs failed (status failed, no launches). ``bimodal_at(value)``: the
    slow mode's share in the processes of that value (mode ``runs``/``no-regions``), instead of ``bimodal``."""
    rng = np.random.default_rng(seed)
    L, R, P, G, T = [], [], [], [], []
    run_id = region_id = 0
    seq = {}
    for spec in sweeps:
        lab = group_label(spec.group)
        vals = sorted(spec.values)
        for i, s in enumerate(sorted(spec.steps, key=lambda s: s.at)):
            j = vals.index(s.at)
            T.append({"group": dict(spec.group), "group_label": lab, "param": param, "from_value": s.at,
                      "to_value": vals[j + 1], "ratio": s.ratio, "cause": s.cause})
        levels = _levels(spec)
        plan = ([[x] for _ in range(processes) for x in levels] if mode != "single-run"
                else [levels for _ in range(processes)])
        for chunk in plan:
            proc = None
            effect = float(np.exp(rng.normal(0.0, sigma_process))) if sigma_process else 1.0
            share = bimodal_at(chunk[0][0]) if bimodal_at is not None and mode != "single-run" else bimodal
            if share and rng.random() < share:
                effect *= bimodal_ratio
            for v, level, sig in chunk:
                if proc is None:
                    run_id += 1
                    proc = run_id
                    failed = v in fail_values and mode != "single-run"
                    R.append({"run_id": run_id, "status": "failed" if failed else "ok",
                              "exit_status": 1 if failed else 0, "command": "synthetic"})
                    P.append(dict({"run_id": run_id}, **{k: str(x) for k, x in spec.group.items()},
                                  **({} if mode == "single-run" else {param: str(v)})))
                    seen = set()
                    seq[proc] = 0
                    if failed:
                        continue
                elif v in fail_values:
                    continue
                t = 1_000_000 + seq[proc] * 10_000_000
                for rep in range(n + 1):
                    lat = level * effect * np.exp(rng.normal(0.0, sigma))
                    weights = np.array([1.0 if k == 0 else 0.25 for k in range(len(sig))])
                    durs = lat * weights / weights.sum()
                    rid = None
                    if mode != "no-regions":
                        region_id += 1
                        rid = region_id
                        tags = {param: v} if mode == "single-run" else {}
                        G.append({"region_id": rid, "run_id": proc, "process_id": proc, "tid": 1, "name": "layer",
                                  "tags": json.dumps(tags), "begin_ns": t, "end_ns": None})
                    for (name, g, loc), d in zip(sig, durs):
                        key = (name, g, loc)
                        if key not in seen:
                            d *= cold_factor
                            seen.add(key)
                        d = max(1, int(round(d)))
                        untimed = untimed_prob > 0 and rng.random() < untimed_prob
                        L.append({"run_id": proc, "process_id": proc, "seq": seq[proc], "tid": 1,
                                  "kernel_name": name, "work_dim": 3,
                                  "global0": g[0], "global1": g[1], "global2": g[2],
                                  "local0": loc[0], "local1": loc[1], "local2": loc[2], "driver_local": 0,
                                  "work_groups": int(np.prod([-(-a // b) for a, b in zip(g, loc)])),
                                  "start_ns": None if untimed else t, "end_ns": None if untimed else t + d,
                                  "duration_ns": None if untimed else d,
                                  "times_status": "missing" if untimed else "ok", "region_id": rid})
                        seq[proc] += 1
                        t += d + 1000
                    if rid is not None:
                        G[-1]["end_ns"] = t
    launches = pd.DataFrame(L)
    for c in ("start_ns", "end_ns", "duration_ns", "region_id"):
        if c in launches.columns:
            launches[c] = launches[c].astype("Float64").astype(float)
    runs = pd.DataFrame(R)
    params = pd.DataFrame(P).set_index("run_id") if P else pd.DataFrame()
    regions = pd.DataFrame(G, columns=["region_id", "run_id", "process_id", "tid", "name", "tags",
                                       "begin_ns", "end_ns"])
    truth = pd.DataFrame(T, columns=["group", "group_label", "param", "from_value", "to_value", "ratio",
                                     "cause"])
    samples = build_samples(launches, runs, params, regions) if build else pd.DataFrame()
    return SyntheticSweep(launches, runs, params, regions, samples, truth, param)


def random_steps(values: list, rng: np.random.Generator, *, n_steps: int, min_log: float,
                 max_log: float = np.log(2.0), min_gap: int = 3, causes=CAUSES) -> list[StepSpec]:
    """Random well-separated steps with |log ratio| uniform in [min_log, max_log]."""
    vals = sorted(values)
    cand = list(range(1, len(vals) - 2))
    rng.shuffle(cand)
    picked: list[int] = []
    for i in cand:
        if len(picked) == n_steps:
            break
        if all(abs(i - j) >= min_gap for j in picked):
            picked.append(i)
    out = []
    for i in sorted(picked):
        mag = rng.uniform(min_log, max_log) * rng.choice([-1, 1])
        out.append(StepSpec(vals[i], float(np.exp(mag)), str(rng.choice(list(causes)))))
    return out


def match_steps(found: pd.DataFrame, truth: pd.DataFrame) -> tuple[int, int, int]:
    """(true positives, found, true): a found step matches a true one in the same group when its
    [from, to] interval contains the true pair; each true step is matched once."""
    used = set()
    tp = 0
    tr = truth.to_dict("records")
    for f in found.to_dict("records"):
        for k, t in enumerate(tr):
            if k in used or t["group_label"] != f["group_label"]:
                continue
            if f["from_value"] <= t["from_value"] and t["to_value"] <= f["to_value"]:
                used.add(k)
                tp += 1
                break
    return tp, len(found), len(tr)


def paper_example(seed: int = 0, sigma: float = 0.04, n: int = 10, processes: int = 3,
                  sigma_process: float = 0.0) -> SyntheticSweep:
    """A two-method sweep shaped like the seed paper's figures (channels 64..128)."""
    vals = list(range(64, 129))
    gemm = SweepSpec(vals, [StepSpec(72, 1.25, "tile-padding"), StepSpec(88, 1.25, "tile-padding"),
                            StepSpec(96, 1.7, "dispatch-count"), StepSpec(97, 0.62, "dispatch-count"),
                            StepSpec(104, 1.25, "tile-padding"), StepSpec(120, 1.25, "tile-padding")],
                     {"method": "gemm"}, base_ns=8e6, kernel="gemm")
    direct = SweepSpec(vals, [StepSpec(80, 1.3, "variant-switch"), StepSpec(90, 1.9, "work-group-split"),
                              StepSpec(92, 0.55, "work-group-split"), StepSpec(110, 1.35, "unexplained")],
                       {"method": "direct"}, base_ns=12e6, kernel="direct")
    return make_staircase([gemm, direct], sigma=sigma, n=n, seed=seed, processes=processes,
                          sigma_process=sigma_process)
