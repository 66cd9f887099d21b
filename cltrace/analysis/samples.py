"""Turn traced launches into samples: one execution of the layer each.

A sample is one region instance (its launches are those whose ``region_id`` is
that region), or, for a run without regions, one repetition of the run's
dispatch group (see ``split_periodic``).  Every sample carries the parameters
of its configuration (run params, overridden by region tags, plus ``region``),
its latency (sum of kernel device durations), its dispatch signature and a
``status``: ``ok`` | ``cold`` | ``untimed`` | ``failed-run``.

The returned DataFrame's ``attrs`` hold ``notes`` (list of sentences),
``param_columns`` and ``failed_runs`` (run ids).
"""
from __future__ import annotations

import contextlib
import gc
import json
import math

import numpy as np
import pandas as pd

from .launch_codes import LaunchCodes, _group_codes
from .signatures import _codes_text, _period, _text_hash
from .signatures import signature_hash, signature_text, split_periodic  # noqa: F401  (part of this module's API)
from .values import typed_column

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
    """A parameter column as numbers when every non-missing value is one, by values.py's rule (int64 when
    whole and complete, else float64); any other column as objects."""
    typed = typed_column(values)
    numeric = pd.api.types.is_numeric_dtype(typed) and not pd.api.types.is_bool_dtype(typed)
    return typed if numeric else values.astype(object)


_ROW_COLUMNS = ("run_id", "process_id", "region_id", "repeat", "region", "_tags")
_SAMPLE_COLUMNS = ("latency_ns", "span_ns", "n_launches", "n_untimed", "signature", "kernel_ns", "signature_hash",
                   "signature_text", "cold")

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


def _assign(K: LaunchCodes, launches: pd.DataFrame, reg: pd.DataFrame, runs_with_regions: set):
    """Group the launches into samples: (sel, sizes, cols, counts) where sel holds the positions of the
    launches that belong to a sample, ordered by sample and, within one, by process and seq (None: the
    first sum(sizes) launches in frame order), sizes the number of launches of each sample, cols the
    _ROW_COLUMNS of the samples (a list each), counts (launches outside regions, periodic processes,
    single-sample processes)."""
    n = K.n
    rc, run_keys = K.rc, K.run_keys
    if "region_id" in launches.columns:
        regc, reg_keys = _group_codes(launches["region_id"])
    else:
        regc, reg_keys = np.full(n, -1, np.int64), None
    valid = rc >= 0
    rcard = int(rc.max()) + 1 if valid.any() else 1
    run_has_reg = np.zeros(rcard, bool)
    if runs_with_regions and valid.any():
        present = np.flatnonzero(np.bincount(rc[valid], minlength=rcard))
        run_has_reg[present] = [k in runs_with_regions for k in run_keys(present)]
    isreg = run_has_reg[np.where(valid, rc, 0)] & valid
    n_outside = int(np.count_nonzero(isreg & (regc < 0)))
    sub = np.where(isreg, regc, K.pc)
    inc = valid & (sub >= 0)
    del isreg
    scard = max(int(regc.max()), int(K.pc.max()), 0) + 1
    space = rcard * scard
    gkey = rc * scard + sub
    del sub, regc
    gkey[~inc] = space
    if space < max(2 * n, 1 << 20):
        cnt = np.bincount(gkey, minlength=space + 1)
        gkeys = np.flatnonzero(cnt[:space])
        counts = cnt[gkeys]
        remap = np.full(space + 1, len(gkeys), np.int64)
        remap[gkeys] = np.arange(len(gkeys))
        gid = remap[gkey]
    else:
        gid, uniq = pd.factorize(gkey, sort=True)
        uniq = np.asarray(uniq, dtype=np.int64)
        gkeys = uniq[uniq < space]
        counts = np.bincount(gid, minlength=len(uniq))[:len(gkeys)]
    del gkey, inc, valid
    G = len(gkeys)
    gid = gid.astype(np.uint8 if G < 255 else np.uint16 if G < 65535 else np.int64)   # radix sort if small
    if K.order is not None:
        gid = gid[K.order]
    N = int(counts.sum())
    if len(gid) < 2 or np.all(gid[1:] >= gid[:-1]):
        sel = K.order[:N] if K.order is not None else None
    else:
        perm = np.argsort(gid, kind="stable")[:N]
        sel = K.order[perm] if K.order is not None else perm
    del gid
    cols: dict = {c: [] for c in _ROW_COLUMNS}
    sizes: list = []
    n_periodic = n_single = 0
    g_run, g_sub = gkeys // scard, gkeys % scard
    g_reg = run_has_reg[g_run]
    runs_ = run_keys(g_run)
    regs = iter(reg_keys(g_sub[g_reg]) if g_reg.any() else [])
    pids = iter(K.pid_keys(g_sub[~g_reg]) if (~g_reg).any() else [])
    reg_pos: dict = {}
    for i, r in enumerate(reg["region_id"].tolist() if len(reg) else []):
        reg_pos.setdefault(r, i)
    names = reg["name"].tolist() if len(reg) else []
    tags = reg["tags"].tolist() if len(reg) and "tags" in reg.columns else [None] * len(reg)
    start = 0
    for j in range(G):
        c = int(counts[j])
        if g_reg[j]:
            rid = next(regs)
            at = reg_pos.get(rid)
            pid = K.pid_keys([K.pc[start if sel is None else int(sel[start])]])[0]
            for col, v in zip(_ROW_COLUMNS, (runs_[j], pid, rid,
                                             0, None if at is None else str(names[at]),
                                             _parse_tags(None if at is None else tags[at]))):
                cols[col].append(v)
            sizes.append(c)
        else:
            pid = next(pids)
            seq = K.sig_kgl[K.sig[start:start + c] if sel is None else K.sig[sel[start:start + c]]]
            p = _period(seq)
            if p < c:
                n_periodic += 1
            else:
                n_single += 1
            r = c // p
            for col, v in zip(_ROW_COLUMNS, ([runs_[j]] * r, [pid] * r, [None] * r, range(r), [None] * r,
                                             [{} for _ in range(r)])):
                cols[col].extend(v)
            sizes.extend([p] * r)
        start += c
    return sel, np.asarray(sizes, dtype=np.int64), cols, (n_outside, n_periodic, n_single)


def _aggregate(K: LaunchCodes, sel, sizes: np.ndarray, cols: dict) -> None:
    """Add latency, span, counts, signature and cold flag of each sample (_SAMPLE_COLUMNS) to ``cols``."""
    m = len(sizes)
    for c in _SAMPLE_COLUMNS:
        cols[c] = []
    if m == 0:
        return
    N = int(sizes.sum())
    ends = np.cumsum(sizes)
    starts = ends - sizes

    def take(a):
        return a[:N] if sel is None else a[sel]

    sid = np.repeat(np.arange(m), sizes)
    n_untimed = sizes - np.add.reduceat(take(K.timed), starts, dtype=np.int64)
    ok = n_untimed == 0
    dur = take(K.dur)
    lat = np.bincount(sid, weights=dur, minlength=m)       # summed in process/seq order, as before
    cols["latency_ns"] = np.where(ok, lat, np.nan).tolist()
    span = np.fmax.reduceat(take(K.end), starts) - np.fmin.reduceat(take(K.start), starts)
    cols["span_ns"] = np.where(ok, span, np.nan).tolist()
    cols["n_launches"] = sizes.tolist()
    cols["n_untimed"] = n_untimed.tolist()
    cols["cold"] = np.logical_or.reduceat(take(K.first), starts).tolist()
    del lat, span, n_untimed, ok
    sig = take(K.sig)
    # time per kernel in each sample, kernels in order of first launch
    nk = len(K.kernel_names)
    pair = sid * nk + K.sig_kernel[sig]
    del sid
    if m * nk <= max(N, 1 << 16):
        sums = np.bincount(pair, weights=dur, minlength=m * nk)
        firstpos = np.full(m * nk, N, np.int64)
        np.minimum.at(firstpos, pair, np.arange(N))
        keys = np.flatnonzero(firstpos < N)
        keys = keys[np.argsort(firstpos[keys], kind="stable")]
        sums = sums[keys]
    else:
        codes, keys = pd.factorize(pair)
        keys = np.asarray(keys, dtype=np.int64)
        sums = np.bincount(codes, weights=dur, minlength=len(keys))
    del pair, dur
    bounds = np.searchsorted(keys // nk, np.arange(m + 1)).tolist()
    names = np.array(K.kernel_names, dtype=object)[keys % nk].tolist()
    sums = sums.tolist()
    cols["kernel_ns"] = [dict(zip(names[a:b], sums[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]
    del names, sums
    # signature, its hash and text: once per distinct sequence of entries; a sample with the entries of the
    # sample before it (a repeat of a periodic process) takes that one's without a look-up
    same = np.zeros(m, bool)
    block = np.concatenate(([0], np.flatnonzero(sizes[1:] != sizes[:-1]) + 1, [m]))
    for a, b in zip(block[:-1].tolist(), block[1:].tolist()):      # runs of samples of one size
        if b - a > 1:
            blk = sig[starts[a]:ends[b - 1]].reshape(b - a, -1)
            same[a + 1:b] = (blk[1:] == blk[:-1]).all(axis=1)
    cache: dict = {}
    hits = []
    for s, e in zip(starts[~same].tolist(), ends[~same].tolist()):
        codes = sig[s:e]
        b = codes.tobytes()
        hit = cache.get(b)
        if hit is None:
            text = _codes_text(K.sig_text[codes], K.texts)
            hit = cache[b] = (tuple(K.sig_entries[codes].tolist()), _text_hash(text), text)
        hits.append(hit)
    which = (np.cumsum(~same) - 1).tolist()
    for j, c in enumerate(("signature", "signature_hash", "signature_text")):
        col = [h[j] for h in hits]
        cols[c] = [col[k] for k in which]


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection inside (it would scan again and again while millions of sample
    tuples and dicts are made, none of them garbage)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def build_samples(launches: pd.DataFrame, runs: pd.DataFrame, params: pd.DataFrame | None = None,
                  regions: pd.DataFrame | None = None, dispatches: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build the samples DataFrame (see module docstring) from trace tables. With `dispatches` (the
    store's layout, read by Trace.staircase_launches), `launches` needs only dispatch_id, seq, region_id, the
    times and (optionally) times_status; launch_codes.DISPATCH_COLUMNS come from `dispatches`."""
    with _gc_paused():
        return _build_samples(launches, runs, params, regions, dispatches)


def regions_frame(regions: pd.DataFrame | None) -> pd.DataFrame:
    """The regions table, or an empty one with its columns."""
    return regions if regions is not None and len(regions) else pd.DataFrame(
        columns=["region_id", "run_id", "process_id", "name", "tags"])


def _build_samples(launches, runs, params, regions, dispatches) -> pd.DataFrame:
    cols: dict = {c: [] for c in _ROW_COLUMNS}
    reg = regions_frame(regions)
    runs_with_regions = set(reg["run_id"]) if len(reg) else set()
    counts = (0, 0, 0)
    if len(launches):
        K = LaunchCodes(launches, dispatches)
        sel, sizes, cols, counts = _assign(K, launches, reg, runs_with_regions)
        _aggregate(K, sel, sizes, cols)
        del K, sel
    return finish_samples(cols, counts, runs, params)


def finish_samples(cols: dict, counts: tuple, runs: pd.DataFrame, params) -> pd.DataFrame:
    """The samples DataFrame from the per-sample columns (_ROW_COLUMNS + _SAMPLE_COLUMNS, one list each, in
    sample order) and the counts (launches outside regions, periodic processes, single-sample processes):
    failed runs' rows, status, parameters and notes. Shared by build_samples and the report's chunked
    reader (report/launch_stream.py), which aggregates the samples without a per-launch frame."""
    notes: list[str] = []
    params = params if params is not None else pd.DataFrame()
    run_status = dict(zip(runs["run_id"], runs["status"].fillna("unknown").astype(str))) if len(runs) else {}
    n_outside, n_periodic_runs, n_single_runs = counts
    # a sample row of each run that failed without launches in a sample (no per-kernel times: NaN)
    failed_row = {"process_id": None, "region_id": None, "repeat": 0, "region": None, "latency_ns": np.nan,
                  "span_ns": np.nan, "n_launches": 0, "n_untimed": 0, "signature": (), "kernel_ns": np.nan,
                  "signature_hash": "", "signature_text": "", "cold": False}
    # columns in the order, and so with the dtypes, that pd.DataFrame(<a list of row dicts>) gave them
    names = list(_ROW_COLUMNS) + [c for c in _SAMPLE_COLUMNS if c != "kernel_ns" or cols.get(c)]
    for rid in set(runs["run_id"]) - set(cols["run_id"]) if len(runs) else ():
        if run_status.get(rid, "ok") != "ok":
            for c in names:
                cols.setdefault(c, []).append(rid if c == "run_id" else {} if c == "_tags" else failed_row[c])
    S = pd.DataFrame(list(zip(*(cols[c] for c in names))), columns=names) if cols["run_id"] else pd.DataFrame()
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
            memo: dict = {}
            S[name] = [memo[r] if r in memo else memo.setdefault(r, P.at[r, c] if r in P.index else None)
                       for r in S["run_id"]]
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
