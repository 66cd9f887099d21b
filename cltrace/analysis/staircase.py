"""One entry point: analyse a samples DataFrame for latency staircases."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .attribution import attribute, routine_global_kernels, short_label, summarise
from .configs import config_stats
from .dispatch_changes import CHANGE_COLUMNS, dispatch_changes, link_steps
from .dispatch_jobs import JOB_COLUMNS, JobContext, config_jobs, job_summary
from .recommend import best_config, hazard_candidates, hazards, pareto, speedups, stair_edges
from .samples import param_columns, to_number
from .steps import STEP_COLUMNS, StepVerdicts, detect_steps, group_label
from .rounds import unit_rounds
from .units import process_units, unit_estimates

# Parameters that number repetitions rather than configurations.
DEFAULT_IGNORE = ("repeat", "repeat_index", "rep", "iter", "iteration", "trial", "seed")
# A network sweep (cltrace network) tags every run layer, channels, distance and the layer's shape: the shape and
# the region (conv_bench names it after the shape) follow from the layer, the distance from (layer, channels), so
# the default analysis sweeps channels per layer and groups by none of them.
NETWORK_TAGS = ("layer", "channels", "distance")
NETWORK_DERIVED = ("distance", "input", "kernel", "stride", "pad", "shared", "region")


def is_network_sweep(params) -> bool:
    return all(t in params for t in NETWORK_TAGS)
_DROP = {"latencies", "signature", "process_logs"}


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "to_dict"):
        return _jsonable(v.to_dict())
    return v


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-serialisable records of a result table (drops raw latencies and signature tuples)."""
    if df is None or df.empty:
        return []
    cols = [c for c in df.columns if c not in _DROP]
    return [_jsonable(r) for r in df[cols].to_dict("records")]


@dataclass
class StaircaseResult:
    param: str | None
    by: list[str]
    configs: pd.DataFrame
    steps: pd.DataFrame
    pairs: pd.DataFrame
    edges: pd.DataFrame
    pareto: pd.DataFrame
    hazards: pd.DataFrame
    speedups: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    undecided: pd.DataFrame = field(default_factory=pd.DataFrame)
    units: pd.DataFrame = field(default_factory=pd.DataFrame)
    dispatch_changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHANGE_COLUMNS))
    compute_units: int | None = None
    hazard_candidates: pd.DataFrame = field(default_factory=pd.DataFrame)
    jobs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=JOB_COLUMNS))
    job_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    job_context: JobContext | None = None

    def best(self, budget_ns: float | None = None, min_value: float | None = None) -> pd.DataFrame:
        """Recommended value per group under a latency budget and/or a minimum count."""
        if self.param is None:
            return pd.DataFrame()
        return best_config(self.configs, self.param, self.by, budget_ns=budget_ns, min_value=min_value)

    def groups(self) -> dict:
        """group_label -> the group as a dict of the other varying parameters ({} for "all")."""
        gb = [b for b in self.by if b != self.param and b in self.configs.columns]
        out = {}
        if "group_label" in self.configs.columns:
            for r in self.configs[["group_label"] + gb].to_dict("records"):
                out.setdefault(r["group_label"], {b: _jsonable(r[b]) for b in gb})
        return out

    def to_dict(self) -> dict:
        """Every table as records; each record of a per-group table carries both `group` (dict) and
        `group_label` (docs/report-json.md describes the fields)."""
        groups = self.groups()

        def grouped(df):
            rows = records(df)
            for r in rows:
                if "group_label" in r:
                    r["group"] = groups.get(r["group_label"], r.get("group") or {})
            return rows

        configs = grouped(self.configs)
        names = [b for b in self.by if b != self.param] + ([self.param] if self.param else [])
        for r in configs:
            r["params"] = {n: r.get(n) for n in names}
        return {
            "param": self.param, "by": list(self.by), "summary": _jsonable(self.summary),
            "notes": list(self.notes), "configs": configs, "steps": grouped(self.steps),
            "edges": grouped(self.edges), "pareto": grouped(self.pareto),
            "hazards": grouped(self.hazards), "hazard_candidates": grouped(self.hazard_candidates),
            "speedups": grouped(self.speedups), "segments": grouped(self.segments),
            "undecided": grouped(self.undecided), "dispatch_changes": grouped(self.dispatch_changes),
            "compute_units": _jsonable(self.compute_units),
            "jobs": self._jobs_dict(grouped),
        }

    def _jobs_dict(self, grouped) -> dict | None:
        ctx = self.job_context
        if ctx is None:
            return None
        return {"target": None if ctx.target is None else ctx.target.name,
                "what_if": None if ctx.what_if is None else ctx.what_if.label,
                "groups": grouped(self.job_summary), "launches": grouped(self.jobs)}


def choose_param(samples: pd.DataFrame, params: list[str]) -> str | None:
    """The numeric parameter with the most distinct values (ties: first by name)."""
    best, best_n = None, 1
    for p in sorted(params):
        col = samples[p]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            n = col.nunique(dropna=True)
            if n > best_n:
                best, best_n = p, n
    return best


def _attribute_steps(steps: pd.DataFrame, pairs: pd.DataFrame, configs: pd.DataFrame,
                     compute_units: int | dict | None = None, jobs: JobContext | None = None) -> pd.DataFrame:
    sig = dict(zip(configs["config_id"], configs["signature"]))
    varies = dict(zip(configs["config_id"], configs["signature_varies"]))
    # judged over every neighbour pair of the group, steps included: a sweep whose pairs are all
    # steps (alternating fast/slow counts) must not turn proportional growth into "tile padding"
    routine, steady = {}, {}
    if len(pairs):
        for label, g in pairs.groupby("group_label"):
            sides = [(sig[a], sig[b]) for a, b in zip(g["from_config_id"], g["to_config_id"])]
            routine[label] = routine_global_kernels(sides)
            steady[label] = routine_global_kernels(sides, steady=True)
    per_kernel = dict(zip(configs["config_id"], configs["kernel_median_ns"])) \
        if "kernel_median_ns" in configs.columns else {}
    causes, texts, kinds, labels, var, shifts, shares = [], [], [], [], [], [], []
    for r in steps.to_dict("records"):
        cu = compute_units.get(r["group_label"]) if isinstance(compute_units, dict) else compute_units
        c = attribute(sig[r["from_config_id"]], sig[r["to_config_id"]], routine.get(r["group_label"], set()),
                      steady.get(r["group_label"], set()), compute_units=cu,
                      jobs_policy=None if jobs is None else jobs.policy_of(r["group_label"]),
                      job_cores=None if jobs is None else jobs.cores_of(r["group_label"]))
        shift, share, warning = time_shift(per_kernel.get(r["from_config_id"]) or {},
                                           per_kernel.get(r["to_config_id"]) or {}, c)
        causes.append([x.to_dict() for x in c])
        texts.append(summarise(c) + warning)
        shifts.append(shift)
        shares.append(share)
        kinds.append("+".join(dict.fromkeys(x.kind for x in c)))
        labels.append(short_label(c))
        var.append(bool(varies[r["from_config_id"]] or varies[r["to_config_id"]]))
    steps = steps.copy()
    steps["cause"] = texts
    steps["cause_kind"] = kinds
    steps["cause_label"] = labels
    steps["causes"] = causes
    steps["signature_varies"] = var
    steps["time_shift"] = shifts
    steps["cause_share"] = shares
    return steps


def _named_kernels(causes) -> set:
    named = set()
    for x in causes:
        if x.kind == "unexplained":
            continue
        if x.kernel:
            named.add(x.kernel)
        elif x.kind == "variant-switch":
            named |= set(filter(None, (x.before or "").split(","))) | set(filter(None, (x.after or "").split(",")))
    return named


def time_shift(before: dict, after: dict, causes, top: int = 3):
    """Where a step's time went, kernel by kernel (medians within one sample), and the share of the
    change carried by the kernels the causes name. A cause whose kernels carry little of the change
    gets a warning: the step is then mostly in kernels whose dispatch did not change."""
    names = set(before) | set(after)
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in names}
    total = sum(delta.values())
    if not names or total == 0:
        return "", float("nan"), ""
    biggest = sorted(delta.items(), key=lambda kv: -abs(kv[1]))[:top]
    text = ", ".join(f"{k} {v / 1e6:+.3f} ms" for k, v in biggest)
    named = _named_kernels(causes)
    if not named:
        return text, float("nan"), ""
    share = sum(delta[k] for k in named if k in delta) / total
    warning = ""
    if share < 0.25:
        main_k, main_v = biggest[0]
        carried = "do not explain it" if share <= 0 else f"carry only {share:.0%} of the change"
        warning = (f" (but these kernels {carried}: most is in {main_k}, {main_v / 1e6:+.3f} ms, "
                   f"whose dispatch is the same on both sides)") if main_k not in named else ""
    return text, float(share), warning


def _with_units(samples: pd.DataFrame, configs: pd.DataFrame, key: list[str]):
    """Per-process units of every configuration, and the configs with their unit estimates:
    median_ns becomes the median of the per-process medians (sample_median_ns keeps the old one)."""
    if key and len(samples):
        cid = samples.groupby(key, dropna=False, sort=True).ngroup().to_numpy()
    else:
        cid = np.zeros(len(samples), dtype=np.int64)
    units = unit_rounds(process_units(samples, cid))
    est = unit_estimates(units, configs["config_id"].tolist())
    logs = dict(tuple(units.groupby("config_id")["log_median"])) if len(units) else {}
    configs = configs.merge(est, on="config_id", how="left")
    configs["process_logs"] = [np.asarray(logs[c], dtype=float) if c in logs else np.empty(0)
                               for c in configs["config_id"]]
    configs["sample_median_ns"] = configs["median_ns"]
    has = configs["n_processes"] > 0
    configs.loc[has, "median_ns"] = [float(np.median(v)) for v in configs.loc[has, "process_median_ns"]]
    return units, configs


def _group_compute_units(samples, configs, key, gb, compute_units):
    """An int stays as it is; run_id -> compute units becomes group_label -> the value all of the
    group's runs agree on (None where they do not, or where one is unknown)."""
    if not isinstance(compute_units, dict):
        return compute_units
    labels = dict(zip(configs["config_id"], configs["group_label"]))
    cid = samples.groupby(key, dropna=False, sort=True).ngroup().to_numpy() if key else np.zeros(len(samples), int)
    seen: dict = {}
    for c, run in zip(cid, samples["run_id"] if "run_id" in samples.columns else []):
        if c in labels:
            seen.setdefault(labels[c], set()).add(compute_units.get(run))
    return {label: (next(iter(v)) if len(v) == 1 else None) for label, v in seen.items()}


def _segment_columns(configs: pd.DataFrame, verdicts: StepVerdicts) -> pd.DataFrame:
    seg_of, level_of = {}, {}
    for i, r in enumerate(verdicts.segments.to_dict("records")):
        for c in r["config_ids"]:
            seg_of[c], level_of[c] = i, r["level_ns"]
    configs = configs.copy()
    configs["segment_id"] = [seg_of.get(c, np.nan) for c in configs["config_id"]]
    configs["segment_level_ns"] = [level_of.get(c, np.nan) for c in configs["config_id"]]
    return configs


def _verdict_notes(configs: pd.DataFrame, verdicts: StepVerdicts, alpha: float) -> list[str]:
    notes = []
    for label, (sigma, thr, n_perm) in verdicts.noise.items():
        notes.append(f"noise ({label}): between processes of one configuration, sigma of log latency "
                     f"{sigma:.4f}; a step needs |t| > {thr:.2f} ({n_perm} permutations)")
    for label, (n_rounds, ordered, within) in verdicts.rounds.items():
        if ordered:
            notes.append(f"rounds ({label}): {ordered} of {n_rounds} ran their configurations in the order of "
                         "the swept value: noise shared by neighbouring runs (load bursts, drift) then looks "
                         "like a step, the test cannot tell, and the chance of a false step can exceed the "
                         "one stated below; sweep with --order shuffle (cltrace sweep's default) for a test "
                         "that is exact in every round")
    if len(verdicts.untested):
        few = verdicts.untested
        notes.append(f"{len(few)} configuration(s) ran in fewer than 2 processes and get no verdict: "
                     "measure each configuration in more processes (cltrace sweep --repeat 3, or --adaptive)")
    if len(configs) and (configs["n_processes"].fillna(0) >= 2).any():
        k = configs.loc[configs["n_processes"] >= 2, "n_processes"]
        notes.append(f"verdicts rest on {int(k.min())}-{int(k.max())} processes per configuration "
                     f"(the process is the unit: iterations inside one process are summarised by their median); "
                     f"the chance of any false step in this analysis is at most {alpha:g}")
    return notes


def _place_failed(samples: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """A failed run without launches has no region, so none of the region's tags: where every other sample
    agrees on a parameter, the failed one gets that value instead of forming a group of its own
    ("region=None")."""
    if "status" not in samples.columns:
        return samples
    failed = (samples["status"] == "failed-run").to_numpy()
    if not failed.any() or failed.all():
        return samples
    for p in params:
        miss = failed & samples[p].isna().to_numpy()
        others = samples.loc[~failed, p]
        if miss.any() and others.notna().all() and others.nunique() == 1:
            samples.loc[miss, p] = others.iloc[0]
    return samples


def _drop_unplaced(samples: pd.DataFrame, group_by: list[str], notes: list[str]) -> pd.DataFrame:
    """Failed runs that still miss a grouping parameter belong to no group: left out of the tables (they
    stay in summary.failed_runs), with a note."""
    if "status" not in samples.columns or not group_by:
        return samples
    lost = (samples["status"] == "failed-run") & samples[group_by].isna().any(axis=1)
    if not lost.any():
        return samples
    runs = sorted({int(r) for r in samples.loc[lost, "run_id"]}) if "run_id" in samples.columns else []
    notes.append(f"{len(runs) or int(lost.sum())} failed run(s) without launches carry no "
                 f"{', '.join(group_by)}: left out of the configurations" +
                 (f" (run_id {', '.join(map(str, runs[:10]))}{' ...' if len(runs) > 10 else ''})" if runs else ""))
    return samples[~lost]


def analyse(samples: pd.DataFrame, param: str | None = None, *, by: list[str] | None = None,
            alpha: float = 0.01, min_effect: float = 0.02, merge_ramps: bool = True,
            ignore=DEFAULT_IGNORE, n_perm: int | None = None,
            compute_units: int | dict | None = None, jobs: JobContext | None = None) -> StaircaseResult:
    """Find staircases along ``param`` (default: the numeric parameter with most values).
    ``compute_units`` lets dispatch changes name work-group waves: an int (Trace.compute_units()) or
    run_id -> int (Trace.compute_units_by_run()), a group getting a value when all its runs agree.
    ``jobs``: how launches become driver jobs (dispatch_jobs.JobContext, per group or from a target); with it
    the result lists every configuration's jobs, job changes count among the dispatch changes and step
    causes, and a what-if local size in it rewrites the signatures the causes and changes come from."""
    notes = list(samples.attrs.get("notes", []))
    samples = samples.copy()
    params = [p for p in param_columns(samples) if p not in ignore and samples[p].notna().any()]
    for p in params:
        samples[p] = to_number(samples[p])
    network = is_network_sweep(params)
    if param is None and network:
        param = "channels"
        notes.append("a network sweep (cltrace network): channels swept per layer")
    if param is None:
        param = choose_param(samples, params)
        if param is None:
            notes.append("no numeric parameter with more than one value: nothing to sweep")
        else:
            notes.append(f"sweep parameter chosen automatically: {param}")
    elif param not in samples.columns:
        raise ValueError(f"no parameter named {param!r}; parameters are: {', '.join(params) or 'none'}")
    elif not pd.api.types.is_numeric_dtype(samples[param]):
        raise ValueError(f"parameter {param!r} is not numeric (values like {samples[param].dropna().iloc[0]!r})")
    samples = _place_failed(samples, params)
    all_status = samples["status"] if "status" in samples.columns else pd.Series(dtype=object)
    all_runs = samples["run_id"] if "run_id" in samples.columns else pd.Series(dtype="int64")
    if by is None:
        usable = samples[all_status != "failed-run"] if (all_status != "failed-run").any() else samples
        by = [p for p in params if p != param and usable[p].nunique(dropna=False) > 1
              and not (network and param == "channels" and p in NETWORK_DERIVED)]
    samples = _drop_unplaced(samples, [b for b in by if b != param], notes)
    key = [b for b in by if b != param] + ([param] if param else [])
    configs = config_stats(samples, key)
    units, configs = _with_units(samples, configs, key)
    gb = [b for b in by if b != param]
    configs.insert(len(key), "group_label",
                   [group_label({b: (None if pd.isna(r[b]) else r[b]) for b in gb}) for _, r in configs[gb].iterrows()]
                   if gb else "all")
    st = all_status
    summary = {"n_samples": int(len(st)), "n_ok": int((st == "ok").sum()),
               "n_cold": int((st == "cold").sum()), "n_untimed": int((st == "untimed").sum()),
               "n_failed": int((st == "failed-run").sum()),
               "failed_runs": sorted({int(r) for r in all_runs[st == "failed-run"]}) if len(all_runs) else [],
               "n_configs": int(len(configs)), "n_processes": int(units["unit"].nunique()) if len(units) else 0,
               "alpha": alpha, "min_effect": min_effect}
    empty = pd.DataFrame()
    if param is None:
        return StaircaseResult(None, by, configs, pd.DataFrame(columns=STEP_COLUMNS), empty, empty, empty,
                               empty, empty, notes, summary, units=units)
    verdicts = detect_steps(configs, param, by, alpha=alpha, min_effect=min_effect, merge_ramps=merge_ramps,
                            n_perm=n_perm, units=units)
    configs = _segment_columns(configs, verdicts)
    cu = _group_compute_units(samples, configs, key, gb, compute_units)
    if jobs is not None:
        jobs = jobs.resolved(lambda by_run: _group_compute_units(samples, configs, key, gb, by_run))
        if jobs.target is not None and jobs.target.cores:
            cu = jobs.target.cores
            notes.append(f"rounds and waves are counted over target {jobs.target.name}'s {cu} cores, not over the "
                         "traced device's compute units")
        if jobs.what_if is not None:
            configs["signature"] = [jobs.what_if.apply(s) for s in configs["signature"]]
            notes.append(f"{jobs.what_if.label}: the dispatch changes, step causes and jobs below are computed as "
                         "if the library had asked for that local size; latencies and the dispatch column are "
                         "as measured")
    steps = _attribute_steps(verdicts.steps, verdicts.pairs, configs, cu, jobs)
    changes = dispatch_changes(configs, param, by, cu, jobs=jobs)
    spans = steps.assign(from_value=steps["location_from"], to_value=steps["location_to"])
    steps["dispatch_change_ids"], changes["at_step"] = link_steps(spans, changes)
    notes += _verdict_notes(configs, verdicts, alpha) + verdicts.notes
    n_cold_only = int(configs["cold_only"].sum())
    if n_cold_only:
        notes.append(f"{n_cold_only} configuration(s) have only cold samples; their statistics include "
                     "kernel compilation")
    n_var = int(configs["signature_varies"].sum())
    if n_var:
        notes.append(f"{n_var} configuration(s) ran more than one dispatch signature; the most frequent is used")
    n_empty = int((configs["n"] == 0).sum())
    if n_empty:
        notes.append(f"{n_empty} configuration(s) have no usable sample (failed runs or missing device times)")
    pairs = verdicts.pairs
    summary.update(n_groups=int(pairs["group_label"].nunique()) if len(pairs) else int(len(configs) > 0),
                   n_steps=int(len(steps)), n_undecided=int(len(verdicts.undecided)),
                   n_dispatch_changes=int(len(changes)), alpha_group=verdicts.alpha_group)
    found = hazards(configs, steps, param, by, min_effect=min_effect)
    return StaircaseResult(
        param=param, by=by, configs=configs, steps=steps, pairs=pairs,
        edges=stair_edges(configs, steps, param, by), pareto=pareto(configs, param, by, tol=min_effect),
        hazards=found,
        hazard_candidates=hazard_candidates(configs, found, param, by, min_effect=min_effect),
        speedups=speedups(configs, param, by), notes=notes, summary=summary,
        segments=verdicts.segments, undecided=verdicts.undecided, units=units, dispatch_changes=changes,
        compute_units=cu, **_job_tables(configs, param, jobs))


def _job_tables(configs: pd.DataFrame, param: str, jobs: JobContext | None) -> dict:
    if jobs is None:
        return {}
    table = config_jobs(configs, param, jobs)
    return {"jobs": table, "job_summary": job_summary(table, configs, param, jobs), "job_context": jobs}
