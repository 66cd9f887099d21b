"""Trace databases: creation, validation messages, run helpers, the Trace API."""
import sqlite3

import pytest

import cltrace
from cltrace.errors import CltraceError, NewerSchema, NotATrace, NotSQLite, TraceNotFound
from cltrace.store.db import SCHEMA_VERSION, create_db, finish_run, insert_run, open_db, set_run_tags


def test_create_has_meta(tmp_path):
    conn = create_db(tmp_path / "t.db")
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["schema_version"] == str(SCHEMA_VERSION) == "4"
    assert meta["cltrace_version"] == cltrace.__version__
    assert meta["created_at"].endswith("+00:00")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_missing(tmp_path):
    p = tmp_path / "none.db"
    with pytest.raises(TraceNotFound) as e:
        open_db(p)
    assert str(e.value) == f"{p}: no such trace file"
    assert isinstance(e.value, CltraceError)


@pytest.mark.parametrize("content", [b"", b"hello, not a database at all" * 40])
def test_not_sqlite(tmp_path, content):
    p = tmp_path / "x.db"
    p.write_bytes(content)
    with pytest.raises(NotSQLite) as e:
        open_db(p)
    assert str(e.value) == f"{p} is not a SQLite database"


def test_sqlite_but_not_trace(tmp_path):
    p = tmp_path / "x.db"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE t (a)")
    c.commit()
    c.close()
    with pytest.raises(NotATrace) as e:
        open_db(p)
    assert str(e.value) == f"{p} is a SQLite database but not a cltrace trace"
    with pytest.raises(NotATrace):
        cltrace.open(p)


def test_newer_schema(tmp_path):
    p = tmp_path / "x.db"
    conn = create_db(p)
    with conn:
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(NewerSchema) as e:
        open_db(p)
    assert str(e.value) == f"{p} was written by a newer cltrace (schema 9, this cltrace reads up to 4)"


def test_run_helpers_and_trace(tmp_path):
    p = tmp_path / "t.db"
    conn = create_db(p)
    with conn:
        r1 = insert_run(conn, command="app -n 1", argv=["app", "-n", "1"], status="ok", env={"POCL_X": "1"})
        set_run_tags(conn, r1, {"channels": 92, "method": "gemm"})
        r2 = insert_run(conn, command="app -n 2", argv=["app", "-n", "2"], status="failed")
        set_run_tags(conn, r2, {"channels": 93})
        finish_run(conn, r2, exit_status=3, wall_s=1.5)
    conn.close()
    with pytest.raises(TypeError):
        insert_run(open_db(p, write=True), command="x", status="ok", bogus=1)
    t = cltrace.open(p)
    assert list(t.runs["run_id"]) == [r1, r2]
    assert t.runs.loc[1, "exit_status"] == 3 and t.runs.loc[1, "wall_s"] == 1.5
    assert t.runs.loc[0, "argv"] == '["app", "-n", "1"]'
    assert len(t.run_tags) == 3
    params = t.params
    assert list(params.index) == [r1, r2]
    assert params.loc[r1, "method"] == "gemm" and params.loc[r2, "channels"] == 93   # whole numbers: Int64
    assert params.loc[r2, "method"] is None or str(params.loc[r2, "method"]) in ("<NA>", "nan")
    assert len(t.launches) == 0 and "duration_ns" in t.launches.columns
    assert str(t.launches["duration_ns"].dtype) == "Int64"
    assert t.launches_for(r1).empty
    with pytest.raises(CltraceError) as e:
        t.launches_for(99)
    assert str(e.value) == f"{p} has no run 99"
    assert t.runs is t.runs  # cached
    t.close()


def test_open_is_read_only(tmp_path):
    p = tmp_path / "t.db"
    create_db(p).close()
    conn = open_db(p)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO meta VALUES ('x', 'y')")


# -- native column scans (Trace.query / launch_groups) agree with the fetchmany path ---------------------------
def _trace_with_launches(tmp_path):
    from capture_factory import CaptureBuilder

    from cltrace.store.ingest import ingest_capture_dir
    b = CaptureBuilder()
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "conv")
    b.kernel(0x21, "gemm")
    b.launch(0x10, 0x20, (8, 4), (8, 4))
    b.launch(0x10, 0x21, (16,), None)
    b.launch(0x10, 0x99, (8, 8, 8), (2, 2, 2))
    b.bulk_launches(300, 0x10, [0x20, 0x21])
    cap = tmp_path / "cap"
    cap.mkdir()
    b.write(cap / "1.clt")
    db = tmp_path / "t.db"
    conn = create_db(db)
    with conn:
        for i in range(2):
            rid = insert_run(conn, command="app", status="ok")
            ingest_capture_dir(conn, rid, cap)
    conn.close()
    return db


def test_native_query_matches_fetchmany(tmp_path, monkeypatch):
    import pandas as pd

    from cltrace.store import fast
    db = _trace_with_launches(tmp_path)
    t = cltrace.open(db)
    native = {tb: t.query(tb) for tb in ("launches", "kernels", "runs", "devices")}
    narrow = t.query("launches", ["kernel_name", "duration_ns"], "run_id = ?", (2,))
    monkeypatch.setattr(fast, "available", lambda conn: False)
    for tb, df in native.items():
        pd.testing.assert_frame_equal(df, t.query(tb))
    pd.testing.assert_frame_equal(narrow, t.query("launches", ["kernel_name", "duration_ns"], "run_id = ?", (2,)))


def test_grouped_report_tables_match_per_launch_ones(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    from cltrace.analysis import kernel_stats as ks
    from cltrace.store import fast
    db = _trace_with_launches(tmp_path)
    t = cltrace.open(db)
    L = t.launches
    for use_native in (True, False):
        if not use_native:
            monkeypatch.setattr(fast, "available", lambda conn: False)
        keys, group, dur, timed, start, sok, end, eok = t.launch_groups()
        assert len(group) == len(L) and len(keys) == len(np.unique(group))
        for per_run in (True, False):
            pd.testing.assert_frame_equal(ks.kernel_table_grouped(keys, group, dur, timed, per_run=per_run),
                                          ks.kernel_table(L, per_run=per_run), check_dtype=False)
        assert ks.run_summaries_grouped(t.runs, keys, group, dur, timed, start, sok, end, eok, t.processes,
                                        t.devices, t.run_tags) == \
            ks.run_summaries(t.runs, L, t.processes, t.devices, t.run_tags)
        k1 = t.launch_groups(1)
        assert len(k1[1]) == len(L[L.run_id == 1])


def test_reading_a_finished_trace_leaves_no_wal_or_shm_files(tmp_path):
    from cltrace.store.db import create_db, insert_run, open_db
    path = tmp_path / "t.db"
    conn = create_db(str(path))
    with conn:
        insert_run(conn, command="./app", argv=["./app"], status="ok")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"     # while writing: readers not blocked
    conn.close()
    for write in (False, True, False):
        c = open_db(str(path), write=write)
        assert c.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        c.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["t.db"]


def test_a_writer_closing_while_a_reader_is_open_keeps_the_trace_readable(tmp_path):
    from cltrace.store.db import create_db, insert_run, open_db
    path = str(tmp_path / "t.db")
    conn = create_db(path)
    reader = open_db(path)
    with conn:
        insert_run(conn, command="./app", argv=["./app"], status="ok")
    conn.close()                      # the reader still holds the trace: it stays in WAL mode, nothing is lost
    assert reader.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    reader.close()
    again = open_db(path)
    assert again.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    again.close()


def test_new_traces_use_16k_pages_and_keep_temporary_files_in_memory(tmp_path):
    from cltrace.store.db import PAGE_SIZE, create_db, open_db
    conn = create_db(str(tmp_path / "t.db"))
    assert PAGE_SIZE == 16384 and conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2          # MEMORY
    conn.close()
    again = open_db(str(tmp_path / "t.db"), write=True)
    assert again.execute("PRAGMA temp_store").fetchone()[0] == 2
    again.close()
