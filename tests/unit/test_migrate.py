"""Schema-1 traces (one wide launches table) are upgraded in place to schema 2 the first time they are opened.

The schema-1 file is built from the real schema of cltrace 1 (tests/unit/data/schema_v1.sql, `git show` of the
last schema-1 commit), filled with rows as cltrace 1 wrote them.
"""
import os
import random
import sqlite3
import stat

import pandas as pd
import pytest

import cltrace
from cltrace.cli.main import main
from cltrace.errors import DamagedTrace, TraceError, UpgradeImpossible
from cltrace.store import db as store_db
from cltrace.store import migrate

SCHEMA_V1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "schema_v1.sql")

V1_COLUMNS = (
    "launch_id", "run_id", "process_id", "seq", "tid", "queue_id", "device_id", "kernel_id", "kernel_name", "api",
    "work_dim", "offset0", "offset1", "offset2", "global0", "global1", "global2", "local0", "local1", "local2",
    "driver_local", "work_groups", "arg_bytes", "host_enqueue_ns", "host_return_ns", "queued_ns", "submit_ns",
    "start_ns", "end_ns", "duration_ns", "error", "own_event", "times_status", "region_id")
SHAPE_COLUMNS = ("run_id", "process_id") + migrate.DISPATCH_KEY

# (queue_id, device_id, kernel_id, kernel_name, api, work_dim, offsets, globals, locals, driver_local, work_groups,
#  arg_bytes, error, own_event): 3-D, 1-D with a driver-chosen (NULL) local size, a task, a failed enqueue, an
# unknown kernel and queue
SHAPES = [
    (1, 1, 1, "conv", "ndrange", 3, (0, 0, 0), (224, 128, 4), (8, 8, 1), 0, 28 * 16 * 4, 1 << 20, 0, 1),
    (1, 1, 1, "conv", "ndrange", 3, (0, 0, 0), (224, 128, 8), (8, 8, 1), 0, 28 * 16 * 8, 1 << 20, 0, 1),
    (1, 1, 2, "relu", "ndrange", 1, (0, None, None), (4096, None, None), (None, None, None), 1, None, None, 0, 1),
    (1, 1, 2, "relu", "ndrange", 1, (16, None, None), (4096, None, None), (None, None, None), 1, None, 4096, 0, 0),
    (1, 1, 3, "tail", "task", 1, (0, None, None), (1, None, None), (1, None, None), 0, 1, None, 0, 1),
    (1, 1, 1, "conv", "ndrange", 3, (0, 0, 0), (224, 128, 4), (7, 8, 1), 0, None, 1 << 20, -54, 1),
    (None, None, None, None, "ndrange", 2, (0, 0, None), (64, 64, None), (None, None, None), 1, None, None, 0, 1),
]
STATUSES = ["ok", "ok", "ok", "missing", "untimed", "failed", "pending-at-exit", "profiling-error"]


def _v1_db(path, processes=((1, 1, 3), (1, 2, 0), (2, 3, 4), (2, 4, 1)), launches_per_process=40, seed=1,
           scatter=False):
    """A schema-1 trace: `processes` is (run_id, process_id, number of shapes used) per process. Returns the
    launches rows as written, ordered by launch_id."""
    rnd = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    with open(SCHEMA_V1) as f:
        conn.executescript(f.read())
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "1"), ("cltrace_version", "0.1.0"),
                                                        ("created_at", "2026-01-01T00:00:00+00:00")])
    for run_id in sorted({p[0] for p in processes}):
        conn.execute("INSERT INTO runs (run_id, command, argv, status) VALUES (?, 'prog', '[\"prog\"]', 'ok')",
                     (run_id,))
    rows, region = [], 0
    for run_id, process_id, nshapes in processes:
        regions = []
        for r in range(2):
            region += 1
            regions.append(region)
            conn.execute("INSERT INTO regions (region_id, run_id, process_id, tid, name, begin_ns, end_ns, begin_seq,"
                         " end_seq) VALUES (?, ?, ?, 7, 'layer', 0, 10, 0, 100)", (region, run_id, process_id))
        n = launches_per_process if nshapes else 0
        shapes = ([SHAPES[0], SHAPES[2], SHAPES[6], SHAPES[3], SHAPES[1], SHAPES[4], SHAPES[5]] if nshapes > 3
                  else SHAPES[:nshapes])
        t = 1_000_000 * process_id
        untimed = 0
        for seq in range(1, n + 1):
            q, d, k, name, api, dim, off, glob, loc, drv, wg, ab, err, own = rnd.choice(shapes)
            status = "untimed" if err else rnd.choice(STATUSES)
            untimed += status != "ok"
            t += rnd.randrange(1000, 5000)
            enq, ret = t, t + rnd.randrange(1, 900)
            if status == "ok":
                qd = t - 250_000_000 + rnd.randrange(0, 50)    # a device clock of its own
                sd = qd + rnd.randrange(0, 300)
                st = sd + rnd.randrange(0, 300)
                en = st + rnd.randrange(1, 10_000)
                dev = (qd, sd, st, en, en - st)
            else:
                dev = (None,) * 5
            rows.append([None, run_id, process_id, seq, rnd.choice([7, 8]), q, d, k, name, api, dim, *off, *glob,
                         *loc, drv, wg, ab, enq, ret, *dev, err, own, status, rnd.choice(regions + [None])])
        conn.execute("INSERT INTO processes (process_id, run_id, pid, argv, start_ns, mode, capture_file, records,"
                     " truncated_bytes, launches, untimed_launches, clean_exit) VALUES (?, ?, ?, '[]', 0, 'layer',"
                     " 'p.clt', 1, 0, ?, ?, 1)", (process_id, run_id, 100 + process_id, n, untimed))
    ids = list(range(1, len(rows) + 1))
    if scatter:  # launch_ids of processes interleaved, with gaps (not what cltrace 1 wrote, but valid SQL)
        ids = [3 * i + (7 if r[2] % 2 else 0) for i, r in enumerate(rows)]
    for i, r in zip(ids, rows):
        r[0] = i
    conn.executemany("INSERT INTO launches (%s) VALUES (%s)" % (", ".join(V1_COLUMNS), ", ".join("?" * 34)), rows)
    conn.commit()
    conn.close()
    return sorted((tuple(r) for r in rows), key=lambda r: r[0])


def _values(df, col):
    return [None if pd.isna(v) else v for v in df[col].tolist()]


def _sql(path, query, args=()):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def test_v1_trace_is_upgraded_in_place_once(tmp_path, capsys):
    path = tmp_path / "old.db"
    rows = _v1_db(path)
    assert {r[-2] for r in rows} >= {"ok", "missing", "untimed", "failed"}

    t = cltrace.open(path)
    assert capsys.readouterr().err == f"cltrace: upgraded {path} from trace schema 1 to 4\n"
    assert t.meta["schema_version"] == "4"

    # the launches frame is the schema-1 table, column by column
    L = t.launches
    assert list(L.columns) == list(V1_COLUMNS)
    assert len(L) == len(rows)
    for j, c in enumerate(V1_COLUMNS):
        assert _values(L, c) == [r[j] for r in rows], c
    # ... and so is the view, value for value, types included
    assert _sql(path, f"SELECT {', '.join(V1_COLUMNS)} FROM launches ORDER BY launch_id") == rows

    shapes = {tuple(r[V1_COLUMNS.index(c)] for c in SHAPE_COLUMNS) for r in rows}
    assert len(t.dispatches) == len(shapes)
    assert len({tuple(r[V1_COLUMNS.index(c)] for c in migrate.DISPATCH_KEY) for r in rows}) < len(shapes)
    # dispatches are numbered in order of first launch
    first = {}
    for r in rows:
        first.setdefault(tuple(r[V1_COLUMNS.index(c)] for c in SHAPE_COLUMNS), r[0])
    assert _sql(path, "SELECT dispatch_id FROM dispatches ORDER BY dispatch_id") == [
        (i + 1,) for i in range(len(shapes))]
    assert [tuple(r) for r in _sql(path, f"SELECT run_id, process_id, {', '.join(migrate.DISPATCH_KEY)} "
                                         "FROM dispatches ORDER BY dispatch_id")] == sorted(first, key=first.get)

    # narrow rows: status codes, deltas, device columns only when ok
    codes = dict(_sql(path, "SELECT launch_id, status FROM launch_rows"))
    names = ["ok", "profiling-error", "failed", "pending-at-exit", "missing", "untimed"]
    assert all(names[codes[r[0]]] == r[-2] for r in rows)
    assert _sql(path, "SELECT COUNT(*) FROM launch_rows WHERE status != 0 AND (queued_ns IS NOT NULL OR "
                      "submit_dns IS NOT NULL OR start_dns IS NOT NULL OR end_dns IS NOT NULL)") == [(0,)]
    # processes know their launch ranges; a process without launches has none
    assert _sql(path, "SELECT process_id, first_launch_id, last_launch_id FROM processes ORDER BY process_id") == [
        (1, 1, 40), (2, None, None), (3, 41, 80), (4, 81, 120)]
    assert t.launches_for(2)["launch_id"].tolist() == [r[0] for r in rows if r[1] == 2]
    t.close()

    objects = dict(_sql(path, "SELECT name, type FROM sqlite_master"))
    assert objects["launches"] == "view"
    assert "launches_v1" not in objects and "launches_run" not in objects and "launches_region" not in objects
    assert objects["dispatches_run"] == "index"
    assert [r[0] for r in _sql(path, "PRAGMA integrity_check")] == ["ok"]

    # the second open finds schema 2: nothing to do, nothing said
    t = cltrace.open(path)
    assert capsys.readouterr().err == ""
    assert _values(t.launches, "duration_ns") == [r[V1_COLUMNS.index("duration_ns")] for r in rows]
    t.close()


def test_upgrade_keeps_process_launches_consecutive(tmp_path, capsys):
    """Interleaved launch_ids (not written by cltrace 1) are renumbered process by process."""
    path = tmp_path / "old.db"
    rows = _v1_db(path, processes=((1, 1, 4), (1, 2, 2), (1, 3, 4)), launches_per_process=10, scatter=True)
    conn = store_db.open_db(path)
    assert "upgraded" in capsys.readouterr().err
    ranges = conn.execute("SELECT process_id, first_launch_id, last_launch_id FROM processes "
                          "ORDER BY process_id").fetchall()
    assert ranges == [(1, 1, 10), (2, 11, 20), (3, 21, 30)]
    for pid, a, b in ranges:
        got = conn.execute(f"SELECT {', '.join(V1_COLUMNS[1:])} FROM launches WHERE launch_id BETWEEN ? AND ? "
                           "ORDER BY launch_id", (a, b)).fetchall()
        assert got == [r[1:] for r in rows if r[2] == pid]
    conn.close()


def test_write_open_upgrades_too(tmp_path, capsys):
    path = tmp_path / "old.db"
    rows = _v1_db(path)
    conn = store_db.open_db(path, write=True)
    assert capsys.readouterr().err == f"cltrace: upgraded {path} from trace schema 1 to 4\n"
    assert conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == len(rows)
    with conn:
        store_db.insert_run(conn, command="more", status="ok")
    conn.close()


def test_failed_upgrade_leaves_the_file_as_it_was(tmp_path, capsys):
    path = tmp_path / "old.db"
    _v1_db(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE launches SET host_return_ns = NULL WHERE launch_id = 5")
    conn.close()
    with pytest.raises(DamagedTrace) as e:
        cltrace.open(path)
    assert str(e.value).startswith(f"{path} is damaged: its launches table cannot be read (upgrading it to schema 4")
    assert capsys.readouterr().err == ""
    assert dict(_sql(path, "SELECT name, type FROM sqlite_master WHERE name IN ('launches', 'dispatches')")) == {
        "launches": "table"}
    assert _sql(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]


def _message(path, reason):
    return (f"{path} uses trace schema 1; this cltrace reads schema 4 and could not upgrade it in place ({reason}); "
            f"copy it somewhere writable and run any cltrace command on the copy")


@pytest.fixture
def read_only_v1(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    path = d / "old.db"
    rows = _v1_db(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")  # no -wal/-shm files left for a reader to need
    conn.close()
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP)
    os.chmod(d, stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(path, os.W_OK) or os.access(d, os.W_OK):
            pytest.skip("file permissions do not stop this user (root) from writing")
        yield path, rows
    finally:
        os.chmod(d, stat.S_IRWXU)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def test_read_only_v1_trace_gives_a_clear_error(read_only_v1, capsys):
    path, _ = read_only_v1
    with pytest.raises(UpgradeImpossible) as e:
        cltrace.open(path)
    assert str(e.value) == _message(path, "the file is read-only")
    assert isinstance(e.value, TraceError)
    assert main(["report", str(path)]) == 1
    assert capsys.readouterr().err == f"cltrace: {_message(path, 'the file is read-only')}\n"


def _read_only_connection(path):
    conn = sqlite3.connect("file:%s?mode=ro" % os.path.abspath(path), uri=True)
    conn.isolation_level = None
    return conn


def test_unwritable_v1_trace_gives_a_clear_error(tmp_path, capsys, monkeypatch):
    """The same without relying on file permissions (root writes anyway): SQLite itself refuses to write."""
    path = tmp_path / "old.db"
    rows = _v1_db(path)
    monkeypatch.setattr(migrate, "_connect_rw", _read_only_connection)
    with pytest.raises(UpgradeImpossible) as e:
        cltrace.open(path)
    assert str(e.value) == _message(path, "attempt to write a readonly database")
    assert main(["report", str(path)]) == 1
    assert capsys.readouterr().err == f"cltrace: {_message(path, 'attempt to write a readonly database')}\n"
    # nothing changed; once it can be written, it is upgraded
    assert _sql(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    monkeypatch.undo()
    assert len(cltrace.open(path).launches) == len(rows)
    assert "upgraded" in capsys.readouterr().err


# -- schema 2 -> 3 (and 1 -> 3): the device level and the record order of programs and kernels ------------------

SCHEMA_V2 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "schema_v2.sql")
NEW_DEVICE_COLUMNS = ("opencl_version", "opencl_c_version", "non_uniform_wg", "extensions")
DEVICE_V2 = (1, 1, 1, 0x5000, "Portable Computing Language", "cpu", "pocl", "3.1", 2, 4, 3000, 4096, 1 << 30)
# (program_id, process_id, handle, kind, options, error): the program behind handle 0x30 is built twice (the
# second build wins), a failed build does not count, handle 0x40 is a linked program
PROGRAMS_V2 = [(1, 1, 0x30, "create", "", 0), (2, 1, 0x30, "build", "-cl-std=CL2.0 -DTILE=4", 0),
               (3, 1, 0x30, "build", "-DTILE=8", 0), (4, 1, 0x30, "build", "-DBROKEN", -11),
               (5, 1, 0x40, "link", "-cl-uniform-work-group-size", 0)]
KERNELS_V2 = [(1, 1, 0x60, 0x30, "conv"), (2, 1, 0x61, 0x40, "gemm"), (3, 1, 0x62, 0x99, "orphan")]


def _v2_db(path):
    """A schema-2 trace as cltrace wrote it before schema 3 (tests/unit/data/schema_v2.sql is the schema.sql
    of the last schema-2 commit): a run with a device, programs, kernels, dispatches and launches."""
    conn = sqlite3.connect(path)
    with open(SCHEMA_V2) as f:
        conn.executescript(f.read())
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "2"), ("cltrace_version", "0.2.0"),
                                                        ("created_at", "2026-06-01T00:00:00+00:00")])
    conn.execute("INSERT INTO runs (run_id, command, argv, status) VALUES (1, 'prog', '[\"prog\"]', 'ok')")
    conn.execute("INSERT INTO processes (process_id, run_id, pid, launches, first_launch_id, last_launch_id) "
                 "VALUES (1, 1, 100, 2, 1, 2)")
    conn.execute("INSERT INTO devices (device_id, run_id, process_id, handle, platform_name, name, vendor, "
                 "driver_version, device_type, compute_units, max_clock_mhz, max_work_group_size, global_mem_bytes) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", DEVICE_V2)
    conn.executemany("INSERT INTO programs (program_id, run_id, process_id, handle, kind, options, start_ns, end_ns,"
                     " build_ms, error) VALUES (?, 1, ?, ?, ?, ?, 0, 0, 0.0, ?)", PROGRAMS_V2)
    conn.executemany("INSERT INTO kernels (kernel_id, run_id, process_id, handle, program_handle, name, num_args) "
                     "VALUES (?, 1, ?, ?, ?, ?, 1)", KERNELS_V2)
    conn.execute("INSERT INTO dispatches (dispatch_id, run_id, process_id, device_id, kernel_id, kernel_name, api,"
                 " work_dim, global0, local0, driver_local, work_groups) VALUES (1, 1, 1, 1, 1, 'conv', 'ndrange',"
                 " 1, 23, 4, 0, 6)")
    conn.executemany("INSERT INTO launch_rows (launch_id, process_id, dispatch_id, seq, status, enqueue_ns,"
                     " return_dns, queued_ns, submit_dns, start_dns, end_dns) VALUES (?, 1, 1, ?, 0, ?, 5, 10, 1,"
                     " 1, ?)", [(1, 7, 1000, 500), (2, 8, 2000, 600)])
    conn.commit()
    conn.close()


def test_v2_trace_is_upgraded_to_3(tmp_path, capsys):
    path = tmp_path / "v2.db"
    _v2_db(path)
    t = cltrace.open(path)
    assert capsys.readouterr().err == f"cltrace: upgraded {path} from trace schema 2 to 4\n"
    assert t.meta["schema_version"] == "4"
    # the new columns exist, in schema.sql's order, and say "not known"
    D = t.devices
    assert list(D.columns) == list(store_db_columns("devices"))
    assert tuple(D.iloc[0][: len(DEVICE_V2)]) == DEVICE_V2
    assert D[list(NEW_DEVICE_COLUMNS)].isna().all().all()
    assert t.programs["seq"].isna().all() and t.kernels["seq"].isna().all()
    assert list(t.programs.columns) == list(store_db_columns("programs"))
    assert list(t.kernels.columns) == list(store_db_columns("kernels"))
    # everything else as before
    assert t.launches["duration_ns"].tolist() == [500, 600]
    assert t.programs["options"].tolist() == [p[4] for p in PROGRAMS_V2]
    # without a record order: the last successful build of the handle; a link gives its own options
    B = t.kernel_build_options()
    assert B[["kernel_name", "program_kind", "options"]].astype(object).where(B.notna(), None).values.tolist() == [
        ["conv", "build", "-DTILE=8"], ["gemm", "link", "-cl-uniform-work-group-size"], ["orphan", None, None]]
    t.close()
    assert "programs_handle" in {r[0] for r in _sql(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert [r[0] for r in _sql(path, "PRAGMA integrity_check")] == ["ok"]
    # at 3 now: the next open changes nothing and says nothing
    cltrace.open(path).close()
    assert capsys.readouterr().err == ""


def store_db_columns(table):
    """The columns schema.sql declares for `table`, in order (from a fresh trace)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        conn = store_db.create_db(os.path.join(d, "fresh.db"))
        try:
            return tuple(r[1] for r in conn.execute(f"PRAGMA table_info({table})"))
        finally:
            conn.close()


def test_v1_trace_with_devices_and_programs_is_upgraded_to_3(tmp_path, capsys):
    """1 -> 2 -> 3 in one go: the schema-1 device, program and kernel rows are kept, the new columns NULL."""
    path = tmp_path / "old.db"
    rows = _v1_db(path, processes=((1, 1, 3),), launches_per_process=10)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO devices (device_id, run_id, process_id, handle, name, compute_units) "
                     "VALUES (1, 1, 1, 20480, 'cpu', 2)")
        conn.execute("INSERT INTO programs (program_id, run_id, process_id, handle, kind, options, error) "
                     "VALUES (1, 1, 1, 48, 'build', '-DOLD=1', 0)")
        conn.execute("INSERT INTO kernels (kernel_id, run_id, process_id, handle, program_handle, name) "
                     "VALUES (1, 1, 1, 96, 48, 'conv')")
    conn.close()
    t = cltrace.open(path)
    assert capsys.readouterr().err == f"cltrace: upgraded {path} from trace schema 1 to 4\n"
    assert t.meta["schema_version"] == "4"
    assert len(t.launches) == len(rows)
    D = t.devices
    assert list(D.columns) == list(store_db_columns("devices"))
    assert (D["name"].tolist(), D["compute_units"].tolist()) == (["cpu"], [2])
    assert D[list(NEW_DEVICE_COLUMNS)].isna().all().all()
    B = t.kernel_build_options()
    assert (B["kernel_name"].tolist(), B["program_kind"].tolist(), B["options"].tolist()) == (
        ["conv"], ["build"], ["-DOLD=1"])
    t.close()


def test_current_trace_is_left_alone(tmp_path, capsys):
    path = tmp_path / "new.db"
    store_db.create_db(path).close()
    dump = lambda: (_sql(path, "SELECT type, name, sql FROM sqlite_master ORDER BY name"),  # noqa: E731
                    _sql(path, "SELECT key, value FROM meta ORDER BY key"))
    before = dump()
    conn = migrate._connect_rw(path)
    try:
        assert migrate.upgrade(conn, path) is False
    finally:
        conn.close()
    cltrace.open(path).close()
    assert capsys.readouterr().err == ""
    assert dump() == before
    assert _sql(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("4",)]


def test_failed_v2_upgrade_leaves_the_file_as_it_was(tmp_path, capsys):
    """A schema-2 trace without its devices table: damaged, and nothing of the upgrade stays."""
    path = tmp_path / "v2.db"
    _v2_db(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TABLE kernels")
    conn.close()
    with pytest.raises(DamagedTrace) as e:
        cltrace.open(path)
    assert str(e.value) == f"{path} is damaged: its kernels table cannot be read (schema 2 trace without its table)"
    assert capsys.readouterr().err == ""
    assert _sql(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("2",)]
    assert "opencl_version" not in {r[1] for r in _sql(path, "PRAGMA table_info(devices)")}


# -- schema 3 -> 4: sweeps as records (the sweeps table, runs.sweep_id) -----------------------------------------

SCHEMA_V3 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "schema_v3.sql")


def _v3_db(path, runs):
    """A schema-3 trace as cltrace wrote it before schema 4 (tests/unit/data/schema_v3.sql is the schema.sql of
    the last schema-3 commit): sweep runs with tags and repeat_index, and no stored plan."""
    conn = sqlite3.connect(path)
    with open(SCHEMA_V3) as f:
        conn.executescript(f.read())
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "3"), ("cltrace_version", "0.3.0"),
                                                        ("created_at", "2026-10-01T00:00:00+00:00")])
    for run_id, (channels, repeat, status) in enumerate(runs, 1):
        conn.execute("INSERT INTO runs (run_id, command, argv, status, sweep_index, repeat_index) "
                     "VALUES (?, 'prog', '[\"prog\"]', ?, ?, ?)", (run_id, status, run_id - 1, repeat))
        conn.execute("INSERT INTO run_tags VALUES (?, 'channels', ?)", (run_id, str(channels)))
    conn.commit()
    conn.close()


def test_v3_trace_is_upgraded_to_4_and_keeps_its_runs(tmp_path, capsys):
    path = tmp_path / "v3.db"
    _v3_db(path, [(1, 0, "ok"), (2, 0, "ok"), (1, 1, "ok"), (2, 1, "ok")])
    t = cltrace.open(path)
    assert capsys.readouterr().err == f"cltrace: upgraded {path} from trace schema 3 to 4\n"
    assert t.meta["schema_version"] == "4"
    assert list(t.runs.columns) == list(store_db_columns("runs")) and t.runs["sweep_id"].isna().all()
    assert t.runs["sweep_index"].tolist() == [0, 1, 2, 3] and t.runs["repeat_index"].tolist() == [0, 0, 1, 1]
    assert t.sweeps.empty and list(t.sweeps.columns) == list(store_db_columns("sweeps"))
    assert ("index", "runs_sweep") in [r[:2] for r in _sql(path, "SELECT type, name FROM sqlite_master")]
    t.close()


def test_v1_and_v2_traces_reach_4(tmp_path, capsys):
    path = tmp_path / "v2.db"
    _v2_db(path)
    t = cltrace.open(path)
    assert capsys.readouterr().err == f"cltrace: upgraded {path} from trace schema 2 to 4\n"
    assert t.sweeps.empty and t.runs["sweep_id"].isna().all()
    t.close()


def test_an_upgraded_unfinished_sweep_is_inferred_and_says_so(tmp_path, capsys):
    """No stored plan: the report infers it from the tags, marked as inferred; a complete one says nothing."""
    from cltrace.report.trace_report import gather
    path = tmp_path / "v3.db"
    _v3_db(path, [(1, 0, "ok"), (2, 0, "ok"), (3, 0, "ok"), (1, 1, "ok"), (2, 1, "failed")])
    with cltrace.open(path) as t:
        data = gather(t, staircase=False)
    assert data.sweeps == [] and data.sweeps_text is None
    assert data.progress["inferred"] is True and data.progress["sweep_ids"] == []
    assert data.progress["text"] == (
        "this sweep looks unfinished (inferred from its runs' tags: the trace was written before cltrace stored "
        "sweep plans): 2 of 6 planned runs are missing or failed (2 of 3 configurations have fewer than 2 "
        "successful runs, 0 none yet: channels=2 (1), channels=3 (1)). It is still running, stopped early, or runs "
        "failed: the verdicts below may change. Report again when it ends, or complete it with cltrace sweep "
        "--resume and the same options.".replace(", 0 none yet", ""))
    done = tmp_path / "done.db"
    _v3_db(done, [(1, 0, "ok"), (2, 0, "ok")])
    with cltrace.open(done) as t:
        assert gather(t, staircase=False).progress is None
