"""Read a trace database as pandas DataFrames: `cltrace.open("trace.db").launches`.

Tables are read lazily, once, with explicit columns and dtypes (nullable Int64
where SQL may hold NULL, categories for repetitive text), in batches so that a
trace of ten million launches never holds all its rows as Python tuples.
"""
import os
import sqlite3
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

from .errors import DamagedTrace, NoSuchRun
from .store import launch_layout as layout
from .store.db import open_db

_I = "Int64"      # nullable integer
_F = "Float64"
_S = "string"
_C = "category"

SCHEMA_DTYPES: Dict[str, Dict[str, str]] = {
    "runs": {"run_id": "int64", "command": _S, "argv": _S, "cwd": _S, "host": _S, "mode": _S, "started_at": _S,
             "ended_at": _S, "wall_s": _F, "exit_status": _I, "signal": _I, "status": _S, "env": _S,
             "cltrace_version": _S, "sweep_index": _I, "repeat_index": _I, "sweep_id": _I},
    "sweeps": {"sweep_id": "int64", "command": _S, "argv": _S, "plan": _S, "runs_planned": "int64", "repeat": "int64",
               "run_order": _S, "seed": "int64", "tags": _S, "mode": _S, "settings": _S, "stabilise": "int64",
               "stabilisers": _S, "adaptive": _S, "cluster": _S, "cwd": _S, "host": _S, "started_at": _S,
               "ended_at": _S, "status": _S, "cltrace_version": _S},
    "run_tags": {"run_id": "int64", "key": _S, "value": _S},
    "processes": {"process_id": "int64", "run_id": "int64", "pid": "int64", "ppid": _I, "argv": _S,
                  "start_ns": _I, "mode": _S, "capture_file": _S, "records": _I, "truncated_bytes": _I,
                  "launches": _I, "untimed_launches": _I, "clean_exit": _I, "first_launch_id": _I,
                  "last_launch_id": _I},
    "devices": {"device_id": "int64", "run_id": "int64", "process_id": "int64", "handle": "int64",
                "platform_name": _S, "name": _S, "vendor": _S, "driver_version": _S, "device_type": _I,
                "compute_units": _I, "max_clock_mhz": _I, "max_work_group_size": _I, "global_mem_bytes": _I,
                "opencl_version": _S, "opencl_c_version": _S, "non_uniform_wg": _I, "extensions": _S},
    "queues": {"queue_id": "int64", "run_id": "int64", "process_id": "int64", "handle": "int64",
               "device_id": _I, "app_properties": _I, "used_properties": _I, "created_ns": _I, "error": _I},
    "programs": {"program_id": "int64", "run_id": "int64", "process_id": "int64", "handle": "int64", "kind": _S,
                 "options": _S, "start_ns": _I, "end_ns": _I, "build_ms": _F, "error": _I, "seq": _I},
    "kernels": {"kernel_id": "int64", "run_id": "int64", "process_id": "int64", "handle": "int64",
                "program_handle": _I, "name": _S, "attributes": _S, "work_group_size": _I,
                "preferred_multiple": _I, "num_args": _I, "seq": _I},
    "regions": {"region_id": "int64", "run_id": "int64", "process_id": "int64", "tid": _I, "name": _S,
                "tags": _S, "begin_ns": _I, "end_ns": _I, "begin_seq": _I, "end_seq": _I},
    "launches": {"launch_id": "int64", "run_id": "int64", "process_id": "int64", "seq": "int64", "tid": _I,
                 "queue_id": _I, "device_id": _I, "kernel_id": _I, "kernel_name": _C, "api": _C,
                 "work_dim": _I, "offset0": _I, "offset1": _I, "offset2": _I, "global0": _I, "global1": _I,
                 "global2": _I, "local0": _I, "local1": _I, "local2": _I, "driver_local": "int64",
                 "work_groups": _I, "arg_bytes": _I, "host_enqueue_ns": _I, "host_return_ns": _I,
                 "queued_ns": _I, "submit_ns": _I, "start_ns": _I, "end_ns": _I, "duration_ns": _I, "error": _I,
                 "own_event": _I, "times_status": _C, "region_id": _I},
    "notes": {"run_id": "int64", "process_id": _I, "kind": _S, "value": _I, "message": _S},
    "dispatches": {"dispatch_id": "int64", "run_id": "int64", "process_id": "int64", "queue_id": _I,
                   "device_id": _I, "kernel_id": _I, "kernel_name": _C, "api": _C, "work_dim": _I, "offset0": _I,
                   "offset1": _I, "offset2": _I, "global0": _I, "global1": _I, "global2": _I, "local0": _I,
                   "local1": _I, "local2": _I, "driver_local": "int64", "work_groups": _I, "arg_bytes": _I,
                   "error": _I, "own_event": _I},
    "launch_rows": {"launch_id": "int64", "process_id": "int64", "dispatch_id": "int64", "seq": "int64",
                    "tid": _I, "region_id": _I, "status": "int64", "enqueue_ns": _I, "return_dns": _I,
                    "queued_ns": _I, "submit_dns": _I, "start_dns": _I, "end_dns": _I},
}
_KEYS = {"runs": "run_id", "processes": "process_id", "devices": "device_id", "queues": "queue_id",
         "programs": "program_id", "kernels": "kernel_id", "regions": "region_id", "launches": "launch_id",
         "run_tags": "run_id, key", "notes": "rowid", "dispatches": "dispatch_id", "launch_rows": "launch_id",
         "sweeps": "sweep_id"}
_CHUNK = 500_000


class Trace:
    """A cltrace trace database, read-only. Properties are DataFrames, loaded on first use."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.db = open_db(self.path)
        self._cache = {}

    # -- reading -----------------------------------------------------------------
    def query(self, table: str, columns: Optional[Sequence[str]] = None, where: str = "",
              params: Sequence = ()) -> pd.DataFrame:
        """Rows of one table with typed columns; `where` is an SQL condition with ? parameters."""
        dtypes = SCHEMA_DTYPES[table]
        columns = list(columns or dtypes)
        unknown = [c for c in columns if c not in dtypes]
        if unknown:
            raise KeyError(f"{table} has no column(s) {', '.join(unknown)}")
        if table == "launches" and where in ("", "run_id = ?"):
            return self._launches(columns, None if not where else int(params[0]))
        sql = f"SELECT {', '.join(columns)} FROM {table}"
        if where:
            sql += f" WHERE {where}"
        sql += f" ORDER BY {_KEYS[table]}"
        if _F not in (dtypes[c] for c in columns):
            df = self._query_native(table, sql, columns, dtypes, where, params)
            if df is not None:
                return df
        parts = []
        try:
            cur = self.db.execute(sql, tuple(params))
            while True:
                rows = cur.fetchmany(_CHUNK)
                if not rows:
                    break
                parts.append(_typed(pd.DataFrame.from_records(rows, columns=columns), columns, dtypes))
        except (sqlite3.DatabaseError, ValueError, TypeError, OverflowError) as e:
            # what cltrace wrote always converts: anything else is damage, not a bug to show as a traceback
            raise DamagedTrace(self.path, table, e) from None
        if not parts:
            return _typed(pd.DataFrame({c: [] for c in columns}), columns, dtypes)
        if len(parts) == 1:
            return parts[0]
        df = pd.concat(parts, ignore_index=True)
        for c in columns:
            if dtypes[c] == _C:
                df[c] = df[c].astype(_C)
        return df

    def _launches(self, columns, run_id):
        """launches-view columns rebuilt from launch_rows + dispatches (no per-row join in SQL)."""
        row_cols, disp_cols = layout.split_columns(columns)
        dwhere, dparams = ("run_id = ?", (run_id,)) if run_id is not None else ("", ())
        rows = self._launch_rows_frame(row_cols, run_id)
        dispatches = self.query("dispatches", disp_cols, dwhere, dparams)
        try:
            return layout.assemble(rows, dispatches, columns)
        except ValueError as e:
            raise DamagedTrace(self.path, "launches", e) from None

    def _launch_rows_frame(self, columns, run_id) -> pd.DataFrame:
        """launch_rows columns as a typed DataFrame over launch_arrays' numpy arrays (no copies)."""
        arrays = self.launch_arrays(columns, run_id)
        dtypes = SCHEMA_DTYPES["launch_rows"]
        out = {}
        for c in columns:
            v, null = arrays[c]
            if dtypes[c] == _I:
                out[c] = pd.arrays.IntegerArray(v, null)
            elif null.any():
                raise DamagedTrace(self.path, "launch_rows", ValueError(f"NULL in the NOT NULL column {c}"))
            else:
                out[c] = v
        return pd.DataFrame(out, columns=list(columns), copy=False)

    def _row_bound(self, table, where="", params=()):
        """An upper bound on the rows of `table` (matching `where`) from its rowid range: O(log n)."""
        # two subqueries: SQLite answers a lone MIN() or MAX() from the b-tree's ends, both at once by a scan
        lo, hi = self.db.execute(f"SELECT (SELECT MIN(rowid) FROM {table}), (SELECT MAX(rowid) FROM {table})"
                                 ).fetchone()
        return 0 if lo is None else int(hi) - int(lo) + 1

    def _query_native(self, table, sql, columns, dtypes, where, params):
        """query() through the native column scan (numpy arrays, no Python tuples); None: use fetchmany."""
        from .store import fast
        if not fast.available(self.db) or any(not isinstance(p, int) for p in params):
            return None
        kinds = "".join("t" if dtypes[c] in (_S, _C) else "i" for c in columns)
        try:
            res = fast.scan(self.db, sql, kinds, columns, self._row_bound(table), params)
        except (sqlite3.DatabaseError, RuntimeError):
            return None  # damaged or unexpected: the fetchmany path says what is wrong
        out = {}
        for c in columns:
            dt = dtypes[c]
            if c in res.ints:
                v, null = res.ints[c]
                if dt == _I:
                    out[c] = pd.arrays.IntegerArray(v, null.copy())
                elif null.any():
                    return None
                else:
                    out[c] = v.astype(dt, copy=False)
            else:
                codes, strings = res.texts[c]
                if dt == _C:
                    cat = pd.Categorical.from_codes(codes, categories=pd.Index(strings, dtype=object)) \
                        if len(set(strings)) == len(strings) else pd.Categorical(
                            np.array(strings + [None], dtype=object)[np.where(codes < 0, len(strings), codes)])
                    cat = cat.remove_unused_categories()
                    out[c] = cat.reorder_categories(sorted(cat.categories))
                else:
                    out[c] = pd.array(np.array(strings + [None], dtype=object)[np.where(codes < 0, len(strings),
                                                                                      codes)], dtype=_S)
        return pd.DataFrame(out, columns=columns)

    def launch_arrays(self, columns: Sequence[str], run_id: Optional[int] = None) -> Dict[str, tuple]:
        """launch_rows columns (of one run, or all) in launch_id order, as {name: (int64 values with 0 for
        NULL, NULL mask)}: numpy only, read once and shared by launch_groups and staircase_launches. Big
        reads are split over the CPUs (store.fast.collect_ranges)."""
        return self.launch_arrays_in(columns, self.launch_ranges(run_id))

    def launch_ranges(self, run_id: Optional[int] = None):
        """The launch_id ranges (inclusive, ascending) of the launches of one run, or of all."""
        if run_id is None:
            lo, hi = self.db.execute("SELECT (SELECT MIN(rowid) FROM launch_rows), "
                                     "(SELECT MAX(rowid) FROM launch_rows)").fetchone()
            return [] if lo is None else [(int(lo), int(hi))]
        return layout.run_ranges(self.db, int(run_id))

    def launch_arrays_in(self, columns: Sequence[str], ranges) -> Dict[str, tuple]:
        """launch_arrays() of the launches whose launch_id lies in `ranges` (launch_ranges() or a part of
        them: report/launch_stream.py reads a big trace in such parts)."""
        from .store import fast
        if fast.available(self.db):
            try:
                try:
                    return fast.collect_ranges(self.db, self.path, "launch_rows", list(columns), ranges)
                except fast.Unordered:
                    pass
            except (sqlite3.DatabaseError, RuntimeError) as e:
                raise DamagedTrace(self.path, "launch_rows", e) from None
        where, params = layout.ranges_where(ranges)
        return self._int_columns("launch_rows", list(columns), where, params)

    def launch_groups(self, run_id: Optional[int] = None, rows: Optional[Dict[str, tuple]] = None):
        """Launches reduced for summaries, without a per-launch DataFrame: (keys, group, duration_ns, timed,
        start_ns, start_ok, end_ns, end_ok). keys has one row per distinct (run, kernel name, sizes) in order
        of first launch (kernel_stats.GROUP_KEY_COLUMNS); group is each launch's row in keys (int32).
        `rows`: launch_arrays(...) of this run with at least layout.GROUP_ROW_COLUMNS, when already read."""
        from .analysis.kernel_stats import GROUP_KEY_COLUMNS
        run = None if run_id is None else int(run_id)
        D = self.query("dispatches", ["dispatch_id"] + GROUP_KEY_COLUMNS,
                       *(("run_id = ?", (run,)) if run is not None else ()))
        # dispatches are numbered in order of first launch, so grouping them in order keeps that order
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(D[GROUP_KEY_COLUMNS].astype(object)), sort=False)
        keys = uniq.to_frame(index=False, name=GROUP_KEY_COLUMNS)
        for c in GROUP_KEY_COLUMNS:
            keys[c] = keys[c].astype(_S if c == "kernel_name" else _I)
        if rows is None:
            rows = self.launch_arrays(layout.GROUP_ROW_COLUMNS, run)
        try:
            idx = layout.dispatch_index(D["dispatch_id"].to_numpy(np.int64), rows["dispatch_id"][0])
        except ValueError as e:
            raise DamagedTrace(self.path, "launches", e) from None
        group = np.asarray(codes, np.int32)[idx] if len(D) else np.zeros(len(idx), np.int32)
        (q, q_null), (sub, _), (st, _), (dur, d_null) = (rows[c] for c in layout.GROUP_ROW_COLUMNS[1:])
        start = q + sub + st
        return keys, group, dur, ~d_null, start, ~q_null, start + dur, ~d_null

    def staircase_launches(self, run_id: Optional[int] = None, rows: Optional[Dict[str, tuple]] = None):
        """(launches, dispatches) for analysis.samples.build_samples(..., dispatches=dispatches): a narrow
        per-launch frame (layout.staircase_frame: dispatch_id, order, region_id, times) over numpy arrays, and
        the run's dispatches. `rows`: launch_arrays(...) with at least layout.STAIRCASE_ROW_COLUMNS."""
        from .analysis.launch_codes import DISPATCH_COLUMNS
        run = None if run_id is None else int(run_id)
        if rows is None:
            rows = self.launch_arrays(layout.STAIRCASE_ROW_COLUMNS, run)
        D = self.query("dispatches", ["dispatch_id"] + list(DISPATCH_COLUMNS),
                       *(("run_id = ?", (run,)) if run is not None else ()))
        return layout.staircase_frame(rows), D

    def samples(self, run_id: Optional[int] = None, rows: Optional[Dict[str, tuple]] = None) -> pd.DataFrame:
        """The staircase samples (analysis.samples.build_samples) of the trace or of one run, built from the
        store's layout without a full launches frame. `rows`: as for staircase_launches."""
        from .analysis.samples import build_samples
        runs = self.runs if run_id is None else self.runs[self.runs["run_id"] == int(run_id)]
        launches, dispatches = self.staircase_launches(run_id, rows)
        try:
            return build_samples(launches, runs, self.params, self.regions, dispatches=dispatches)
        except ValueError as e:     # a launch without its dispatch: damage, not a bug
            raise DamagedTrace(self.path, "launches", e) from None

    def _int_columns(self, table, columns, where="", params=()) -> Dict[str, tuple]:
        """Integer columns as {name: (int64 values with 0 for NULL, NULL mask)}: numpy only, no DataFrame."""
        from .store import fast
        sql = f"SELECT {', '.join(columns)} FROM {table}" + (f" WHERE {where}" if where else "") + \
            f" ORDER BY {_KEYS[table]}"
        if fast.available(self.db):
            try:
                try:
                    return fast.collect(self.db, table, columns, where, params, self._row_bound(table))
                except fast.Unordered:
                    res = fast.scan(self.db, sql, "i" * len(columns), columns, self._row_bound(table), params)
            except (sqlite3.DatabaseError, RuntimeError) as e:
                raise DamagedTrace(self.path, table, e) from None
            return res.ints  # NULL reads as 0 there
        df = self.query(table, columns, where, params)
        return {c: (df[c].to_numpy(np.int64, na_value=0), df[c].isna().to_numpy()) for c in columns}

    def _table(self, table):
        if table not in self._cache:
            self._cache[table] = self.query(table)
        return self._cache[table]

    @property
    def runs(self) -> pd.DataFrame:
        return self._table("runs")

    @property
    def sweeps(self) -> pd.DataFrame:
        """One row per `cltrace sweep` with its stored plan (schema 4; empty for sweeps older than that)."""
        return self._table("sweeps")

    @property
    def run_tags(self) -> pd.DataFrame:
        """Long form: one row per (run_id, key, value)."""
        return self._table("run_tags")

    @property
    def params(self) -> pd.DataFrame:
        """Wide form of the run tags: index run_id, one column per tag key. A column whose values are all
        whole numbers is Int64, all numbers Float64 (so channel counts sort as numbers), else text."""
        if "params" not in self._cache:
            tags = self.run_tags
            wide = tags.pivot(index="run_id", columns="key", values="value") if len(tags) else \
                pd.DataFrame(index=pd.Index([], name="run_id", dtype="int64"))
            wide = wide.reindex(self.runs["run_id"].to_numpy())
            wide.index.name, wide.columns.name = "run_id", None
            self._cache["params"] = wide.apply(_numeric_if_all) if len(wide.columns) else wide
        return self._cache["params"]

    @property
    def processes(self) -> pd.DataFrame:
        return self._table("processes")

    @property
    def devices(self) -> pd.DataFrame:
        return self._table("devices")

    @property
    def queues(self) -> pd.DataFrame:
        return self._table("queues")

    @property
    def programs(self) -> pd.DataFrame:
        return self._table("programs")

    @property
    def kernels(self) -> pd.DataFrame:
        return self._table("kernels")

    @property
    def launches(self) -> pd.DataFrame:
        return self._table("launches")

    @property
    def dispatches(self) -> pd.DataFrame:
        """One row per distinct way a process enqueued a kernel (kernel, queue, sizes, flags)."""
        return self._table("dispatches")

    @property
    def regions(self) -> pd.DataFrame:
        return self._table("regions")

    @property
    def notes(self) -> pd.DataFrame:
        return self._table("notes")

    def kernel_build_options(self, run: Optional[int] = None) -> pd.DataFrame:
        """Per kernel object (of one run, or all), the options of the last successful build, compile or link of
        its program before the kernel was created: columns run_id, process_id, kernel_id, kernel_name,
        program_kind, options. See store.queries.kernel_build_options for what a linked program gives."""
        from .store.queries import kernel_build_options
        if run is not None and self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (int(run),)).fetchone() is None:
            raise NoSuchRun(self.path, run)
        try:
            return kernel_build_options(self.db, run)
        except (sqlite3.DatabaseError, ValueError, TypeError) as e:
            raise DamagedTrace(self.path, "programs", e) from None

    @property
    def meta(self) -> Dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def launches_for(self, run_id: int, columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """The launches of one run (optionally only some columns), without loading the others."""
        if self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (int(run_id),)).fetchone() is None:
            raise NoSuchRun(self.path, run_id)
        if "launches" in self._cache and columns is None:
            df = self._cache["launches"]
            return df[df["run_id"] == run_id].reset_index(drop=True)
        return self.query("launches", columns, "run_id = ?", (int(run_id),))

    def compute_units(self, run_id: Optional[int] = None) -> Optional[int]:
        """CL_DEVICE_MAX_COMPUTE_UNITS of the devices that ran launches (of one run, or all), when they all
        report the same number; None when they differ, when a launch's device is unknown or did not report
        it (0), or when nothing was launched."""
        sql = ("SELECT DISTINCT d.device_id IS NULL, v.compute_units FROM dispatches d "
               "LEFT JOIN devices v ON v.device_id = d.device_id")
        rows = self.db.execute(sql + (" WHERE d.run_id = ?" if run_id is not None else ""),
                               () if run_id is None else (int(run_id),)).fetchall()
        values = {cu for _, cu in rows}
        if len(values) != 1 or any(unknown for unknown, _ in rows):
            return None
        cu = values.pop()
        return int(cu) if cu else None

    def compute_units_by_run(self) -> Dict[int, Optional[int]]:
        """compute_units() of every run that launched something, in one query: a sweep whose runs ran on
        different devices (or with PoCL limited to fewer threads) gets each run's own value."""
        rows = self.db.execute(
            "SELECT d.run_id, MAX(d.device_id IS NULL OR v.compute_units IS NULL OR v.compute_units = 0), "
            "MIN(v.compute_units), MAX(v.compute_units) FROM dispatches d "
            "LEFT JOIN devices v ON v.device_id = d.device_id GROUP BY d.run_id").fetchall()
        return {int(run): (int(lo) if not unknown and lo == hi else None) for run, unknown, lo, hi in rows}

    # -- lifetime -------------------------------------------------------------------
    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<cltrace.Trace {self.path!r}>"


def _numeric_if_all(col: pd.Series) -> pd.Series:
    """A tag column as Int64/Float64 where every value is a number, by analysis/values.py's rule."""
    from .analysis.values import typed_column
    return typed_column(col, nullable=True)


def _typed(df, columns, dtypes):
    out = {}
    for c in columns:
        dt = dtypes[c]
        s = df[c]
        if dt in (_I, _F):
            out[c] = pd.array(s.to_numpy(dtype=object, na_value=None) if s.dtype == object else s, dtype=dt)
        elif dt == _S:
            out[c] = s.astype(_S)
        elif dt == _C:
            out[c] = s.astype(_C)
        else:
            out[c] = s.astype(dt)
    return pd.DataFrame(out, columns=columns)


def open(path) -> Trace:  # noqa: A001  (cltrace.open mirrors the builtin on purpose)
    """Open a trace database written by `cltrace run` / `cltrace sweep`."""
    return Trace(path)
