"""Create, open and validate trace databases; the few writes the CLI makes itself."""
import datetime
import json
import os
import sqlite3
from contextlib import contextmanager
from typing import Mapping

from .._version import __version__
from ..errors import DamagedTrace, NewerSchema, NotATrace, NotSQLite, TraceNotFound
from .connection import WriterConnection, connect, tune
from .migrate import upgrade_file
from .schema import SCHEMA_PATH, SCHEMA_VERSION

RUN_COLUMNS = ("command", "argv", "cwd", "host", "mode", "started_at", "ended_at", "wall_s", "exit_status",
               "signal", "status", "env", "cltrace_version", "sweep_index", "repeat_index", "sweep_id")
_JSON_COLUMNS = ("argv", "env")


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# 16 KiB pages: ingest of 1M launches 0.90-1.14M/s -> 1.37-1.50M/s and `cltrace report` of them 1.6-1.9 s ->
# 1.4 s here (bench/bench_ingest.py, alternated); an empty trace grows from 76 KB to 272 KB. 64 KiB pages were
# no faster and make an empty trace 1.1 MB.
PAGE_SIZE = 16384


def create_db(path) -> sqlite3.Connection:
    """A new, empty trace at `path` (schema + meta rows); returns a writable connection."""
    path = os.fspath(path)
    try:    # private (0600): a trace holds command lines and environment variables; SQLite gives its -wal
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))  # and -shm the same
    except OSError:
        pass        # it exists, or sqlite3 says what is wrong
    conn = sqlite3.connect(path, timeout=30, factory=WriterConnection)
    try:
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")     # before the first table: fixed from then on
        tune(conn)
        with open(SCHEMA_PATH) as f:
            conn.executescript(f.read())
        with conn:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("cltrace_version", __version__),
                ("created_at", _utc_now())])
    except BaseException:
        conn.close()
        raise
    return conn


def open_db(path, write=False) -> sqlite3.Connection:
    """Open an existing trace, checking that it is one this cltrace can read."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise TraceNotFound(path)
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\0":
            raise NotSQLite(path)
    try:
        conn = connect(path, write)
    except sqlite3.Error:
        raise NotSQLite(path) from None
    try:
        version = check_db(conn, path)
        if version < SCHEMA_VERSION:
            # an older trace is upgraded in place once, on a writable connection of its own
            conn.close()
            conn = None
            upgrade_file(path, version)
            conn = connect(path, write)
            check_db(conn, path, upgraded=True)
    except BaseException:
        if conn is not None:
            conn.close()
        raise
    return conn


def check_db(conn, path, upgraded=False) -> int:
    """The trace's schema version, or an error saying why this cltrace cannot read it. Versions below the
    current one are returned (open_db upgrades them), unless `upgraded` says that already happened."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        raise NotSQLite(path) from None
    if "meta" not in tables:
        raise NotATrace(path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as e:
        raise DamagedTrace(path, "meta", e) from None
    if row is None:
        raise NotATrace(path)
    try:
        version = int(row[0])
    except ValueError:
        raise NotATrace(path) from None
    if version > SCHEMA_VERSION:
        raise NewerSchema(path, version, SCHEMA_VERSION)
    if version < 1:
        raise NotATrace(path)
    if upgraded and version != SCHEMA_VERSION:
        raise DamagedTrace(path, "meta", f"schema_version is still {version} after the upgrade")
    return version


def meta(conn) -> dict:
    return dict(conn.execute("SELECT key, value FROM meta"))


@contextmanager
def transaction(conn):
    """One atomic unit: a transaction, or a savepoint inside the caller's open transaction."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT cltrace_tx")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO cltrace_tx")
            conn.execute("RELEASE cltrace_tx")
            raise
        conn.execute("RELEASE cltrace_tx")
    else:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _encode(key, value):
    if key in _JSON_COLUMNS and value is not None and not isinstance(value, str):
        return json.dumps(value if key != "argv" else list(value))
    return value


def insert_run(conn, **fields) -> int:
    """Add a runs row; `command` and `status` are required, argv/env may be list/dict. Returns run_id."""
    unknown = set(fields) - set(RUN_COLUMNS)
    if unknown:
        raise TypeError("insert_run: unknown run fields: %s" % ", ".join(sorted(unknown)))
    fields.setdefault("argv", [])
    fields.setdefault("cltrace_version", __version__)
    cols = list(fields)
    cur = conn.execute("INSERT INTO runs (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
                       [_encode(c, fields[c]) for c in cols])
    return cur.lastrowid


def finish_run(conn, run_id, **fields) -> None:
    """Update columns of an existing run (ended_at, wall_s, exit_status, signal, status, ...)."""
    unknown = set(fields) - set(RUN_COLUMNS)
    if unknown:
        raise TypeError("finish_run: unknown run fields: %s" % ", ".join(sorted(unknown)))
    if not fields:
        return
    cols = list(fields)
    conn.execute("UPDATE runs SET %s WHERE run_id = ?" % ", ".join(f"{c} = ?" for c in cols),
                 [_encode(c, fields[c]) for c in cols] + [run_id])


def set_run_tags(conn, run_id, tags: Mapping[str, object]) -> None:
    """Set (insert or replace) the run's tags; values are stored as text."""
    conn.executemany("INSERT OR REPLACE INTO run_tags (run_id, key, value) VALUES (?, ?, ?)",
                     [(run_id, str(k), str(v)) for k, v in tags.items()])
