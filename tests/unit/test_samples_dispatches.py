"""Samples from the store's layout (narrow launches + dispatches) equal samples from the full launches frame,
and the in-SQLite column collector (store.fast.collect) behind it reads exactly what a SELECT gives."""
import sqlite3

import numpy as np
import pandas as pd
import pytest

import cltrace
from cltrace.analysis.launch_codes import DISPATCH_COLUMNS
from cltrace.analysis.samples import build_samples
from cltrace.store import fast
from cltrace.store.db import create_db, insert_run
from test_samples_scale import _random_tables


def _dispatch_form(L):
    """L split as the store keeps it: a dispatches frame (one row per distinct DISPATCH_COLUMNS, numbered in
    order of first launch) and the launches with dispatch_id instead of those columns."""
    key = pd.MultiIndex.from_frame(L[list(DISPATCH_COLUMNS)].astype(object))
    codes, _ = pd.factorize(key, sort=False, use_na_sentinel=False)
    first = pd.Series(np.arange(len(L))).groupby(codes).min().sort_index().to_numpy()
    D = L.iloc[first][list(DISPATCH_COLUMNS)].reset_index(drop=True)
    D.insert(0, "dispatch_id", np.arange(1, len(D) + 1) * 3)        # ids need not be dense
    narrow = L.drop(columns=list(DISPATCH_COLUMNS))
    narrow["dispatch_id"] = (codes + 1) * 3
    return narrow, D


@pytest.mark.parametrize("seed", range(30))
def test_dispatch_form_gives_the_same_samples(seed):
    rng = np.random.default_rng(1000 + seed)
    L, runs, params, R = _random_tables(rng, nullable=seed % 2 == 0)
    want = build_samples(L, runs, params, R)
    narrow, D = _dispatch_form(L)
    got = build_samples(narrow, runs, params, R, dispatches=D)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs


def test_dispatch_form_rejects_a_launch_without_its_dispatch():
    L, runs, params, R = _random_tables(np.random.default_rng(7))
    narrow, D = _dispatch_form(L)
    with pytest.raises(ValueError, match="a launch refers to a dispatch that is not in `dispatches`"):
        build_samples(narrow, runs, params, R, dispatches=D.iloc[1:])
    with pytest.raises(ValueError, match="dispatches must be sorted by dispatch_id, without repeats"):
        build_samples(narrow, runs, params, R, dispatches=D.iloc[::-1])


# -- a real ingested trace -----------------------------------------------------------------------------

def _trace(tmp_path):
    from capture_factory import CaptureBuilder

    from cltrace.store.ingest import ingest_capture_dir
    db = tmp_path / "t.db"
    conn = create_db(db)
    for run, channels in ((1, 16), (2, 32)):
        cap = tmp_path / f"cap{run}"
        cap.mkdir()
        for pid in (100, 200):
            b = CaptureBuilder(pid=pid)
            b.device(0xD0)
            b.queue(0x10, 0xD0)
            b.kernel(0x20, "conv")
            b.kernel(0x21, "gemm")
            b.launch(0x10, 0x20, (8, 4), (8, 4))                     # outside any region
            for rep in range(3):
                b.region_begin(rep + 1, "layer", f"channels={channels}")
                b.bulk_launches(5 + run, 0x10, [0x20, 0x21], global_=(64 * run, 4), timed=rep != 1 or pid == 100)
                b.region_end(rep + 1)
            b.exit_note()
            b.write(cap / f"{pid}.clt")
        with conn:
            ingest_capture_dir(conn, insert_run(conn, command="app", status="ok"), cap)
    conn.close()
    return db


@pytest.mark.parametrize("native", [True, False])
def test_trace_samples_equal_samples_of_the_launches_view(tmp_path, monkeypatch, native):
    db = _trace(tmp_path)
    if not native:
        monkeypatch.setattr(fast, "available", lambda conn: False)
    t = cltrace.open(db)
    want = build_samples(t.launches, t.runs, t.params, t.regions)
    got = t.samples()
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs
    assert set(got["status"]) == {"ok", "cold", "untimed"}      # the case has every kind of sample
    one = t.samples(2)
    L2 = t.launches[t.launches["run_id"] == 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, build_samples(L2, t.runs[t.runs["run_id"] == 2], t.params, t.regions))
    assert set(one["run_id"]) == {2}


# -- the collector ------------------------------------------------------------------------------------

@pytest.fixture
def table(tmp_path):
    if not fast.available(sqlite3.connect(tmp_path / "probe.db")):
        pytest.skip("libcltrace_store.so not usable with this Python")
    conn = sqlite3.connect(tmp_path / "c.db")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, s TEXT)")
    conn.execute("CREATE INDEX t_b ON t(b)")
    rows = [(i, i * 7 if i % 5 else None, 100 - i, "x") for i in range(1, 51)]
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    return conn, rows


def test_collect_reads_what_select_gives(table):
    conn, rows = table
    got = fast.collect(conn, "t", ["a", "b"], "id BETWEEN ? AND ?", (3, 40), cap=100)
    want = conn.execute("SELECT a, b FROM t WHERE id BETWEEN 3 AND 40 ORDER BY id").fetchall()
    assert got["a"][0].tolist() == [a or 0 for a, _ in want]
    assert got["a"][1].tolist() == [a is None for a, _ in want]
    assert got["b"][0].tolist() == [b for _, b in want] and not got["b"][1].any()


def test_collect_says_when_rows_are_not_in_rowid_order(table):
    conn, _ = table
    with pytest.raises(fast.Unordered):          # the index on b walks the rows backwards
        fast.collect(conn, "t", ["a"], "b BETWEEN ? AND ?", (60, 90), cap=100)


def test_collect_errors(table):
    conn, _ = table
    with pytest.raises(RuntimeError, match="collect: more rows than the given bound"):
        fast.collect(conn, "t", ["a"], cap=10)
    with pytest.raises(sqlite3.DatabaseError, match="a value in t is not an integer"):
        fast.collect(conn, "t", ["s"], cap=100)
    with pytest.raises(sqlite3.DatabaseError, match="no such column: nope"):
        fast.collect(conn, "t", ["nope"], cap=100)


def test_collect_ranges_split_over_threads_closes_the_gaps(table, monkeypatch, tmp_path):
    """Parts on their own connections write at their rowid-span offsets; rows missing inside a part (deleted
    ids) leave gaps that must be closed, in rowid order, with nothing lost or repeated."""
    conn, _ = table
    conn.execute("DELETE FROM t WHERE id IN (3, 4, 5, 17, 30, 31, 44)")
    conn.commit()
    monkeypatch.setattr(fast, "PARALLEL_MIN_ROWS", 2)
    ranges = [(1, 20), (25, 50)]
    want = conn.execute("SELECT id, a, b FROM t WHERE id BETWEEN 1 AND 20 OR id BETWEEN 25 AND 50 "
                        "ORDER BY id").fetchall()
    for workers in (1, 2, 3, 5):
        got = fast.collect_ranges(conn, str(tmp_path / "c.db"), "t", ["id", "a", "b"], ranges, workers=workers)
        assert got["id"][0].tolist() == [r[0] for r in want], workers
        assert got["a"][0].tolist() == [r[1] or 0 for r in want]
        assert got["a"][1].tolist() == [r[1] is None for r in want]
        assert got["b"][0].tolist() == [r[2] for r in want]
    # 46 ids in 3 parts of at most ceil(46 / 3) = 16, cut across the range boundary
    assert fast._split(ranges, 3) == [[(1, 16)], [(17, 20), (25, 36)], [(37, 50)]]
    empty = fast.collect_ranges(conn, str(tmp_path / "c.db"), "t", ["a"], [])
    assert list(empty) == ["a"] and len(empty["a"][0]) == len(empty["a"][1]) == 0
