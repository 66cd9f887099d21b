"""Small read queries the sweep needs while it runs (the Trace API serves bulk reads)."""
import sqlite3
from collections import Counter
from typing import Optional, Sequence


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
