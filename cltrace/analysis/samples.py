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

from .signatures import (_canonical_texts, _codes_text, _entry_text, _isnan, _period, _text_hash, dims,  # noqa: F401
                         signature_hash, signature_text, split_periodic)

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


_ROW_COLUMNS = ("run_id", "process_id", "region_id", "repeat", "region", "_tags")
_SAMPLE_COLUMNS = ("latency_ns", "span_ns", "n_launches", "n_untimed", "signature", "kernel_ns", "signature_hash",
                   "signature_text", "cold")

_SHAPE_COLUMNS = ("work_dim", "global0", "global1", "global2", "local0", "local1", "local2", "driver_local",
                  "work_groups")


def _floats(launches: pd.DataFrame, c: str):
    return launches[c].to_numpy(dtype=float, na_value=np.nan) if c in launches.columns else None


def _value_codes(v: np.ndarray):
    """(codes >= 0 or None when v is constant, value of each code) of a float array; NaN is a value."""
    first = v[0]
    if (np.isnan(v).all() if math.isnan(first) else (v == first).all()):
        return None, np.array([first])
    nan = np.isnan(v)
    lo, hi = np.fmin.reduce(v), np.fmax.reduce(v)
    if np.isfinite(lo) and np.isfinite(hi) and hi - lo < (1 << 20):
        off = v - lo
        with np.errstate(invalid="ignore"):
            ci = off.astype(np.int64)
        ci[nan] = -1
        if ((ci == off) | nan).all():
            ci += 1
            return ci, np.concatenate(([np.nan], lo + np.arange(int(hi - lo) + 1, dtype=float)))
    codes, uniq = pd.factorize(v)
    codes = codes.astype(np.int64) + 1
    return codes, np.concatenate(([np.nan], np.asarray(uniq, dtype=float)))


def _group_codes(s: pd.Series):
    """Codes of a key column in sorted key order (-1: missing) and a function: codes -> the keys, as
    the keys of ``groupby(column, sort=True)`` (so the same Python types)."""
    dt = s.dtype
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt) and len(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        lo, hi = np.fmin.reduce(v), np.fmax.reduce(v)
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo < (1 << 22) and max(abs(lo), abs(hi)) < 2 ** 52:
            off = v - lo
            with np.errstate(invalid="ignore"):
                codes = off.astype(np.int64)
            nan = np.isnan(v)
            codes[nan] = -1
            if ((codes == off) | nan).all():
                int_kind = dt.kind in "iu"

                def keys(cs, lo=lo, int_kind=int_kind, dt=dt):
                    vals = lo + np.asarray(cs, dtype=float)
                    return list(pd.Index(pd.array(vals.astype(np.int64) if int_kind else vals, dtype=dt)))
                return codes, keys
    codes, uniq = pd.factorize(s, sort=True)
    index = pd.Index(uniq)
    return codes.astype(np.int64), lambda cs: list(index[np.asarray(cs, dtype=np.int64)])


def _numeric(s: pd.Series):
    """The values as a numpy array when numeric and without missing values, else None."""
    dt = s.dtype
    if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt) or s.isna().any():
        return None
    return s.to_numpy(dtype=np.int64 if dt.kind in "iu" else float)


def _sort_order(launches: pd.DataFrame):
    """Positions of the launches sorted by (process_id, seq), stable; None when already in that order."""
    p, q = _numeric(launches["process_id"]), _numeric(launches["seq"])
    if p is not None and q is not None:
        if len(p) < 2 or np.all((p[1:] > p[:-1]) | ((p[1:] == p[:-1]) & (q[1:] >= q[:-1]))):
            return None
        if p.dtype.kind == q.dtype.kind == "i":
            p_lo, q_lo = int(p.min()), int(q.min())
            p_span, q_span = int(p.max()) - p_lo + 1, int(q.max()) - q_lo + 1
            if p_span * q_span < 1 << 62:      # one stable sort of a combined key
                return np.argsort((p - p_lo) * q_span + (q - q_lo), kind="stable")
        return np.lexsort((q, p))
    keys = pd.DataFrame({"process_id": launches["process_id"].array, "seq": launches["seq"].array})
    return keys.sort_values(["process_id", "seq"], kind="stable").index.to_numpy()


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


class _Launches:
    """The launches reduced to numpy arrays, in the frame's row order (``order`` sorts them by process_id
    and seq, stably; None when they already are): each launch's signature entry ``sig`` (a code into
    ``sig_entries``, the distinct (kernel_name, gsize, lsize, wg) tuples), ``timed``, ``dur`` (device ns,
    0 when untimed), ``start``, ``end`` and ``first`` (first launch, in process/seq order, of its
    (process_id, kernel_name, gsize, lsize))."""

    def __init__(self, launches: pd.DataFrame):
        n = self.n = len(launches)
        self.order = _sort_order(launches)
        self._entries(launches)
        dur = _floats(launches, "duration_ns")
        timed = np.zeros(n, bool) if dur is None else ~np.isnan(dur)
        if "times_status" in launches.columns:      # missing counts as ok
            codes, uniq = pd.factorize(launches["times_status"])
            ok = np.array([str(u) == "ok" for u in np.asarray(uniq, dtype=object)] + [True], dtype=bool)
            timed &= ok[codes]
        self.timed = timed
        self.dur = np.zeros(n) if dur is None else np.where(timed, dur, 0.0)
        del dur
        for c in ("start", "end"):
            v = _floats(launches, f"{c}_ns")
            setattr(self, c, np.full(n, np.nan) if v is None else v)
        self.pc, self.pid_keys = _group_codes(launches["process_id"])
        self._first()

    def _entries(self, launches: pd.DataFrame) -> None:
        """sig and the tables by entry: sig_entries, sig_kgl (code of (kernel, gsize, lsize)), sig_text
        (code of the entry's text in texts), sig_kernel (code of the kernel name in kernel_names)."""
        n = self.n
        kcodes, kuniq = pd.factorize(launches["kernel_name"])
        knames = ["?"] + [str(u) for u in np.asarray(kuniq, dtype=object)]
        columns = [(kcodes.astype(np.int64) + 1, np.arange(len(knames), dtype=float))]
        del kcodes
        for c in _SHAPE_COLUMNS:
            v = _floats(launches, c)
            columns.append((None, np.array([np.nan])) if v is None else _value_codes(v))
            del v
        # one int64 key per combination of the columns' codes; renumbered where the product would overflow
        steps: list = []
        acc, card = None, 1
        for j, (codes, values) in enumerate(columns):
            if codes is None:
                continue
            k = len(values)
            if acc is None:
                acc, card = codes, k
            else:
                if card * k >= 1 << 62:
                    acc, uniq = pd.factorize(acc)
                    acc = acc.astype(np.int64)
                    steps.append(("renumber", np.asarray(uniq, dtype=np.int64)))
                    card = len(uniq)
                acc = acc * k + codes
                card *= k
            steps.append(("column", j, k))
        columns = [(None, values) for _, values in columns]
        table = combo = None
        if acc is None:
            keys = np.zeros(1, np.int64)
        elif card <= max(4 * n, 1 << 16):
            present = np.bincount(acc, minlength=card) > 0
            keys = np.flatnonzero(present)
            table = np.cumsum(present) - 1          # key -> distinct combination
        else:
            combo, keys = pd.factorize(acc)
            keys = np.asarray(keys, dtype=np.int64)
        # each column's value in each distinct combination
        col_codes = [np.zeros(len(keys), np.int64) for _ in columns]
        key = keys
        for step in reversed(steps):
            if step[0] == "column":
                _, j, k = step
                col_codes[j], key = key % k, key // k
            else:
                key = step[1][key]
        kname, wd, g0, g1, g2, l0, l1, l2, drv, wg = (values[cc] for (_, values), cc in zip(columns, col_codes))
        entries: dict = {}
        combo_sig = np.empty(len(keys), np.int32)
        for i in range(len(keys)):
            lo = np.array([l0[i], l1[i], l2[i]])
            e = (knames[int(kname[i])], dims(np.array([g0[i], g1[i], g2[i]]), wd[i]),
                 "driver" if (drv[i] > 0 or np.all(np.isnan(lo))) else dims(lo, wd[i]),
                 None if _isnan(wg[i]) else int(wg[i]))
            combo_sig[i] = entries.setdefault(e, len(entries))
        if acc is None:
            self.sig = np.zeros(n, np.int32)
        elif table is not None:
            self.sig = combo_sig[table][acc]
        else:
            self.sig = combo_sig[combo]
        del acc, table, combo
        self.sig_entries = np.empty(len(entries), dtype=object)
        self.sig_entries[:] = list(entries)
        kgl: dict = {}
        self.sig_kgl = np.array([kgl.setdefault(e[:3], len(kgl)) for e in entries], dtype=np.int64)
        self.n_kgl = len(kgl)
        self.sig_text, self.texts = _canonical_texts([_entry_text(e) for e in entries])
        kn: dict = {}
        self.sig_kernel = np.array([kn.setdefault(e[0], len(kn)) for e in entries], dtype=np.int64)
        self.kernel_names = list(kn)

    def _first(self) -> None:
        n, nsig = self.n, len(self.sig_entries)
        # first position (in process/seq order) of each (process, entry), then of each (process, kgl)
        key = (self.pc + 1) * nsig + self.sig
        if self.order is not None:
            key = key[self.order]
        space = (int(self.pc.max()) + 2) * nsig
        if space <= max(n, 1 << 16):
            firstpos = np.full(space, n, np.int64)
            np.minimum.at(firstpos, key, np.arange(n))
            pairs = np.flatnonzero(firstpos < n)
            firstpos = firstpos[pairs]
        else:
            codes, pairs = pd.factorize(key)
            firstpos = np.full(len(pairs), n, np.int64)
            np.minimum.at(firstpos, codes, np.arange(n))
            pairs = np.asarray(pairs, dtype=np.int64)
        del key
        by_kgl = pd.Series(firstpos).groupby((pairs // nsig) * self.n_kgl + self.sig_kgl[pairs % nsig]).min()
        pos = by_kgl.to_numpy(dtype=np.int64)
        self.first = np.zeros(n, bool)
        self.first[pos if self.order is None else self.order[pos]] = True


def _assign(K: _Launches, launches: pd.DataFrame, reg: pd.DataFrame, runs_with_regions: set):
    """Group the launches into samples: (sel, sizes, cols, counts) where sel holds the positions of the
    launches that belong to a sample, ordered by sample and, within one, by process and seq (None: the
    first sum(sizes) launches in frame order), sizes the number of launches of each sample, cols the
    _ROW_COLUMNS of the samples (a list each), counts (launches outside regions, periodic processes,
    single-sample processes)."""
    n = K.n
    rc, run_keys = _group_codes(launches["run_id"])
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
    proc = launches["process_id"]
    start = 0
    for j in range(G):
        c = int(counts[j])
        if g_reg[j]:
            rid = next(regs)
            i = reg_pos.get(rid)
            for col, v in zip(_ROW_COLUMNS, (runs_[j], proc.iloc[start if sel is None else int(sel[start])], rid,
                                             0, None if i is None else str(names[i]),
                                             _parse_tags(None if i is None else tags[i]))):
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


def _aggregate(K: _Launches, sel, sizes: np.ndarray, cols: dict) -> None:
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
                  regions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Build the samples DataFrame (see module docstring) from trace tables."""
    with _gc_paused():
        return _build_samples(launches, runs, params, regions)


def _build_samples(launches, runs, params, regions) -> pd.DataFrame:
    notes: list[str] = []
    params = params if params is not None else pd.DataFrame()
    run_status = dict(zip(runs["run_id"], runs["status"].fillna("unknown").astype(str))) if len(runs) else {}
    cols: dict = {c: [] for c in _ROW_COLUMNS}
    reg = regions if regions is not None and len(regions) else pd.DataFrame(
        columns=["region_id", "run_id", "process_id", "name", "tags"])
    runs_with_regions = set(reg["run_id"]) if len(reg) else set()
    n_outside = 0
    n_periodic_runs = 0
    n_single_runs = 0
    if len(launches):
        K = _Launches(launches)
        sel, sizes, cols, (n_outside, n_periodic_runs, n_single_runs) = _assign(K, launches, reg,
                                                                                runs_with_regions)
        _aggregate(K, sel, sizes, cols)
        del K, sel
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
