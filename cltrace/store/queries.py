"""Small read queries: those the sweep needs while it runs, and facts the analysis joins (the Trace API serves
bulk reads)."""
import sqlite3
from typing import Dict, List, Optional, Sequence, Tuple


def completed_configs(conn: sqlite3.Connection, names: Sequence[str]) -> Dict[tuple, List[int]]:
    """The successful runs (run ids, in run order) of each configuration (tuple of values of `names`) that
    belong to no stored sweep (runs.sweep_id NULL: a trace older than schema 4)."""
    rows = conn.execute(
        "SELECT r.run_id, t.key, t.value FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
        "WHERE r.status = 'ok' AND r.sweep_id IS NULL ORDER BY r.run_id").fetchall()
    per_run: dict = {}
    for run_id, key, value in rows:
        per_run.setdefault(run_id, {})[key] = value
    done: Dict[tuple, List[int]] = {}
    for run_id, tags in per_run.items():
        if all(n in tags for n in names):
            done.setdefault(tuple(tags[n] for n in names), []).append(run_id)
    return _Missing(done)


class _Missing(dict):
    def __missing__(self, key):
        return []


def run_latency_ms(conn: sqlite3.Connection, run_id: int) -> Optional[float]:
    """Median per-region device time of a run, or its total device time when it has no regions (None: no timed
    launch). Reads the run's own launch_rows only (its processes' launch_id ranges): the `launches` view
    filtered on run_id scans every launch of the trace. A run just ingested has it without any query:
    store.ingest.IngestStats.latency_ms()."""
    from .launch_layout import ranges_where, run_ranges
    where, params = ranges_where(run_ranges(conn, run_id))
    rows = conn.execute(f"SELECT region_id, SUM(end_dns) FROM launch_rows WHERE ({where}) AND end_dns IS NOT NULL "
                        "GROUP BY region_id", params).fetchall()
    return latency_from_sums(dict(rows))


def latency_from_sums(sums: Dict[Optional[int], int]) -> Optional[float]:
    """run_latency_ms's rule over {region_id, or None outside every region: summed device ns of the run's timed
    launches there}: the median (the upper one of an even count) over the regions, else the total; None when
    empty."""
    if not sums:
        return None
    in_regions = sorted(v for rid, v in sums.items() if rid is not None)
    if in_regions:
        return in_regions[len(in_regions) // 2] / 1e6
    return sum(sums.values()) / 1e6


def add_note(conn: sqlite3.Connection, run_id: int, kind: str, message: str,
             value: Optional[int] = None) -> None:
    conn.execute("INSERT INTO notes (run_id, process_id, kind, value, message) VALUES (?, NULL, ?, ?, ?)",
                 (run_id, kind, value, message))


def runs_by_config(conn: sqlite3.Connection, names: Sequence[str]) -> Dict[tuple, List[Tuple[int, str]]]:
    """(run_id, status) of every run, in run order, per configuration (tuple of the values of `names`);
    runs without a tag for each of `names` are left out."""
    rows = conn.execute("SELECT t.run_id, t.key, t.value, r.status FROM run_tags t JOIN runs r ON r.run_id = t.run_id "
                        "ORDER BY t.run_id").fetchall()
    per_run: Dict[int, dict] = {}
    status: Dict[int, str] = {}
    for run_id, key, value, st in rows:
        per_run.setdefault(run_id, {})[key] = value
        status[run_id] = st
    out: Dict[tuple, List[Tuple[int, str]]] = {}
    for run_id, tags in per_run.items():
        if all(n in tags for n in names):
            out.setdefault(tuple(tags[n] for n in names), []).append((run_id, status[run_id]))
    return out


def next_sweep_index(conn: sqlite3.Connection, sweep_id: Optional[int] = None) -> int:
    """One past the highest runs.sweep_index of the sweep (of the trace, without one; 0 when there is none)."""
    if sweep_id is not None:           # past the plan (an adaptive run never takes a planned position)
        top, planned = conn.execute("SELECT (SELECT MAX(sweep_index) FROM runs WHERE sweep_id = ?), runs_planned "
                                    "FROM sweeps WHERE sweep_id = ?", (sweep_id, sweep_id)).fetchone()
        return max(-1 if top is None else int(top), int(planned) - 1) + 1
    top = conn.execute("SELECT MAX(sweep_index) FROM runs").fetchone()[0]
    return 0 if top is None else int(top) + 1


def last_note_value(conn: sqlite3.Connection, kind: str) -> int:
    """The highest notes.value of one kind (0 when there is none): e.g. the last adaptive round."""
    top = conn.execute("SELECT MAX(value) FROM notes WHERE kind = ?", (kind,)).fetchone()[0]
    return 0 if top is None else int(top)


def provenance_notes(conn: sqlite3.Connection, run_id: Optional[int] = None) -> List[Tuple[int, str]]:
    """(run_id, JSON text) of the `provenance` notes `cltrace sweep` writes, one per run, in run order."""
    where, args = ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())
    return conn.execute(f"SELECT run_id, message FROM notes WHERE kind = 'provenance' {where} "
                        f"ORDER BY run_id, rowid", args).fetchall()


# The build events a kernel's options come from, and the events that make a (new) program behind a handle.
_BUILDS = "('build', 'compile', 'link')"
_MAKES = "('create', 'link')"
KERNEL_BUILD_OPTIONS_COLUMNS = ("run_id", "process_id", "kernel_id", "kernel_name", "program_kind", "options")


def kernel_build_options(conn: sqlite3.Connection, run: Optional[int] = None):
    """Per kernel object (`kernels` row; of one run, or all), the options its program was built with, as a
    DataFrame with columns run_id, process_id, kernel_id, kernel_name, program_kind, options, in kernel_id order.

    The options are those of the last `programs` event of kind build, compile or link with error 0, of the same
    process and handle as the kernel's program (`kernels.program_handle`), recorded before the kernel and not
    before the latest event that made a program behind that handle (`create` or `link`): a handle a driver
    reused for a later program does not lend it the options of the earlier one. program_kind says which kind of
    event it was. "Successful" is the call's return code: an asynchronous build (with a callback) that fails
    later still counts.

    A program made by `clLinkProgram` gives the options of the link (e.g. `-cl-uniform-work-group-size` may be
    given there); the options its input programs were compiled with (`-cl-std=CL2.0`, `-D...`) belong to
    those programs' handles, and the trace does not record which programs a link took, so they are not
    attached. A kernel whose program has no such event (never built through the shim, a built-in-kernel
    program, the program query failed) gets program_kind and options NULL. A kernel name may have several rows
    (one per kernel object), possibly with different options.

    Traces upgraded from schema 1 or 2 have no record order (`seq` NULL): the last successful event of the
    handle in the process is taken, which is wrong only where the driver reused a program handle.
    """
    import pandas as pd
    where, args = ("WHERE k.run_id = ?", (int(run),)) if run is not None else ("", ())
    made = (f"SELECT MAX(c.seq) FROM programs c WHERE c.process_id = k.process_id AND c.handle = k.program_handle"
            f" AND c.kind IN {_MAKES} AND c.seq < k.seq")
    rows = conn.execute(
        "SELECT k.run_id, k.process_id, k.kernel_id, k.name, p.kind, p.options FROM kernels k "
        "LEFT JOIN programs p ON p.program_id = ("
        " SELECT b.program_id FROM programs b WHERE b.process_id = k.process_id AND b.handle = k.program_handle"
        f" AND b.kind IN {_BUILDS} AND b.error = 0 AND (k.seq IS NULL OR b.seq IS NULL OR"
        f" (b.seq < k.seq AND b.seq >= COALESCE(({made}), 0)))"
        " ORDER BY b.seq DESC, b.program_id DESC LIMIT 1) "
        f"{where} ORDER BY k.kernel_id", args).fetchall()
    df = pd.DataFrame.from_records(rows, columns=list(KERNEL_BUILD_OPTIONS_COLUMNS))
    for c, dt in (("run_id", "int64"), ("process_id", "int64"), ("kernel_id", "int64"), ("kernel_name", "string"),
                  ("program_kind", "string"), ("options", "string")):
        df[c] = df[c].astype(dt)
    return df
