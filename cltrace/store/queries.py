"""Small read queries the sweep needs while it runs (the Trace API serves bulk reads)."""
import sqlite3
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple


def completed_configs(conn: sqlite3.Connection, names: Sequence[str]) -> Counter:
    """How many successful runs each configuration (tuple of values of `names`) already has."""
    rows = conn.execute(
        "SELECT r.run_id, t.key, t.value FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
        "WHERE r.status = 'ok'").fetchall()
    per_run = {}
    for run_id, key, value in rows:
        per_run.setdefault(run_id, {})[key] = value
    done = Counter()
    for tags in per_run.values():
        if all(n in tags for n in names):
            done[tuple(tags[n] for n in names)] += 1
    return done


def run_latency_ms(conn: sqlite3.Connection, run_id: int) -> Optional[float]:
    """Median per-region device time of a run, or its total device time when it has no regions."""
    rows = conn.execute(
        "SELECT region_id, SUM(duration_ns) FROM launches WHERE run_id = ? AND duration_ns IS NOT NULL "
        "GROUP BY region_id", (run_id,)).fetchall()
    if not rows:
        return None
    in_regions = sorted(v for rid, v in rows if rid is not None)
    if in_regions:
        return in_regions[len(in_regions) // 2] / 1e6
    return sum(v for _, v in rows) / 1e6


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


def next_sweep_index(conn: sqlite3.Connection) -> int:
    """One past the highest runs.sweep_index of the trace (0 when there is none)."""
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
