"""Whether a sweep's trace holds every run its plan asked for (a report on a sweep still running, stopped
early, or with failed runs says so, and how to complete it).

`cltrace sweep` records each run when it ends, with its parameters as tags and `repeat_index` (0..R-1 for
`--repeat R`). A complete sweep has R successful runs of every configuration (every combination of the
tag values); `--resume` re-runs what is short of that. Runs added by `--adaptive` are extra and not counted.
"""
import itertools
from collections import Counter
from typing import Iterable, Optional

import pandas as pd


def sweep_progress(runs: pd.DataFrame, params: pd.DataFrame, adaptive_runs: Iterable[int] = ()) -> Optional[dict]:
    """None when the runs are no sweep (no `repeat_index`) or hold everything; else what is missing:
    {configurations, runs_per_configuration, missing_runs, incomplete: [{tags, ok_runs}], text}."""
    if runs.empty or "repeat_index" not in runs.columns:
        return None
    extra = set(int(r) for r in adaptive_runs)
    sweep = runs[runs["repeat_index"].notna() & ~runs["run_id"].isin(extra)]
    if sweep.empty:
        return None
    keys = [k for k in params.columns if params.loc[params.index.isin(sweep["run_id"]), k].notna().any()]
    if not keys:
        return None
    tags = params.reindex(sweep["run_id"].to_numpy())[keys].astype(object)
    per_run = [tuple(None if pd.isna(v) else v for v in row) for row in tags.itertuples(index=False)]
    values = [list(dict.fromkeys(v[i] for v in per_run)) for i in range(len(keys))]
    expected = int(sweep["repeat_index"].max()) + 1
    ok = Counter(c for c, st in zip(per_run, sweep["status"]) if st == "ok")
    plan = list(itertools.product(*values))
    short = [(c, int(ok.get(c, 0))) for c in plan if int(ok.get(c, 0)) < expected]
    if not short:
        return None
    missing = sum(expected - n for _, n in short)
    none_yet = sum(1 for _, n in short if n == 0)
    incomplete = [{"tags": dict(zip(keys, c)), "ok_runs": n} for c, n in short]
    label = lambda c: ",".join(f"{k}={v}" for k, v in zip(keys, c))
    listed = ", ".join(f"{label(c)} ({n})" for c, n in short[:6]) + (" ..." if len(short) > 6 else "")
    text = (f"this sweep looks unfinished: {missing} of {len(plan) * expected} planned runs are missing or failed "
            f"({len(short)} of {len(plan)} configurations have fewer than {expected} successful runs"
            f"{f', {none_yet} none yet' if none_yet else ''}: {listed}). It is still running, stopped early, or "
            f"runs failed: the verdicts below may change. Report again when it ends, or complete it with "
            f"cltrace sweep --resume and the same options.")
    return {"configurations": len(plan), "runs_per_configuration": expected, "missing_runs": missing,
            "incomplete": incomplete, "text": text}
