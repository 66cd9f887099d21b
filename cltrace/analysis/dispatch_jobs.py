"""Jobs along a sweep: every configuration's launches of explicit local size under a job policy (jobs.py), and
which swept values run without an extra job (the counts a board that splits non-uniform ranges runs fast).

The policy and the cores come per group (a sweep over two devices has two): a ``JobContext`` carries them, the
target they come from when one was chosen (targets.py), and the what-if local sizes the signatures were
rewritten with (whatif.py), so every table built from it can say what it is.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .jobs import POLICY_TEXT, signature_jobs, size_text
from .targets import Target
from .whatif import WhatIf

JOB_COLUMNS = ["group_label", "value", "config_id", "position", "kernel", "global", "local", "uniform", "jobs",
               "work_groups", "rounds", "remainder_share"]


@dataclass
class JobContext:
    """How the launches of each group are projected into jobs."""
    policy: dict = field(default_factory=dict)        # group_label -> jobs.POLICIES member or None
    reason: dict = field(default_factory=dict)        # group_label -> why that policy
    cores: dict = field(default_factory=dict)         # group_label -> cores (None: unknown)
    target: Target | None = None
    what_if: WhatIf | None = None
    by_run: bool = False                              # the dicts are keyed by run_id, not yet by group

    def resolved(self, to_groups) -> "JobContext":
        """The context keyed by group: ``to_groups`` maps a run_id -> value dict to group_label -> value (None
        where a group's runs disagree), as staircase._group_compute_units does."""
        if not self.by_run:
            return self
        return JobContext(to_groups(self.policy), to_groups(self.reason), to_groups(self.cores), self.target,
                          self.what_if)

    def policy_of(self, label):
        return self.policy.get(label, self.policy.get("*"))

    def cores_of(self, label):
        return self.cores.get(label, self.cores.get("*"))

    def describe(self, label) -> str:
        """One line for a group: the target (or the traced device's policy and why), its cores, and what a
        non-uniform range becomes there."""
        p = self.policy_of(label)
        c = self.cores_of(label)
        what = "policy unknown" if p is None else f"{p}: {POLICY_TEXT[p]}"
        cores = "cores unknown" if c is None else f"{c} cores"
        if self.target is not None:
            return f"target {self.target.name} ({self.target.description}; {cores}): {what}"
        why = self.reason.get(label, self.reason.get("*", ""))
        cores = "compute units unknown" if c is None else f"{c} compute units of the traced device"
        return f"{what}; {cores}" + (f" ({why})" if why else "")


def job_context(target: Target | None, what_if: WhatIf | None = None, run_policies: dict | None = None,
                run_cores: dict | None = None) -> JobContext:
    """A JobContext: the target's policy and cores for every group when a target is given (the trace's own
    devices ignored), else per run: ``run_policies`` run_id -> (policy, reason) (targets.run_policies) and
    ``run_cores`` run_id -> compute units (Trace.compute_units_by_run), grouped when the analysis knows the
    groups (JobContext.resolved)."""
    if target is not None:
        return JobContext({"*": target.policy}, {"*": f"target {target.name}"}, {"*": target.cores}, target, what_if)
    pol = run_policies or {}
    return JobContext({r: p for r, (p, _) in pol.items()}, {r: why for r, (_, why) in pol.items()},
                      dict(run_cores or {}), None, what_if, by_run=True)


def config_jobs(configs: pd.DataFrame, param: str, ctx: JobContext) -> pd.DataFrame:
    """One row per launch of explicit local size in each configuration's dominant signature (JOB_COLUMNS).
    ``jobs`` is None where the policy refuses the launch."""
    rows = []
    if configs is None or configs.empty or param not in configs.columns:
        return pd.DataFrame(columns=JOB_COLUMNS)
    labels = configs["group_label"] if "group_label" in configs.columns else pd.Series("all", index=configs.index)
    for (label, value, cid, sig) in zip(labels, configs[param], configs["config_id"], configs["signature"]):
        if value is None or pd.isna(value):
            continue
        policy, cores = ctx.policy_of(label), ctx.cores_of(label)
        for pos, j in enumerate(signature_jobs(sig if isinstance(sig, Sequence) else (), policy, cores)):
            if j is None:
                continue
            rows.append({"group_label": label, "value": value, "config_id": int(cid), "position": pos,
                         "kernel": j.kernel, "global": size_text(j.global_size), "local": size_text(j.local_size),
                         "uniform": j.uniform, "jobs": j.jobs, "work_groups": j.work_groups, "rounds": j.rounds,
                         "remainder_share": j.remainder_share})
    if not rows:
        return pd.DataFrame(columns=JOB_COLUMNS)
    out = pd.DataFrame(rows, columns=JOB_COLUMNS)
    for c in ("jobs", "rounds"):
        out[c] = pd.array(out[c].astype(object).where(out[c].notna(), None).tolist(), dtype="Int64")
    return out.sort_values(["group_label", "value", "position"], kind="stable").reset_index(drop=True)


def _key(v: float):
    return int(v) if float(v).is_integer() else v


def job_summary(jobs: pd.DataFrame, configs: pd.DataFrame, param: str, ctx: JobContext) -> pd.DataFrame:
    """Per group: the swept values whose launches all run as one job each (``fast_values``: nothing left to a
    remainder job), those with extra jobs, those the policy refuses, and ``extra_jobs`` (value -> jobs beyond
    one per launch, summed over the configuration's launches); with the policy in words."""
    cols = ["group_label", "policy", "cores", "described", "values", "fast_values", "extra_job_values",
            "refused_values", "extra_jobs"]
    if configs is None or configs.empty or param not in configs.columns:
        return pd.DataFrame(columns=cols)
    labels = configs["group_label"] if "group_label" in configs.columns else pd.Series("all", index=configs.index)
    rows = []
    for label in pd.unique(labels):
        vals = sorted({float(v) for v in configs.loc[labels == label, param].dropna()})
        g = jobs[jobs["group_label"] == label] if len(jobs) else jobs
        refused = sorted({float(v) for v in g.loc[g["jobs"].isna(), "value"]}) if len(g) else []
        extra = sorted({float(v) for v in g.loc[g["jobs"].fillna(1) > 1, "value"]}) if len(g) else []
        fast = [v for v in vals if v not in set(extra) | set(refused)]
        per = (g.assign(extra=(g["jobs"].fillna(1).astype(int) - 1)).groupby("value")["extra"].sum()
               if len(g) else pd.Series(dtype=int))
        rows.append({"group_label": label, "policy": ctx.policy_of(label), "cores": ctx.cores_of(label),
                     "described": ctx.describe(label), "values": vals, "fast_values": fast,
                     "extra_job_values": extra, "refused_values": refused,
                     "extra_jobs": {_key(v): int(per.get(v, 0)) for v in vals if v not in set(refused)}})
    return pd.DataFrame(rows, columns=cols)
