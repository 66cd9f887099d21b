"""A run and the notes its caller adds (a sweep's provenance, stabilisers, stderr tail) are one transaction:
one COMMIT per run, and a failure while writing the notes leaves neither the run nor any of its rows."""
import pytest

from cltrace.record.session import trace_into
from cltrace.store.db import create_db
from cltrace.store.queries import add_note


@pytest.fixture
def trace(tmp_path):
    conn = create_db(tmp_path / "t.db")
    yield conn
    conn.close()


def _commits(conn):
    seen = []
    conn.set_trace_callback(lambda sql: seen.append(sql) if sql.strip().upper().startswith("COMMIT") else None)
    return seen


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_a_run_and_its_notes_are_one_commit(trace, programs, mode):
    commits = _commits(trace)
    got = []

    def notes(run_id, child):
        got.append((run_id, child.status))
        add_note(trace, run_id, "provenance", '{"load": 1}')
        add_note(trace, run_id, "stabiliser", "cpu governor: left as it is", 0)

    traced = trace_into(trace, [programs("loop"), "3", "2"], mode=mode, stdout=open("/dev/null", "wb"),
                        notes=notes)
    trace.set_trace_callback(None)
    assert traced.child.status == "ok" and traced.stats.launches == 6
    assert got == [(traced.run_id, "ok")]
    assert len(commits) == 1
    assert trace.execute("SELECT kind, message, value FROM notes WHERE run_id = ? ORDER BY rowid",
                         (traced.run_id,)).fetchall() == [("provenance", '{"load": 1}', None),
                                                          ("stabiliser", "cpu governor: left as it is", 0)]


def test_a_failure_in_the_notes_keeps_nothing_of_the_run(trace, programs):
    def notes(run_id, child):
        add_note(trace, run_id, "provenance", "{}")
        raise RuntimeError("notes failed")

    with pytest.raises(RuntimeError, match="^notes failed$"):
        trace_into(trace, [programs("loop"), "3", "2"], mode="layer", stdout=open("/dev/null", "wb"), notes=notes)
    for table in ("runs", "notes", "launch_rows"):
        assert trace.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table
