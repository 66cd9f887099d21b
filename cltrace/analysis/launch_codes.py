"""The launches of a samples build reduced to numpy codes (analysis.samples): signature entries, timing,
process codes and each (process, kernel, sizes)'s first launch.

The launches come either as one frame with every column (the ``launches`` view), or, as the store keeps
them, as a narrow per-launch frame with ``dispatch_id`` plus a ``dispatches`` frame holding what launches
of one shape share (run, process, kernel name, sizes). The second form is what lets a report read ten
million launches without ten million copies of each dispatch column; both give the same codes.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..store.rows import sorted_id_rows
from .signatures import _canonical_texts, _entry_text, _isnan, dims

# what a launch shares with the other launches of its dispatch (taken from `dispatches` when given)
DISPATCH_COLUMNS = ("run_id", "process_id", "kernel_name", "work_dim", "global0", "global1", "global2", "local0",
                    "local1", "local2", "driver_local", "work_groups")

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


def _sort_order(process_id: pd.Series, seq: pd.Series):
    """Positions of the launches sorted by (process_id, seq), stable; None when already in that order."""
    p, q = _numeric(process_id), _numeric(seq)
    if p is not None and q is not None:
        if len(p) < 2 or np.all((p[1:] > p[:-1]) | ((p[1:] == p[:-1]) & (q[1:] >= q[:-1]))):
            return None
        if p.dtype.kind == q.dtype.kind == "i":
            p_lo, q_lo = int(p.min()), int(q.min())
            p_span, q_span = int(p.max()) - p_lo + 1, int(q.max()) - q_lo + 1
            if p_span * q_span < 1 << 62:      # one stable sort of a combined key
                return np.argsort((p - p_lo) * q_span + (q - q_lo), kind="stable")
        return np.lexsort((q, p))
    keys = pd.DataFrame({"process_id": process_id.array, "seq": seq.array})
    return keys.sort_values(["process_id", "seq"], kind="stable").index.to_numpy()


def dispatch_rows(dispatches: pd.DataFrame, dispatch_id: pd.Series) -> np.ndarray:
    """Row of each launch's dispatch in `dispatches` (sorted by dispatch_id, unique)."""
    if dispatch_id.isna().any():
        raise ValueError("a launch has no dispatch_id")
    return sorted_id_rows(dispatches["dispatch_id"].to_numpy(np.int64), dispatch_id.to_numpy(np.int64))


class LaunchCodes:
    """The launches reduced to numpy arrays, in the frame's row order (``order`` sorts them by process_id
    and seq, stably; None when they already are): each launch's signature entry ``sig`` (a code into
    ``sig_entries``, the distinct (kernel_name, gsize, lsize, wg) tuples), ``timed``, ``dur`` (device ns,
    0 when untimed), ``start``, ``end``, ``first`` (first launch, in process/seq order, of its
    (process_id, kernel_name, gsize, lsize)), process codes ``pc`` (keys: ``pid_keys``) and run codes
    ``rc`` (keys: ``run_keys``). With `dispatches`, the DISPATCH_COLUMNS come from there by dispatch_id."""
    sig: np.ndarray
    start: np.ndarray                       # set by name in __init__ (with end)
    end: np.ndarray

    def __init__(self, launches: pd.DataFrame, dispatches: pd.DataFrame | None = None):
        n = self.n = len(launches)
        shapes, at = (launches, None) if dispatches is None else \
            (dispatches, dispatch_rows(dispatches, launches["dispatch_id"]))

        def per_launch(codes):
            if at is None:
                return codes
            if len(codes) and (codes == codes[0]).all():      # one run / one process: no gather
                return np.full(n, codes[0], codes.dtype)
            return codes[at]

        proc = launches["process_id"] if "process_id" in launches.columns or at is None else \
            pd.Series(shapes["process_id"].array.take(at))
        self.order = _sort_order(proc, launches["seq"])
        del proc
        self._entries(shapes)
        self.sig = per_launch(self.sig)
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
        pc, self.pid_keys = _group_codes(shapes["process_id"])
        self.pc = per_launch(pc)
        rc, self.run_keys = _group_codes(shapes["run_id"])
        self.rc = per_launch(rc)
        self._first()

    def _entries(self, launches: pd.DataFrame) -> None:
        """sig (per row of `launches`) and the tables by entry: sig_entries, sig_kgl (code of (kernel,
        gsize, lsize)), sig_text (code of the entry's text in texts), sig_kernel (code of the kernel name in
        kernel_names)."""
        n = len(launches)
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


