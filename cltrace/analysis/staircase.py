"""One entry point: analyse a samples DataFrame for latency staircases.

Orchestration only: prepare.py types and cleans the samples, configs.py makes the configurations and their
per-process units (every level statistic comes from those), steps.py tests for steps, attribution.py names
their causes, dispatch_changes.py / recommend.py / dispatch_jobs.py derive the other tables. The report lays
the result out as JSON (report/staircase_json.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..ranges import span_text
from .attribution import attribute_steps, open_places
from .configs import configurations
from .dispatch_changes import CHANGE_COLUMNS, dispatch_changes, link_steps
from .dispatch_jobs import JOB_COLUMNS, JobContext, config_jobs, job_summary
from .prepare import DEFAULT_IGNORE, prepare
from .recommend import best_config, hazard_candidates, hazards, pareto, speedups, stair_edges
from .rounds import unit_rounds
from .steps import STEP_COLUMNS, StepVerdicts, detect_steps, group_label


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


def _group_compute_units(samples, configs, sample_ids, compute_units):
    """An int stays as it is; run_id -> compute units becomes group_label -> the value all of the
    group's runs agree on (None where they do not, or where one is unknown)."""
    if not isinstance(compute_units, dict):
        return compute_units
    labels = dict(zip(configs["config_id"], configs["group_label"]))
    seen: dict = {}
    for c, run in zip(sample_ids, samples["run_id"] if "run_id" in samples.columns else []):
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
        notes.append(f"verdicts rest on {span_text(k.min(), k.max())} processes per configuration "
                     f"(the process is the unit: iterations inside one process are summarised by their median); "
                     f"the chance of any false step in this analysis is at most {alpha:g}")
    return notes


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
    prep = prepare(samples, param, by=by, ignore=ignore)
    notes, samples, param, by, key, gb = prep.notes, prep.samples, prep.param, prep.by, prep.key, prep.group_by
    measured = configurations(samples, key)
    configs, sample_ids = measured.table, measured.sample_ids
    units = unit_rounds(measured.units)
    configs.insert(len(key), "group_label",
                   [group_label({b: (None if pd.isna(r[b]) else r[b]) for b in gb}) for _, r in configs[gb].iterrows()]
                   if gb else "all")
    st, all_runs = prep.status, prep.run_ids
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
    cu = _group_compute_units(samples, configs, sample_ids, compute_units)
    if jobs is not None:
        jobs = jobs.resolved(lambda by_run: _group_compute_units(samples, configs, sample_ids, by_run))
        if jobs.target is not None and jobs.target.cores:
            cu = jobs.target.cores
            notes.append(f"rounds and waves are counted over target {jobs.target.name}'s {cu} cores, not over the "
                         "traced device's compute units")
        if jobs.what_if is not None:
            configs["signature"] = [jobs.what_if.apply(s) for s in configs["signature"]]
            notes.append(f"{jobs.what_if.label}: the dispatch changes, step causes and jobs below are computed as "
                         "if the library had asked for that local size; latencies and the dispatch column are "
                         "as measured")
    steps = attribute_steps(verdicts.steps, verdicts.pairs, configs, cu, jobs)
    changes = dispatch_changes(configs, param, by, cu, jobs=jobs)
    spans = steps.assign(from_value=steps["location_from"], to_value=steps["location_to"])
    steps["dispatch_change_ids"], changes["at_step"] = link_steps(spans, changes)
    steps = open_places(steps, changes)
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
        edges=stair_edges(configs, param, by), pareto=pareto(configs, param, by, tol=min_effect),
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
