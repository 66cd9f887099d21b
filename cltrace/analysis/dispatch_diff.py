"""Dispatch lists of two configurations side by side (the seed paper's Tables I-IV)."""
import difflib
from collections import Counter
from typing import Dict, List, Tuple

import pandas as pd

from .attribution import kernel_family
from .kernel_stats import _with_labels
from .values import parse_value


def match_runs(params: pd.DataFrame, selector: Dict[str, str]) -> List[int]:
    """Runs whose tags equal every key=value of the selector."""
    if not selector:
        return list(params.index)
    missing = [k for k in selector if k not in params.columns]
    if missing:
        raise KeyError(missing[0])
    mask = pd.Series(True, index=params.index)
    for k, v in selector.items():
        mask &= params[k].map(lambda x: _same_value(x, v)).astype(bool)
    return list(params.index[mask])


def _same_value(tag, wanted: str) -> bool:
    """A tag equals the selector's text: as numbers when both are numbers (92 == 92.0), else as text."""
    if tag is None or tag is pd.NA or (isinstance(tag, float) and tag != tag):
        return False
    a, b = parse_value(str(tag)), parse_value(wanted)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return str(tag) == str(wanted)


def configurations_of(params: pd.DataFrame, run_ids: List[int]) -> List[Tuple[Dict[str, object], int]]:
    """The distinct configurations (tags that differ between these runs) and how many runs each has."""
    sub = params.loc[params.index.isin(run_ids)]
    varying = [c for c in sub.columns if sub[c].astype(object).nunique(dropna=False) > 1]
    if not varying:
        return [({}, len(sub))] if len(sub) else []
    rows = sub[varying].astype(object).itertuples(index=False)
    counts = Counter(tuple(None if pd.isna(v) else v for v in row) for row in rows)
    return [(dict(zip(varying, key)), n) for key, n in counts.items()]


def dispatch_list(launches: pd.DataFrame) -> Tuple[pd.DataFrame, dict]:
    """The dominant ordered dispatch list of a set of launches, one row per position with the median
    device time across its samples. A sample is a region instance, or a run without regions; the first
    sample of each process is left out when the process has more (it carries kernel compilation)."""
    info = {"samples": 0, "signatures": 0, "cold_dropped": 0}
    cols = ["position", "kernel", "global", "local", "work_groups", "median_ms"]
    if launches.empty:
        return pd.DataFrame(columns=cols), info
    df = _with_labels(launches).sort_values(["run_id", "process_id", "seq"])
    df["sample"] = list(zip(df["run_id"], df["process_id"], df["region_id"].fillna(-1)))
    groups = []
    for _, proc in df.groupby(["run_id", "process_id"], sort=False):
        samples = [g for _, g in proc.groupby("sample", sort=False)]
        if len(samples) > 1:
            info["cold_dropped"] += 1
            samples = samples[1:]
        groups += samples
    sig_of = []
    for g in groups:
        wg = g["work_groups"].astype("Int64").astype(str).replace("<NA>", "-")
        sig_of.append(tuple(zip(g["kernel_name"].fillna("?"), g["global"], g["local"], wg)))
    counts = Counter(sig_of)
    dominant, _ = counts.most_common(1)[0]
    durations = [g["duration_ns"].to_numpy(dtype=float) for g, s in zip(groups, sig_of) if s == dominant]
    med = pd.DataFrame(durations).median(axis=0).to_numpy() / 1e6 if durations else []
    rows = [{"position": i + 1, "kernel": k, "global": gl, "local": lo, "work_groups": wg,
             "median_ms": float(med[i]) if len(med) > i else None}
            for i, (k, gl, lo, wg) in enumerate(dominant)]
    info.update(samples=len(durations), signatures=len(counts))
    return pd.DataFrame(rows, columns=cols), info


def with_jobs(table: pd.DataFrame, policy, cores=None, what_if=None) -> pd.DataFrame:
    """The dispatch list with ``jobs`` (driver jobs under ``policy``, jobs.launch_jobs; '-' for a driver-chosen
    local size, 'refused' where the policy refuses it) and ``remainder`` (share of the work-items outside the
    bulk region). ``what_if`` (whatif.WhatIf) rewrites the local sizes and work-group counts first."""
    from .jobs import launch_jobs
    out = table.copy()
    if what_if is not None and len(out):
        entries = list(zip(out["kernel"], out["global"], out["local"], out["work_groups"]))
        sig = what_if.apply(entries)
        out["local"] = [e[2] for e in sig]
        out["work_groups"] = [str(new[3]) if new != old else old[3] for old, new in zip(entries, sig)]
    jobs, rem = [], []
    for k, g, loc in zip(out["kernel"], out["global"], out["local"]):
        j = launch_jobs(k, g, loc, policy, cores)
        jobs.append("-" if j is None else ("refused" if j.jobs is None else j.jobs))
        rem.append("-" if j is None else f"{j.remainder_share:.1%}")
    out["jobs"], out["remainder"] = jobs, rem
    return out


def side_by_side(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Align two dispatch lists (difflib on (kernel, global, local)); `change` marks what differs:
    '' same, '~' same kernel with other sizes (or a per-shape name of its family, attribution.kernel_family),
    '-/+' another kernel in its place, '-' only in A, '+' only in B."""
    def key(d):
        return [tuple(r) for r in d[["kernel", "global", "local"]].itertuples(index=False)]
    ka, kb = key(a), key(b)
    ra, rb = a.to_dict("records"), b.to_dict("records")
    rows = []
    blank = {"kernel": "", "global": "", "local": "", "work_groups": "", "median_ms": None, "jobs": "",
             "remainder": ""}
    jobs = "jobs" in a.columns and "jobs" in b.columns

    def row(x, y, change):
        x, y = x or blank, y or blank
        r = {"change": change}
        for side, d in (("A", x), ("B", y)):
            r.update({f"{side} kernel": d["kernel"], f"{side} global": d["global"], f"{side} local": d["local"],
                      f"{side} wg": d["work_groups"]})
            if jobs:
                r.update({f"{side} jobs": d["jobs"], f"{side} rem": d["remainder"]})
            r[f"{side} ms"] = d["median_ms"]
        rows.append(r)

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ka, b=kb, autojunk=False).get_opcodes():
        if op == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                row(ra[i], rb[j], "")
            continue
        pairs = list(zip(range(i1, i2), range(j1, j2)))
        for i, j in pairs:
            row(ra[i], rb[j], "~" if kernel_family(ra[i]["kernel"]) == kernel_family(rb[j]["kernel"]) else "-/+")
        for i in range(i1 + len(pairs), i2):
            row(ra[i], None, "-")
        for j in range(j1 + len(pairs), j2):
            row(None, rb[j], "+")
    return pd.DataFrame(rows)
