"""build_samples as it was before it was vectorised (cltrace/analysis/samples.py as of commit ed4f4e2),
kept verbatim below as the reference of tests/unit/test_samples_scale.py."""
from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd

# Columns of a samples DataFrame that are not parameters.
CORE_COLUMNS = (
    "sample_id", "run_id", "process_id", "region_id", "repeat", "latency_ns", "span_ns",
    "n_launches", "n_untimed", "signature", "signature_hash", "signature_text", "cold", "status",
    "run_status", "kernel_ns",
)
STATUSES = ("ok", "cold", "untimed", "failed-run")


def param_columns(samples: pd.DataFrame) -> list[str]:
    """The parameter columns of a samples DataFrame (everything not in CORE_COLUMNS)."""
    return [c for c in samples.columns if c not in CORE_COLUMNS]


def to_number(values: pd.Series) -> pd.Series:
    """Convert a column of strings to numbers when every non-missing value is numeric."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values
    obj = values.astype(object)
    mask = obj.notna().to_numpy()
    if not mask.any():
        return obj
    num = pd.to_numeric(obj[mask].astype(str).str.strip(), errors="coerce")
    if num.isna().any():
        return obj
    out = pd.Series(np.nan, index=values.index, dtype=float)
    out[mask] = num.to_numpy(dtype=float)
    if mask.all() and np.all(np.mod(out.to_numpy(), 1) == 0):
        return out.astype("int64")
    return out


def dims(row_vals, work_dim) -> str:
    """'96x56x56' from up to three sizes, limited to work_dim when known."""
    vals = [v for v in row_vals]
    n = int(work_dim) if work_dim is not None and not _isnan(work_dim) else 3
    vals = vals[:max(1, n)]
    return "x".join("?" if _isnan(v) else str(int(v)) for v in vals)


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def signature_text(signature) -> str:
    """Readable one-line form of a signature tuple."""
    return "; ".join(f"{k} g={g} l={loc} wg={'?' if wg is None else wg}" for k, g, loc, wg in signature)


def signature_hash(signature) -> str:
    """Short stable hash (8 hex digits) of a signature."""
    return hashlib.sha1(signature_text(signature).encode()).hexdigest()[:8]


def _launch_keys(launches: pd.DataFrame) -> pd.DataFrame:
    """Add per-launch 'gsize', 'lsize', 'wg', 'timed' and 'first' (first of its combination)."""
    L = launches.copy()
    for c in ("global0", "global1", "global2", "local0", "local1", "local2", "work_groups",
              "work_dim", "driver_local", "region_id", "start_ns", "end_ns", "duration_ns"):
        if c not in L.columns:
            L[c] = np.nan
    if "times_status" not in L.columns:
        L["times_status"] = "ok"
    L["kernel_name"] = L["kernel_name"].fillna("?").astype(str)
    wd = L["work_dim"].to_numpy(dtype=float)
    g = L[["global0", "global1", "global2"]].to_numpy(dtype=float)
    lo = L[["local0", "local1", "local2"]].to_numpy(dtype=float)
    drv = L["driver_local"].fillna(0).to_numpy(dtype=float) > 0
    L["gsize"] = [dims(g[i], wd[i]) for i in range(len(L))]
    L["lsize"] = ["driver" if (drv[i] or np.all(np.isnan(lo[i]))) else dims(lo[i], wd[i])
                  for i in range(len(L))]
    # object dtype: a list of ints and Nones would otherwise become floats and NaN ("wg=147.0", "wg=nan")
    L["wg"] = pd.Series([None if _isnan(v) else int(v) for v in L["work_groups"].to_numpy(dtype=float)],
                        index=L.index, dtype=object)
    dur = L["duration_ns"].to_numpy(dtype=float)
    L["timed"] = (L["times_status"].fillna("ok").astype(str) == "ok") & ~np.isnan(dur)
    L = L.sort_values(["process_id", "seq"], kind="stable")
    L["first"] = ~L.duplicated(["process_id", "kernel_name", "gsize", "lsize"])
    return L


def split_periodic(keys: list) -> int:
    """Smallest period p such that ``keys`` is k >= 2 exact repetitions of keys[:p]; else len(keys)."""
    n = len(keys)
    for p in range(1, n // 2 + 1):
        if n % p == 0 and all(keys[i] == keys[i % p] for i in range(p, n)):
            return p
    return n


def _aggregate(L: pd.DataFrame, sid: np.ndarray, rows: list[dict]) -> None:
    """Fill latency, span, counts, signature and cold flag of each sample row from its launches."""
    keep = sid >= 0
    ids = sid[keep]
    timed = L["timed"].to_numpy()[keep]
    dur = np.where(timed, L["duration_ns"].to_numpy(dtype=float)[keep], 0.0)
    start = L["start_ns"].to_numpy(dtype=float)[keep]
    end = L["end_ns"].to_numpy(dtype=float)[keep]
    m = len(rows)
    n = np.bincount(ids, minlength=m)
    n_untimed = np.bincount(ids, weights=~timed, minlength=m).astype(int)
    lat = np.bincount(ids, weights=dur, minlength=m)
    cold = np.bincount(ids, weights=L["first"].to_numpy()[keep], minlength=m) > 0
    lo = pd.Series(start).groupby(ids).min().reindex(range(m)).to_numpy()
    hi = pd.Series(end).groupby(ids).max().reindex(range(m)).to_numpy()
    sigs: list[list] = [[] for _ in range(m)]
    per_kernel: list[dict] = [{} for _ in range(m)]
    for i, k, g, loc, w, d in zip(ids, L["kernel_name"].to_numpy()[keep], L["gsize"].to_numpy()[keep],
                                L["lsize"].to_numpy()[keep], L["wg"].to_numpy()[keep], dur):
        sigs[i].append((k, g, loc, w))
        per_kernel[i][k] = per_kernel[i].get(k, 0.0) + float(d)
    cache: dict = {}
    for i, row in enumerate(rows):
        sig = tuple(sigs[i])
        if sig not in cache:
            cache[sig] = (signature_hash(sig), signature_text(sig))
        ok = n_untimed[i] == 0
        row.update(latency_ns=float(lat[i]) if ok else np.nan, span_ns=float(hi[i] - lo[i]) if ok else np.nan,
                   n_launches=int(n[i]), n_untimed=int(n_untimed[i]), signature=sig, kernel_ns=per_kernel[i],
                   signature_hash=cache[sig][0], signature_text=cache[sig][1], cold=bool(cold[i]))


def _parse_tags(tags) -> dict:
    if tags is None or (isinstance(tags, float) and math.isnan(tags)):
        return {}
    if isinstance(tags, dict):
        return tags
    try:
        val = json.loads(tags)
    except (TypeError, ValueError):
        return {}
    return val if isinstance(val, dict) else {}


def build_samples(launches: pd.DataFrame, runs: pd.DataFrame, params: pd.DataFrame | None = None,
                  regions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build the samples DataFrame (see module docstring) from trace tables."""
    notes: list[str] = []
    params = params if params is not None else pd.DataFrame()
    run_status = dict(zip(runs["run_id"], runs["status"].fillna("unknown").astype(str))) if len(runs) else {}
    rows: list[dict] = []
    L = _launch_keys(launches) if len(launches) else None
    reg = regions if regions is not None and len(regions) else pd.DataFrame(
        columns=["region_id", "run_id", "process_id", "name", "tags"])
    reg_by_id = reg.set_index("region_id") if len(reg) else None
    runs_with_regions = set(reg["run_id"]) if len(reg) else set()
    n_outside = 0
    n_periodic_runs = 0
    n_single_runs = 0
    if L is not None:
        sid = np.full(len(L), -1, dtype=np.int64)   # sample of each launch (L is sorted by process, seq)
        pos = {ix: i for i, ix in enumerate(L.index)}
        for run_id, RL in L.groupby("run_id", sort=True):
            if run_id in runs_with_regions:
                inside = RL[RL["region_id"].notna()]
                n_outside += len(RL) - len(inside)
                for rid, grp in inside.groupby("region_id", sort=True):
                    r = reg_by_id.loc[rid] if reg_by_id is not None and rid in reg_by_id.index else None
                    sid[[pos[i] for i in grp.index]] = len(rows)
                    rows.append({"run_id": run_id, "process_id": grp["process_id"].iloc[0], "region_id": rid,
                                 "repeat": 0, "region": None if r is None else str(r["name"]),
                                 "_tags": _parse_tags(None if r is None else r.get("tags"))})
            else:
                for pid, PL in RL.groupby("process_id", sort=True):
                    keys = list(zip(PL["kernel_name"], PL["gsize"], PL["lsize"]))
                    p = split_periodic(keys)
                    if p < len(keys):
                        n_periodic_runs += 1
                    else:
                        n_single_runs += 1
                    ix = [pos[i] for i in PL.index]
                    for k in range(len(keys) // p):
                        sid[ix[k * p:(k + 1) * p]] = len(rows)
                        rows.append({"run_id": run_id, "process_id": pid, "region_id": None, "repeat": k,
                                     "region": None, "_tags": {}})
        _aggregate(L, sid, rows)
    for rid in set(runs["run_id"]) - ({r["run_id"] for r in rows}) if len(runs) else ():
        if run_status.get(rid, "ok") != "ok":
            rows.append({"run_id": rid, "process_id": None, "region_id": None, "repeat": 0,
                         "region": None, "_tags": {}, "latency_ns": np.nan, "span_ns": np.nan,
                         "n_launches": 0, "n_untimed": 0, "signature": (), "signature_hash": "",
                         "signature_text": "", "cold": False})
    S = pd.DataFrame(rows)
    if S.empty:
        S = pd.DataFrame(columns=[c for c in CORE_COLUMNS if c not in ("run_status", "sample_id", "status")]
                         + ["region"])
        S["_tags"] = []
    S.insert(0, "sample_id", np.arange(len(S), dtype="int64"))
    S["run_status"] = [run_status.get(r, "unknown") for r in S["run_id"]]
    status = np.where(S["run_status"] != "ok", "failed-run",
                      np.where(S["n_untimed"].astype(float) > 0, "untimed",
                               np.where(S["cold"].astype(bool), "cold", "ok")))
    S["status"] = status
    # parameters: run params, then region tags (override), then region name
    P = params.copy()
    if len(P.columns):
        if "run_id" in P.columns:
            P = P.set_index("run_id")
        P.columns = [str(c) for c in P.columns]
        for c in P.columns:
            name = c if c not in CORE_COLUMNS else f"param_{c}"
            S[name] = [P.at[r, c] if r in P.index else None for r in S["run_id"]]
    tag_keys = sorted({k for t in S["_tags"] for k in t})
    for k in tag_keys:
        name = k if k not in CORE_COLUMNS else f"param_{k}"
        old = S[name] if name in S.columns else pd.Series([None] * len(S), index=S.index)
        S[name] = [t.get(k, o) for t, o in zip(S["_tags"], old)]
    S = S.drop(columns="_tags")
    if S["region"].isna().all():
        S = S.drop(columns="region")
    pcols = param_columns(S)
    for c in pcols:
        S[c] = to_number(S[c])
    # notes
    n_untimed = int((S["status"] == "untimed").sum())
    if n_untimed:
        notes.append(f"{n_untimed} sample(s) excluded: missing device times "
                     f"({int(S['n_untimed'].sum())} untimed launch(es)).")
    failed = sorted({int(r) for r, s in run_status.items() if s != "ok"})
    if failed:
        notes.append(f"{len(failed)} run(s) not ok, excluded from statistics: run_id "
                     + ", ".join(map(str, failed)) + ".")
    if n_outside:
        notes.append(f"{n_outside} launch(es) outside any region in runs with regions were ignored.")
    if n_periodic_runs:
        notes.append(f"{n_periodic_runs} process(es) without regions were split into samples at the period "
                     "of their repeated dispatch sequence; the first repetition is cold.")
    if n_single_runs:
        notes.append(f"{n_single_runs} process(es) without regions and without a repeated dispatch "
                     "sequence form one sample each; such samples are all cold (first launch of every "
                     "kernel/global/local) and are used only where a configuration has no warm sample.")
    S.attrs["notes"] = notes
    S.attrs["param_columns"] = pcols
    S.attrs["failed_runs"] = failed
    return S.reset_index(drop=True)
