"""Upgrade an older trace database in place to the current schema (today: 1 -> 2 -> 3 -> 4).

Schema 1 kept one wide `launches` row per kernel launch. Schema 2 splits a launch into its `dispatches` row
(kernel, queue, sizes, flags: shared by every launch of that shape in a process) and a narrow `launch_rows`
row (seq, thread, region, status code, host enqueue time and deltas), and `launches` becomes a view with the
schema-1 columns. Schema 3 adds nullable columns: the device's OpenCL level (`devices.opencl_version`,
`opencl_c_version`, `non_uniform_wg`, `extensions`) and the record order of programs and kernels
(`programs.seq`, `kernels.seq`); an upgraded trace has NULL there (not known: older cltrace did not record them).
Schema 4 adds the `sweeps` table (one stored plan per `cltrace sweep`) and `runs.sweep_id`; an upgraded trace has
no sweeps and NULL sweep ids: its sweeps' plans were never stored (the report infers them, and says so).
`upgrade` takes a file through every step from its version to the current one in one transaction: either the
whole file is at the current schema afterwards, or nothing changed.
"""
import os
import sqlite3

from ..errors import DamagedTrace, UpgradeImpossible
from ..printable import info
from .abi import STATUS_NAMES, C
from .connection import connect
from .schema import SCHEMA_PATH, SCHEMA_VERSION

# the schema-1 launches columns that make up a dispatch (everything but ids, seq, thread, region and times)
DISPATCH_KEY = ("queue_id", "device_id", "kernel_id", "kernel_name", "api", "work_dim", "offset0", "offset1",
                "offset2", "global0", "global1", "global2", "local0", "local1", "local2", "driver_local",
                "work_groups", "arg_bytes", "error", "own_event")
# schema-1 times_status text -> launch_rows.status code, from native/cltrace_store.h (a text it does not know: unknown)
_STATUS_CODE = "CASE l.times_status %s ELSE %d END" % (
    " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(STATUS_NAMES) if code != C.CLT_STATUS_UNKNOWN),
    C.CLT_STATUS_UNKNOWN)
# sqlite errors that mean "this file cannot be written here", not "this file is damaged"
_CANNOT_WRITE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL",
                 "SQLITE_IOERR", "SQLITE_PERM", "SQLITE_AUTH", "SQLITE_NOLFS")
_CANNOT_WRITE_TEXT = ("readonly", "read-only", "unable to open", "locked", "disk", "full", "permission")


def schema_statements(path):
    """The statements of a schema file, one by one (executescript would commit the open transaction)."""
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    out, buf = [], ""
    for line in lines:
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(line.strip().startswith("--") or not line.strip() for line in buf.splitlines()):
        out.append(buf.strip())
    return out


# Columns each schema version added to existing tables: (table, column, SQL type), all nullable; and the
# indexes it added.
_ADDED_COLUMNS: dict[int, tuple] = {
    3: (("devices", "opencl_version", "TEXT"), ("devices", "opencl_c_version", "TEXT"),
        ("devices", "non_uniform_wg", "INTEGER"), ("devices", "extensions", "TEXT"),
        ("programs", "seq", "INTEGER"), ("kernels", "seq", "INTEGER")),
}
_ADDED_INDEXES = {
    3: ("CREATE INDEX IF NOT EXISTS programs_handle ON programs(process_id, handle)",),
    4: ("CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id, sweep_index)",),
}
_ADDED_COLUMNS[4] = (("runs", "sweep_id", "INTEGER"),)
# New tables of a version: created from schema.sql's own statement
_ADDED_TABLES = {4: ("sweeps",)}


def _table_statement(schema_path, table):
    for stmt in schema_statements(schema_path):
        body = "\n".join(line for line in stmt.splitlines() if not line.strip().startswith("--"))
        if body.startswith(f"CREATE TABLE IF NOT EXISTS {table} "):
            return body
    raise AssertionError(f"schema.sql has no table {table}")


def upgrade(conn, path) -> bool:
    """Convert the trace open on `conn` (writable, autocommit: isolation_level None) from its schema version to
    the current one, step by step (1 -> 2 -> 3 -> 4), in one transaction. Returns False (and changes nothing) when
    it is at the current version already (another process upgraded it first). Raises sqlite3 errors as they
    come (the caller decides what they mean) and DamagedTrace when converted rows do not add up."""
    steps = {1: lambda: _v1_to_v2(conn, path, SCHEMA_PATH), 2: lambda: _add_columns(conn, path, 3),
             3: lambda: _add_columns(conn, path, 4, SCHEMA_PATH)}
    assert sorted(steps) == list(range(1, SCHEMA_VERSION)), "migrate.upgrade needs one step per older version"
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(str(row[0]).strip()) if row is not None and str(row[0]).strip().isdigit() else None
        if version is None or not 1 <= version < SCHEMA_VERSION:
            conn.execute("ROLLBACK")
            return False
        for v in range(version, SCHEMA_VERSION):
            steps[v]()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return True


def _add_columns(conn, path, version, schema_path=None):
    """The step to `version` that adds nullable columns (NULL: not known in a trace written before), and the
    version's new tables (empty) and indexes."""
    for table in _ADDED_TABLES.get(version, ()):
        conn.execute(_table_statement(schema_path, table))
    for table, column, sqltype in _ADDED_COLUMNS[version]:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not have:
            raise DamagedTrace(path, table, f"schema {version - 1} trace without its table")
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sqltype}")
    for stmt in _ADDED_INDEXES.get(version, ()):
        conn.execute(stmt)


def _v1_to_v2(conn, path, schema_path):
    objects = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name IN ('launches', 'processes')"))
    if objects.get("launches") != "table" or objects.get("processes") != "table":
        raise DamagedTrace(path, "launches" if objects.get("launches") != "table" else "processes",
                           "schema 1 trace without its table")
    conn.execute("ALTER TABLE launches RENAME TO launches_v1")
    pcols = {r[1] for r in conn.execute("PRAGMA table_info(processes)")}
    for c in ("first_launch_id", "last_launch_id"):
        if c not in pcols:
            conn.execute(f"ALTER TABLE processes ADD COLUMN {c} INTEGER")
    later = {i for v, stmts in _ADDED_INDEXES.items() if v > 2 for i in stmts}
    for stmt in schema_statements(schema_path):
        if stmt.rstrip(";") not in later:          # indexes on columns that later steps add
            conn.execute(stmt)

    # A process's launches must have consecutive launch_ids (processes.first_launch_id .. last_launch_id).
    # cltrace 1 allocated them that way; keep its ids when that holds, else renumber process by process.
    scattered = conn.execute(
        "SELECT COUNT(*) FROM (SELECT MIN(launch_id) AS a, MAX(launch_id) AS b, COUNT(*) AS n FROM launches_v1 "
        "GROUP BY process_id) WHERE b - a + 1 != n").fetchone()[0]
    key = ", ".join(DISPATCH_KEY)
    if scattered:
        conn.execute("CREATE TEMP TABLE cltrace_upgrade_ids (launch_id INTEGER PRIMARY KEY, new_id INTEGER)")
        conn.execute("INSERT INTO cltrace_upgrade_ids SELECT launch_id, ROW_NUMBER() OVER (ORDER BY pfirst, launch_id)"
                     " FROM (SELECT launch_id, MIN(launch_id) OVER (PARTITION BY process_id) AS pfirst"
                     " FROM launches_v1)")
        new_id = "(SELECT i.new_id FROM cltrace_upgrade_ids i WHERE i.launch_id = l.launch_id)"
    else:
        new_id = "l.launch_id"
    # One dispatch per distinct shape of a process, numbered in order of its first launch, as ingestion numbers
    # them: launches are offered in launch order and a temporary unique index keeps the first of each shape.
    # ifnull(c, x'') makes NULL a value of its own (an empty blob equals no integer or text): a NULL local size
    # matches a NULL local size.
    cols = ("process_id",) + DISPATCH_KEY + ("run_id",)
    conn.execute("CREATE UNIQUE INDEX cltrace_upgrade_shape ON dispatches (%s)"
                 % ", ".join(f"ifnull({c}, x'')" for c in cols))
    conn.execute(f"INSERT OR IGNORE INTO dispatches (run_id, process_id, {key}) "
                 f"SELECT run_id, process_id, {key} FROM launches_v1 l ORDER BY {new_id}")
    match = " AND ".join(f"ifnull(d.{c}, x'') = ifnull(l.{c}, x'')" for c in cols)
    ok = f"l.times_status = '{STATUS_NAMES[C.CLT_STATUS_OK]}'"
    conn.execute(
        "INSERT INTO launch_rows (launch_id, process_id, dispatch_id, seq, tid, region_id, status, enqueue_ns,"
        " return_dns, queued_ns, submit_dns, start_dns, end_dns) "
        f"SELECT {new_id}, l.process_id, (SELECT d.dispatch_id FROM dispatches d WHERE {match}),"
        f" l.seq, l.tid, l.region_id, {_STATUS_CODE}, l.host_enqueue_ns, l.host_return_ns - l.host_enqueue_ns,"
        f" CASE WHEN {ok} THEN l.queued_ns END, CASE WHEN {ok} THEN l.submit_ns - l.queued_ns END,"
        f" CASE WHEN {ok} THEN l.start_ns - l.submit_ns END, CASE WHEN {ok} THEN l.end_ns - l.start_ns END "
        f"FROM launches_v1 l ORDER BY {'1' if scattered else 'l.launch_id'}")
    conn.execute("DROP INDEX cltrace_upgrade_shape")
    if scattered:
        conn.execute("DROP TABLE temp.cltrace_upgrade_ids")

    conn.execute("CREATE TEMP TABLE cltrace_upgrade_ranges (process_id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)")
    try:
        conn.execute("INSERT INTO cltrace_upgrade_ranges SELECT process_id, MIN(launch_id), MAX(launch_id) "
                     "FROM launch_rows GROUP BY process_id")
        conn.execute(
            "UPDATE processes SET "
            "first_launch_id = (SELECT a FROM cltrace_upgrade_ranges r WHERE r.process_id = processes.process_id),"
            "last_launch_id = (SELECT b FROM cltrace_upgrade_ranges r WHERE r.process_id = processes.process_id)")
    finally:
        conn.execute("DROP TABLE temp.cltrace_upgrade_ranges")

    _verify(conn, path, key)
    conn.execute("DROP INDEX IF EXISTS launches_run")
    conn.execute("DROP INDEX IF EXISTS launches_region")
    conn.execute("DROP TABLE launches_v1")


def _verify(conn, path, key):
    """Row counts agree before anything of schema 1 is dropped."""
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    n_v1 = one("SELECT COUNT(*) FROM launches_v1")
    checks = [
        ("launch rows", one("SELECT COUNT(*) FROM launch_rows"), n_v1),
        ("launches in the view", one("SELECT COUNT(*) FROM launches"), n_v1),
        ("dispatches", one("SELECT COUNT(*) FROM dispatches"),
         one(f"SELECT COUNT(*) FROM (SELECT DISTINCT run_id, process_id, {key} FROM launches_v1)")),
        ("launches of processes", one("SELECT COALESCE(SUM(last_launch_id - first_launch_id + 1), 0) FROM processes"),
         one("SELECT COUNT(*) FROM launch_rows WHERE process_id IN (SELECT process_id FROM processes)")),
    ]
    for what, got, want in checks:
        if got != want:
            raise DamagedTrace(path, "launches", f"upgrading it to schema 2 gave {got} {what} instead of {want}")


def _cannot_write(e) -> bool:
    name = getattr(e, "sqlite_errorname", None)
    if name:
        return name.startswith(_CANNOT_WRITE)
    return isinstance(e, sqlite3.OperationalError) and any(t in str(e).lower() for t in _CANNOT_WRITE_TEXT)


def _unwritable_reason(path):
    """Why this file plainly cannot be rewritten here, or None (then let SQLite try)."""
    if not os.access(path, os.W_OK):
        return "the file is read-only"
    d = os.path.dirname(os.path.abspath(path))
    if not os.access(d, os.W_OK | os.X_OK):
        return "its directory is not writable"
    return None


def _connect_rw(path):
    """A writable autocommit connection for the upgrade (the caller's own may be read-only)."""
    conn = connect(path, write=True)
    conn.isolation_level = None
    return conn


def upgrade_file(path, version) -> None:
    """Upgrade the trace file at `path` (schema `version`) in place on a connection of its own, and say so on
    stderr; UpgradeImpossible when it cannot be written."""
    reason = _unwritable_reason(path)
    if reason:
        raise UpgradeImpossible(path, version, SCHEMA_VERSION, reason)
    try:
        conn = _connect_rw(path)
    except sqlite3.Error as e:
        raise UpgradeImpossible(path, version, SCHEMA_VERSION, str(e)) from None
    try:
        try:
            done = upgrade(conn, path)
        except sqlite3.Error as e:
            if _cannot_write(e):
                raise UpgradeImpossible(path, version, SCHEMA_VERSION, str(e)) from None
            raise DamagedTrace(path, "launches", f"upgrading it to schema {SCHEMA_VERSION}: {e}") from None
    finally:
        conn.close()
    if done:
        info(f"upgraded {path} from trace schema {version} to {SCHEMA_VERSION}")
