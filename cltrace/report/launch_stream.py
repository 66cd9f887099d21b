"""`cltrace report` over the launches part by part: memory that follows the kernels, runs and samples of a
trace, not its launches.

The launch rows are read in chunks of consecutive launch ids (CHUNK launches; a process's launches are
consecutive and in sequence order). Each chunk adds to:
  * the launch groups' totals (kernel_stats.group_totals: calls, device time, first start, last end), from
    which the run headers come;
  * the kernel table's statistics per label group, with exact medians from the count of each distinct
    duration of each group (the memory of a group is its distinct durations, not its launches);
  * the staircase samples: a region's sample is summed as its launches come (latency, span, counts,
    cold, time per kernel, the entry codes of its signature in one or two bytes a launch); a process of a
    run without regions is split at its period as before (analysis.samples) once its last launch has been
    read, so only that process is held.
Every number equals what the one-read path (Trace.launch_arrays + analysis.samples.build_samples) gives:
sums of integers are exact in any order, and the kernel table's sums of milliseconds continue from the
previous chunk's totals (np.bincount adds in order), so even the last bit agrees. A sample longer than
signatures.LONG_SIGNATURE launches whose dispatches repeat a period gets a RepeatedSignature (the period and
a count) instead of a tuple of every launch.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from ..analysis.kernel_stats import (GROUP_KEY_COLUMNS, _count_true, _label_groups, group_totals,
                                     kernel_table_from_stats, kernel_table_grouped, merge_group_totals)
from ..analysis.launch_codes import DISPATCH_COLUMNS, LaunchCodes
from ..analysis.samples import _ROW_COLUMNS, _SAMPLE_COLUMNS, _aggregate, _assign, _parse_tags, regions_frame
from ..analysis.signatures import LONG_SIGNATURE, RepeatedSignature, _codes_text, _period, _text_hash
from ..errors import DamagedTrace
from ..store import launch_layout as layout
from ..store.fast import chunk_ranges

CHUNK = 1 << 20


# -- the kernel table ----------------------------------------------------------------------------------------
class DurationCounts:
    """How many launches of each group had each duration (ns): exact order statistics in the memory of the
    distinct (group, duration) pairs."""

    def __init__(self):
        self.group = np.zeros(0, np.int64)
        self.value = np.zeros(0, np.int64)
        self.count = np.zeros(0, np.int64)

    def add(self, group: np.ndarray, value: np.ndarray) -> None:
        if not len(group):
            return
        g = np.concatenate((self.group, group.astype(np.int64, copy=False)))
        v = np.concatenate((self.value, value.astype(np.int64, copy=False)))
        c = np.concatenate((self.count, np.ones(len(group), np.int64)))
        lo, hi = int(v.min()), int(v.max())
        span = hi - lo + 1
        space = (int(g.max()) + 1) * span
        if space <= 1 << 22:                             # few (group, duration) pairs possible: count directly
            cnt = np.bincount(g * span + (v - lo), weights=c, minlength=space)
            keys = np.flatnonzero(cnt)
            self.group, self.value, self.count = keys // span, keys % span + lo, cnt[keys].astype(np.int64)
            return
        if space < 1 << 62:                              # one int64 key per pair, counted by hashing
            codes, uniq = pd.factorize((g * span) + (v - lo))
            uniq = np.asarray(uniq, np.int64)
            self.group, self.value = uniq // span, uniq % span + lo
        else:
            codes, uniq = pd.factorize(pd.MultiIndex.from_arrays([g, v]))
            self.group = np.asarray(uniq.get_level_values(0), np.int64)
            self.value = np.asarray(uniq.get_level_values(1), np.int64)
        self.count = np.bincount(codes, weights=c, minlength=len(self.group)).astype(np.int64)

    def order_stats_ms(self, label_of_group: np.ndarray, m: int):
        """(median, min, max) duration in ms of each label (0..m-1) over the groups mapped to it, as np.median,
        min and max of the durations in ms give them (x / 1e6 keeps the order of x); NaN: none."""
        med = self.medians_ms(label_of_group, m)
        lo, hi = np.full(m, np.nan), np.full(m, np.nan)
        if len(self.group):
            lab = label_of_group[self.group]
            vmin, vmax = np.full(m, np.iinfo(np.int64).max), np.full(m, np.iinfo(np.int64).min)
            np.minimum.at(vmin, lab, self.value)
            np.maximum.at(vmax, lab, self.value)
            has = np.bincount(lab, minlength=m) > 0
            lo[has], hi[has] = vmin[has] / 1e6, vmax[has] / 1e6
        return med, lo, hi

    def medians_ms(self, label_of_group: np.ndarray, m: int) -> np.ndarray:
        """The median duration in ms of each label (0..m-1) over the groups mapped to it, as np.median of
        the durations in ms gives it (the mean of the two middle values for an even count); NaN: none."""
        out = np.full(m, np.nan)
        if not len(self.group):
            return out
        lab = label_of_group[self.group]
        order = np.lexsort((self.value, lab))
        lab, val, cnt = lab[order], self.value[order], self.count[order]
        cum = np.cumsum(cnt)
        bounds = np.searchsorted(lab, np.arange(m + 1))
        for j in range(m):
            a, b = int(bounds[j]), int(bounds[j + 1])
            if a == b:
                continue
            base = int(cum[a - 1]) if a else 0
            n = int(cum[b - 1]) - base
            k1, k2 = (n - 1) // 2, n // 2
            i1 = a + int(np.searchsorted(cum[a:b] - base, k1 + 1))
            i2 = a + int(np.searchsorted(cum[a:b] - base, k2 + 1))
            lo, hi = val[i1] / 1e6, val[i2] / 1e6
            out[j] = lo if i1 == i2 else np.mean([lo, hi])
        return out


class LabelStats:
    """kernel_stats._label_stats of the launches, given chunk by chunk: only the sums of milliseconds are kept
    here (continuing bincount's order); counts come from the group totals, order statistics from the
    DurationCounts."""

    def __init__(self, lcode: np.ndarray, m: int):
        self.lcode, self.m = np.asarray(lcode, np.int64), m
        self.total = np.zeros(m)

    def add(self, group: np.ndarray, dur_ms: np.ndarray) -> None:
        m = self.m
        label = self.lcode[group]
        # np.bincount adds in order: starting from the totals so far gives the one-pass sums, bit for bit
        self.total = np.bincount(np.concatenate((np.arange(m), label)),
                                 weights=np.concatenate((self.total, np.nan_to_num(dur_ms, nan=0.0))), minlength=m)

    def stats(self, totals: Dict[str, np.ndarray], durations: DurationCounts) -> Dict[str, np.ndarray]:
        m = self.m
        size = np.bincount(self.lcode, weights=totals["calls"], minlength=m).astype(np.int64)
        count = np.bincount(self.lcode, weights=totals["timed"], minlength=m).astype(np.int64)
        has = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(has, self.total / count, np.nan)
        med, lo, hi = durations.order_stats_ms(self.lcode, m)
        return {"size": size, "count": count, "sum": self.total, "mean": mean, "median": med,
                "min": np.where(has, lo, np.nan), "max": np.where(has, hi, np.nan)}


# -- the samples ---------------------------------------------------------------------------------------------
class _Region:
    __slots__ = ("run_id", "process_id", "n", "timed", "lat", "smin", "emax", "cold", "kernels", "codes")

    def __init__(self, run_id, process_id):
        self.run_id, self.process_id = run_id, process_id
        self.n = self.timed = 0
        self.lat = 0.0
        self.smin = self.emax = np.nan
        self.cold = False
        self.kernels: dict = {}
        self.codes: list = []


class SampleStream:
    """analysis.samples.build_samples' per-sample columns, from the launches chunk by chunk."""

    def __init__(self, dispatches: pd.DataFrame, regions: Optional[pd.DataFrame]):
        self.D = dispatches.reset_index(drop=True)
        self.ids = self.D["dispatch_id"].to_numpy(np.int64)
        E = self.E = LaunchCodes.__new__(LaunchCodes)
        E._entries(self.D)                       # entry codes per dispatch, shared by every chunk
        self.d_sig = E.sig
        self.d_pid = self.D["process_id"].to_numpy(np.int64)
        self.d_run = self.D["run_id"].to_numpy(np.int64)
        self.d_key = (self.d_pid * max(E.n_kgl, 1) + E.sig_kgl[E.sig]).tolist()
        ne = len(E.sig_entries)
        self.code_type = np.uint8 if ne <= 256 else np.uint16 if ne <= 65536 else np.int32
        self.reg = regions_frame(regions)
        self.region_runs = np.array(sorted({int(r) for r in self.reg["run_id"]}), np.int64)
        self.reg_pos: dict = {}
        for i, r in enumerate(self.reg["region_id"].tolist() if len(self.reg) else []):
            self.reg_pos.setdefault(r, i)
        self.reg_names = self.reg["name"].tolist() if len(self.reg) else []
        self.reg_tags = self.reg["tags"].tolist() if len(self.reg) and "tags" in self.reg.columns \
            else [None] * len(self.reg)
        self.d_inreg = np.isin(self.d_run, self.region_runs)
        self.seen: set = set()                   # (process, kernel/global/local) launched before
        self.regions: Dict[int, _Region] = {}
        self.pending: List[dict] = []            # launches of runs without regions, per chunk
        self.pending_only: Optional[int] = None  # the one process they all belong to, if so
        self.rows: List[tuple] = []              # (sort key, {column: value}) of finished samples
        self.n_outside = self.n_periodic = self.n_single = 0

    def add(self, rows: Dict[str, tuple], at: np.ndarray, start: np.ndarray, end: np.ndarray,
            duration: np.ndarray) -> None:
        """One chunk: its launch_arrays rows, each launch's dispatch row (`at`) and its device times as
        floats (NaN where unknown, as layout.staircase_frame makes them)."""
        n = len(at)
        if not n:
            return
        sig = self.d_sig[at]
        timed = ~np.isnan(duration)
        # the first launch of each (process, kernel, global, local), over every chunk so far: from the first
        # launch of each dispatch in this chunk (a few rows), not from a sort of the launches
        firstpos = np.full(len(self.ids), n, np.int64)
        np.minimum.at(firstpos, at, np.arange(n))
        present = np.flatnonzero(firstpos < n)
        best: dict = {}
        for row, pos in zip(present.tolist(), firstpos[present].tolist()):
            k = self.d_key[row]
            if k not in self.seen and pos < best.get(k, n):
                best[k] = pos
        first = np.zeros(n, bool)
        if best:
            first[list(best.values())] = True
            self.seen.update(best)
        in_reg_run = self.d_inreg[at]
        region, rnull = rows["region_id"]
        self.n_outside += int(np.count_nonzero(in_reg_run & rnull))
        m = in_reg_run & ~rnull
        if m.all():
            self._add_regions(region, at, sig, np.where(timed, duration, 0.0), timed, start, end, first)
        elif m.any():
            self._add_regions(region[m], at[m], sig[m], np.where(timed, duration, 0.0)[m], timed[m], start[m],
                              end[m], first[m])
        free = ~in_reg_run
        if free.any():
            part = {"dispatch_id": rows["dispatch_id"][0][free], "seq": rows["launch_id"][0][free],
                    "pid": self.d_pid[at[free]], "start_ns": start[free], "end_ns": end[free],
                    "duration_ns": duration[free]}
            p0 = int(part["pid"][0])
            alone = bool((part["pid"] == p0).all()) and (not self.pending or self.pending_only == p0)
            self.pending.append(part)
            self.pending_only = p0 if alone else None
            last = int(self.d_pid[at[-1]])
            if self.pending_only != last:     # else only that process is held, and it may go on: no copy yet
                self._flush(keep=last)

    def _add_regions(self, region, at, sig, durz, timed, start, end, first) -> None:
        E = self.E
        n = len(region)
        lo, hi = int(region.min()), int(region.max())
        if hi - lo < max(n, 1 << 16):
            cnt_all = np.bincount(region - lo, minlength=hi - lo + 1)
            uniq = np.flatnonzero(cnt_all)
            remap = np.cumsum(cnt_all > 0) - 1
            codes = remap[region - lo]
            uniq = (uniq + lo).tolist()
        else:
            codes, uniq = pd.factorize(region)
            uniq = np.asarray(uniq).tolist()
        k = len(uniq)
        order = None if n < 2 or bool(np.all(codes[1:] >= codes[:-1])) else np.argsort(codes, kind="stable")

        def take(a):
            return a if order is None else a[order]
        cnt = np.bincount(codes, minlength=k)
        bounds = np.concatenate(([0], np.cumsum(cnt)))
        starts = bounds[:-1]
        ntimed = _count_true(codes, timed, k)
        lat = np.bincount(codes, weights=durz, minlength=k)
        smin = np.fmin.reduceat(take(start), starts)
        emax = np.fmax.reduceat(take(end), starts)
        cold = np.logical_or.reduceat(take(first), starts)
        first_launch = take(at)[starts]
        sig_sorted = take(sig).astype(self.code_type)
        bounds = bounds.tolist()
        states = []
        for j, rid in enumerate(uniq):
            s = self.regions.get(rid)
            if s is None:
                row = int(first_launch[j])
                s = self.regions[rid] = _Region(int(self.d_run[row]), int(self.d_pid[row]))
            s.n += int(cnt[j])
            s.timed += int(ntimed[j])
            s.lat += float(lat[j])
            s.smin = float(np.fmin(s.smin, smin[j]))
            s.emax = float(np.fmax(s.emax, emax[j]))
            s.cold = s.cold or bool(cold[j])
            s.codes.append(sig_sorted[bounds[j]:bounds[j + 1]])
            states.append(s)
        # time per kernel, kernels in order of their first launch in the sample
        nk = max(len(E.kernel_names), 1)
        pair = codes * nk + E.sig_kernel[sig]
        space = k * nk
        if space <= max(n, 1 << 16):
            sums = np.bincount(pair, weights=durz, minlength=space)
            fpos = np.full(space, n, np.int64)
            np.minimum.at(fpos, pair, np.arange(n))
            pu = np.flatnonzero(fpos < n)
            pu = pu[np.argsort(fpos[pu], kind="stable")]
            sums = sums[pu].tolist()
        else:
            pc, pu = pd.factorize(pair)
            sums = np.bincount(pc, weights=durz, minlength=len(pu)).tolist()
            pu = np.asarray(pu, np.int64)
        names = E.kernel_names
        for s_j, k_j, v in zip((pu // nk).tolist(), (pu % nk).tolist(), sums):
            kern = states[s_j].kernels
            name = names[k_j]
            kern[name] = kern.get(name, 0.0) + v

    def _flush(self, keep: Optional[int] = None) -> None:
        """Samples of the pending processes of runs without regions, but `keep` (its launches may go on
        in the next chunk): split at their period by analysis.samples, as build_samples does."""
        if not self.pending:
            return
        parts = {c: np.concatenate([p[c] for p in self.pending]) for c in self.pending[0]}
        self.pending = []
        self.pending_only = None
        if keep is not None:
            held = parts["pid"] == keep
            if held.all():
                self.pending, self.pending_only = [parts], keep
                return
            if held.any():
                self.pending, self.pending_only = [{c: v[held] for c, v in parts.items()}], keep
                parts = {c: v[~held] for c, v in parts.items()}
        pids = np.unique(parts["pid"])
        D = self.D[np.isin(self.d_pid, pids)]
        frame = pd.DataFrame({"dispatch_id": parts["dispatch_id"], "seq": parts["seq"],
                              "start_ns": parts["start_ns"], "end_ns": parts["end_ns"],
                              "duration_ns": parts["duration_ns"]})
        del parts
        K = LaunchCodes(frame, D)
        sel, sizes, cols, (_, n_periodic, n_single) = _assign(K, frame, regions_frame(None), set())
        _aggregate(K, sel, sizes, cols)
        self.n_periodic += n_periodic
        self.n_single += n_single
        names = list(_ROW_COLUMNS) + list(_SAMPLE_COLUMNS)
        for values in zip(*(cols[c] for c in names)):
            row = dict(zip(names, values))
            self.rows.append(((int(row["run_id"]), 1, int(row["process_id"]), int(row["repeat"])), row))

    def _signature(self, codes: np.ndarray, cache: dict):
        E = self.E
        b = codes.tobytes()
        hit = cache.get(b)
        if hit is not None:
            return hit
        text_codes = E.sig_text.astype(self.code_type if E.sig_text.max(initial=0) < np.iinfo(self.code_type).max
                                       else np.int64)[codes]
        text = _codes_text(text_codes, E.texts)
        n = len(codes)
        p = _period(codes) if n > LONG_SIGNATURE else n
        if p < n:
            sig = RepeatedSignature(E.sig_entries[codes[:p]].tolist(), n // p)
        else:
            sig = tuple(E.sig_entries[codes].tolist())
        hit = cache[b] = (sig, _text_hash(text), text)
        return hit

    def columns(self) -> Tuple[dict, tuple]:
        """(the per-sample columns in build_samples' order, its counts) once every chunk was added."""
        self._flush()
        cache: dict = {}
        for rid, s in self.regions.items():
            codes = np.concatenate(s.codes) if len(s.codes) != 1 else s.codes[0]
            s.codes = []
            sig, h, text = self._signature(codes, cache)
            del codes
            i = self.reg_pos.get(rid)
            ok = s.n == s.timed
            row = {"run_id": s.run_id, "process_id": s.process_id, "region_id": rid, "repeat": 0,
                   "region": None if i is None else str(self.reg_names[i]),
                   "_tags": _parse_tags(None if i is None else self.reg_tags[i]),
                   "latency_ns": s.lat if ok else np.nan, "span_ns": (s.emax - s.smin) if ok else np.nan,
                   "n_launches": s.n, "n_untimed": s.n - s.timed, "signature": sig, "kernel_ns": s.kernels,
                   "signature_hash": h, "signature_text": text, "cold": s.cold}
            self.rows.append(((s.run_id, 0, rid, 0), row))
        self.regions = {}
        self.rows.sort(key=lambda r: r[0])
        names = list(_ROW_COLUMNS) + list(_SAMPLE_COLUMNS)
        cols = {c: [r[c] for _, r in self.rows] for c in names} if self.rows else {c: [] for c in _ROW_COLUMNS}
        self.rows = []
        return cols, (self.n_outside, self.n_periodic, self.n_single)


# -- the whole report's reading ------------------------------------------------------------------------------
class Gathered:
    """What gather() needs from the launches: run headers' totals, kernel tables, samples' columns."""

    def __init__(self, keys, totals, kernels, kernels_all, n_launches, sample_cols, sample_counts):
        self.keys, self.totals, self.kernels, self.kernels_all = keys, totals, kernels, kernels_all
        self.n_launches, self.sample_cols, self.sample_counts = n_launches, sample_cols, sample_counts


def read_launches(trace, run: Optional[int], staircase: bool, all_runs_table: bool,
                  chunk: int = CHUNK) -> Gathered:
    """One pass over the launches of the trace (or of one run) in chunks of `chunk` launches."""
    rid = None if run is None else int(run)
    where = ("run_id = ?", (rid,)) if rid is not None else ()
    D = trace.query("dispatches", ["dispatch_id"] + list(dict.fromkeys(GROUP_KEY_COLUMNS + list(DISPATCH_COLUMNS))),
                    *where)
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(D[GROUP_KEY_COLUMNS].astype(object)), sort=False)
    keys = uniq.to_frame(index=False, name=GROUP_KEY_COLUMNS)
    for c in GROUP_KEY_COLUMNS:
        keys[c] = keys[c].astype("string" if c == "kernel_name" else "Int64")
    dcode = np.asarray(codes, np.int32)
    d_ids = D["dispatch_id"].to_numpy(np.int64)
    m = len(keys)
    labels, lcode = _label_groups(keys, True) if m else (None, None)
    per_run = LabelStats(lcode, len(labels)) if m else None
    labels_all, lcode_all = _label_groups(keys, False) if m and all_runs_table else (None, None)
    over_all = LabelStats(lcode_all, len(labels_all)) if labels_all is not None else None
    durations = DurationCounts()
    stream = SampleStream(D[["dispatch_id"] + list(DISPATCH_COLUMNS)], trace.regions) \
        if staircase and len(D) else None
    columns = layout.STAIRCASE_ROW_COLUMNS if staircase else layout.GROUP_ROW_COLUMNS
    totals = None
    n_launches = 0
    for part in chunk_ranges(trace.launch_ranges(rid), chunk):
        rows = trace.launch_arrays_in(columns, part)
        n = len(rows["dispatch_id"][0])
        if not n:
            continue
        n_launches += n
        try:
            idx = layout.dispatch_index(d_ids, rows["dispatch_id"][0])
        except ValueError as e:
            raise DamagedTrace(trace.path, "launches", e) from None
        group = dcode[idx] if len(D) else np.zeros(n, np.int32)
        (q, q_null), (sub, s_null), (st, st_null), (dur, d_null) = (rows[c] for c in layout.GROUP_ROW_COLUMNS[1:])
        start = q + sub + st
        timed = ~d_null
        totals = merge_group_totals(totals, group_totals(m, group, dur, timed, start, ~q_null, start + dur, timed))
        duration = dur.astype(float)
        duration[d_null] = np.nan
        dur_ms = duration / 1e6
        per_run.add(group, dur_ms)
        if over_all is not None:
            over_all.add(group, dur_ms)
        del dur_ms
        durations.add(group if timed.all() else group[timed], dur if timed.all() else dur[timed])
        if stream is not None:
            fstart = start.astype(float)              # as layout.staircase_frame: NULL if any part is
            fstart[q_null | s_null | st_null] = np.nan
            stream.add(rows, idx, fstart, fstart + duration, duration)
            del fstart
        del rows, group, idx, start, duration
    if totals is None:
        totals = group_totals(m, *(np.zeros(0, t) for t in (np.int32, np.int64, bool, np.int64, bool,
                                                                   np.int64, bool)))
    if n_launches:
        kernels = kernel_table_from_stats(keys, labels, lcode, per_run.stats(totals, durations), True)
        kernels_all = kernel_table_from_stats(keys, labels_all, lcode_all, over_all.stats(totals, durations),
                                                 False) \
            if over_all is not None else None
    else:
        none = np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, bool)
        kernels = kernel_table_grouped(keys, *none)
        kernels_all = kernel_table_grouped(keys, *none, per_run=False) if all_runs_table else None
    cols, counts = stream.columns() if stream is not None else ({c: [] for c in _ROW_COLUMNS}, (0, 0, 0))
    return Gathered(keys, totals, kernels, kernels_all, n_launches, cols, counts)
