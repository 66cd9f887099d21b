"""Trace databases: creation, validation messages, run helpers, the Trace API."""
import sqlite3

import pytest

import cltrace
from cltrace.errors import CltraceError, NewerSchema, NotATrace, NotSQLite, TraceNotFound
from cltrace.store.db import create_db, finish_run, insert_run, open_db, set_run_tags


def test_create_has_meta(tmp_path):
    conn = create_db(tmp_path / "t.db")
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["schema_version"] == "1"
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
    assert str(e.value) == f"{p} was written by a newer cltrace (schema 9, this cltrace reads up to 1)"


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
