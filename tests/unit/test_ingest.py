"""Capture files -> trace rows: resolution by seq, times, regions, atomicity."""
import json

import pandas as pd
import pytest
from capture_factory import CaptureBuilder, bulk_capture, simple_capture

import cltrace
from cltrace.capture import K
from cltrace.capture.format import FORMAT_VERSION, REC_DTYPE
from cltrace.errors import NewerCaptureFormat
from cltrace.store import ingest as ingest_mod
from cltrace.store.db import create_db, insert_run
from cltrace.store.ingest import asof, ingest_capture_dir


def _ingest(tmp_path, *builders, name="t.db"):
    cap = tmp_path / "cap"
    cap.mkdir(exist_ok=True)
    for i, b in enumerate(builders):
        b.write(cap / f"{b.pid}.{i}.clt")
    db = tmp_path / name
    conn = create_db(db)
    with conn:
        run_id = insert_run(conn, command="app", status="ok")
        stats = ingest_capture_dir(conn, run_id, cap)
    conn.close()
    return cltrace.open(db), stats


def test_round_trip(tmp_path):
    t, stats = _ingest(tmp_path, simple_capture(launches=3))
    assert stats.launches == 3 and stats.processes == 1 and stats.untimed_launches == 0
    p = t.processes.iloc[0]
    assert p.pid == 4242 and json.loads(p.argv) == ["./app", "--n", "3"] and p.clean_exit == 1
    assert p.launches == 3 and p.records == 12 and p.truncated_bytes == 0 and p["mode"] == "layer"
    d = t.devices.iloc[0]
    assert d["name"] == "cpu-haswell" and d.platform_name == "Portable Computing Language" and d.handle == 0xD0
    prog = t.programs.iloc[0]
    assert prog.kind == "build" and prog.options == "-cl-fast-relaxed-math" and prog.build_ms == 0.001
    L = t.launches
    assert list(L.kernel_name) == ["conv"] * 3
    assert list(L.duration_ns) == [500] * 3 and set(L.times_status) == {"ok"}
    assert list(L.work_groups) == [8] * 3 and list(L.api) == ["ndrange"] * 3
    assert L.device_id.iloc[0] == d.device_id and L.queue_id.iloc[0] == t.queues.queue_id.iloc[0]
    assert L.offset0.iloc[0] == 0 and L.offset2.isna().all() and L.global1.iloc[0] == 8
    assert "summary" not in stats.summary_line("t.db") and "3 kernel launches" in stats.summary_line("t.db")


def test_kernel_handle_reuse_resolved_by_seq(tmp_path):
    b = CaptureBuilder()
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "first")
    s1 = b.launch(0x10, 0x20, (8,), (8,))
    b.kernel(0x20, "second")          # same cl_kernel pointer, released and reused
    s2 = b.launch(0x10, 0x20, (8,), (8,))
    b.queue(0x10, 0xD1)               # queue handle reused on another device
    b.device(0xD1, "gpu")             # described after its first use
    s3 = b.launch(0x10, 0x20, (8,), (8,))
    b.launch(0x10, 0x99, (8,), (8,))  # unknown kernel
    t, _ = _ingest(tmp_path, b)
    L = t.launches.set_index("seq")
    assert L.loc[s1, "kernel_name"] == "first" and L.loc[s2, "kernel_name"] == "second"
    k = t.kernels.set_index("name")
    assert L.loc[s1, "kernel_id"] == k.loc["first", "kernel_id"]
    assert L.loc[s2, "kernel_id"] == L.loc[s3, "kernel_id"] == k.loc["second", "kernel_id"]
    assert L.kernel_id.isna().sum() == 1
    dev = t.devices.set_index("handle")
    assert L.loc[s1, "device_id"] == dev.loc[0xD0, "device_id"]
    assert L.loc[s3, "device_id"] == dev.loc[0xD1, "device_id"]
    assert L.loc[s1, "queue_id"] != L.loc[s3, "queue_id"]


def test_asof_strictly_before():
    idx = asof([5, 5, 7], [1, 10, 3], [5, 5, 5, 7, 8], [1, 2, 11, 4, 9])
    assert list(idx) == [-1, 0, 1, 2, -1]


def test_times_status_and_shapes(tmp_path):
    b = CaptureBuilder()
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")
    ok = b.launch(0x10, 0x20, (100, 10, 3), (8, 4, 2), offset=(1, 2, 3))
    b.times(ok, 2000, 2600)
    perr = b.launch(0x10, 0x20, (64,), (8,))
    b.times(perr, 0, 0, queued=0, submit=0, reason=K.CLT_TIMES_PROFILING_ERR, status=-7)
    failed = b.launch(0x10, 0x20, (64,), (8,))
    b.times(failed, 0, 0, queued=0, submit=0, reason=K.CLT_TIMES_FAILED, status=-5)
    pending = b.launch(0x10, 0x20, (64,), (8,))
    b.times(pending, 0, 0, queued=0, submit=0, reason=K.CLT_TIMES_PENDING_EXIT)
    missing = b.launch(0x10, 0x20, (64,), None)
    untimed = b.launch(0x10, 0x20, (64,), (8,), flags=K.CLT_LAUNCH_UNTIMED | K.CLT_LAUNCH_API_CMDBUF)
    task = b.launch(0x10, 0x20, (1,), (1,), flags=K.CLT_LAUNCH_API_TASK | K.CLT_LAUNCH_OWN_EVENT, arg_bytes=4096)
    b.times(task, 3000, 3100)
    enq_err = b.launch(0x10, 0x20, (64,), (8,), error=-54, flags=K.CLT_LAUNCH_UNTIMED)  # as the shim writes it
    t, stats = _ingest(tmp_path, b)
    L = t.launches.set_index("seq")
    st = L.times_status
    assert st[ok] == "ok" and st[perr] == "profiling-error" and st[failed] == "failed"
    assert st[pending] == "pending-at-exit" and st[missing] == "missing" and st[untimed] == "untimed"
    assert st[enq_err] == "failed" and L.loc[enq_err, "error"] == -54
    assert L.loc[ok, "work_groups"] == 13 * 3 * 2 and L.loc[ok, "duration_ns"] == 600
    assert L.loc[ok, "offset2"] == 3 and L.loc[ok, "local2"] == 2 and L.loc[ok, "start_ns"] == 2000
    assert L.loc[perr, "duration_ns"] is None or L.loc[perr, "duration_ns"] is __import__("pandas").NA
    assert L.loc[missing, "driver_local"] == 1 and L.loc[missing, "local0"] is __import__("pandas").NA
    assert L.loc[missing, "work_groups"] is __import__("pandas").NA
    assert L.loc[untimed, "api"] == "command_buffer" and L.loc[task, "api"] == "task"
    assert L.loc[task, "own_event"] == 1 and L.loc[task, "arg_bytes"] == 4096
    assert L.arg_bytes.isna().sum() == len(L) - 1
    assert stats.untimed_launches == 6
    assert t.processes.untimed_launches.iloc[0] == 6 and t.processes.clean_exit.iloc[0] == 0


def test_regions_nest_per_thread(tmp_path):
    b = CaptureBuilder()
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")
    before = b.launch(0x10, 0x20, (8,), (8,), tid=1)
    b.region_begin(1, "outer", "channels=92,method=gemm", tid=1)
    in_outer = b.launch(0x10, 0x20, (8,), (8,), tid=1)
    b.region_begin(2, "inner", "", tid=1)
    other_thread = b.launch(0x10, 0x20, (8,), (8,), tid=2)
    in_inner = b.launch(0x10, 0x20, (8,), (8,), tid=1)
    b.region_end(2, tid=1)
    back_in_outer = b.launch(0x10, 0x20, (8,), (8,), tid=1)
    b.region_begin(3, "t2", "a=1", tid=2)
    on_t2 = b.launch(0x10, 0x20, (8,), (8,), tid=2)
    b.region_end(1, tid=1)
    after = b.launch(0x10, 0x20, (8,), (8,), tid=1)
    b.region_end(77, tid=1)           # never begun: a note, no crash
    t, stats = _ingest(tmp_path, b)
    R = t.regions.set_index("name")
    assert json.loads(R.loc["outer", "tags"]) == {"channels": "92", "method": "gemm"}
    assert R.loc["inner", "tags"] is None or R.loc["inner", "tags"] is __import__("pandas").NA
    assert R.loc["t2", "end_ns"] is __import__("pandas").NA
    L = t.launches.set_index("seq").region_id
    na = __import__("pandas").NA
    assert L[before] is na and L[after] is na and L[other_thread] is na
    assert L[in_outer] == L[back_in_outer] == R.loc["outer", "region_id"]
    assert L[in_inner] == R.loc["inner", "region_id"]
    assert L[on_t2] == R.loc["t2", "region_id"]
    assert "region" in set(t.notes.kind)


def test_several_processes_same_pid_and_notes(tmp_path):
    a = simple_capture(pid=10, launches=2)
    a.note(K.CLT_NOTE_EXT_LOOKUP, "clCommandNDRangeKernelKHR", 1)
    a.note(K.CLT_NOTE_DROPPED, "", 5)
    b = simple_capture(pid=10, launches=1, exit_note=False)   # exec'd image, same pid
    b.start_mono_ns += 10**9
    t, stats = _ingest(tmp_path, a, b)
    assert stats.processes == 2 and stats.launches == 3
    P = t.processes
    assert list(P.pid) == [10, 10] and list(P.clean_exit) == [1, 0] and list(P.launches) == [2, 1]
    notes = t.notes.set_index("kind")
    assert notes.loc["ext-lookup", "message"] == "clCommandNDRangeKernelKHR"
    assert notes.loc["dropped", "value"] == 5
    assert (t.launches.groupby("process_id").kernel_id.nunique() == 1).all()


def test_truncated_capture_is_a_note(tmp_path):
    b = simple_capture(launches=3)
    cap = tmp_path / "cap"
    cap.mkdir()
    data = b.to_bytes()
    (cap / "1.clt").write_bytes(data[:128 + 16 + 600])
    db = tmp_path / "t.db"
    conn = create_db(db)
    with conn:
        run_id = insert_run(conn, command="app", status="ok")
        stats = ingest_capture_dir(conn, run_id, cap)
    assert stats.truncated_bytes > 0 and stats.warnings and "is truncated" in stats.warnings[0]
    t = cltrace.open(db)
    assert t.processes.truncated_bytes.iloc[0] == stats.truncated_bytes
    assert t.notes.kind.tolist() == ["truncated"]
    assert t.notes.message.tolist() == stats.warnings and t.notes.value.tolist() == [stats.truncated_bytes]
    assert stats.damaged_files == 1 and stats.summary_line("t.db").endswith(
        f"; 1 capture file truncated or damaged, {stats.truncated_bytes} bytes of capture could not be read")


def test_capture_cut_between_two_records_is_a_note(tmp_path):
    """No byte is unreadable, but the file ends inside a chunk: it was cut, and the user is told."""
    from cltrace.capture import K, open_capture
    data = simple_capture(launches=3).to_bytes()
    cap = tmp_path / "cap"
    cap.mkdir()
    (cap / "1.clt").write_bytes(data)
    with open_capture(cap / "1.clt") as full:
        cut = int(full.offsets[full.types == K.CLT_REC_LAUNCH][1])
    (cap / "1.clt").write_bytes(data[:cut])
    conn = create_db(tmp_path / "t.db")
    with conn:
        run_id = insert_run(conn, command="app", status="ok")
        stats = ingest_capture_dir(conn, run_id, cap)
    warning = (f"{cap / '1.clt'} is truncated: read 7 records (1 launch); the file ends at byte {cut}, inside "
               "chunk 0; 0 bytes after the last complete record could not be read; how many launches were lost "
               "cannot be known from the file")
    assert stats.launches == 1 and stats.truncated_bytes == 0 and stats.warnings == [warning]
    assert stats.summary_line("t.db") == ("1 kernel launches from 1 process written to t.db; 1 capture file "
                                          "truncated or damaged, 0 bytes of capture could not be read")
    t = cltrace.open(tmp_path / "t.db")
    assert t.notes[["kind", "value", "message"]].values.tolist() == [["truncated", 0, warning]]


def test_unreadable_file_in_dir_is_noted_newer_format_raises(tmp_path):
    cap = tmp_path / "cap"
    cap.mkdir()
    simple_capture().write(cap / "1.clt")
    (cap / "junk.clt").write_bytes(b"junk" * 10)
    conn = create_db(tmp_path / "t.db")
    with conn:
        run_id = insert_run(conn, command="app", status="ok")
        stats = ingest_capture_dir(conn, run_id, cap)
    assert stats.processes == 1 and any("bad magic" in w for w in stats.warnings)
    newer = simple_capture()
    newer.version = FORMAT_VERSION + 1
    newer.write(cap / "2.clt")
    with pytest.raises(NewerCaptureFormat):
        ingest_capture_dir(conn, run_id, cap)


def test_failed_ingestion_leaves_no_partial_run(tmp_path, monkeypatch):
    cap = tmp_path / "cap"
    cap.mkdir()
    simple_capture(pid=1).write(cap / "1.clt")
    simple_capture(pid=2).write(cap / "2.clt")
    db = tmp_path / "t.db"
    conn = create_db(db)
    real = ingest_mod._insert_launches
    calls = []

    def boom(*args, **kw):
        calls.append(1)
        if len(calls) == 2:           # second process: after the first one's rows went in
            raise RuntimeError("disk on fire")
        return real(*args, **kw)

    monkeypatch.setattr(ingest_mod, "_insert_launches", boom)
    # the CLI's pattern: run row and ingestion in one `with conn:` transaction
    with pytest.raises(RuntimeError):
        with conn:
            run_id = insert_run(conn, command="app", status="ok")
            ingest_capture_dir(conn, run_id, cap)
    # ingestion on its own (autocommitted run row): its rows vanish, the run row stays
    run_id = insert_run(conn, command="app", status="ok")
    conn.commit()
    calls.clear()
    with pytest.raises(RuntimeError):
        ingest_capture_dir(conn, run_id, cap)
    conn.close()
    t = cltrace.open(db)
    assert len(t.runs) == 1
    for table in ("processes", "devices", "queues", "programs", "kernels", "launches", "notes", "regions"):
        assert len(getattr(t, table)) == 0, table
    monkeypatch.undo()
    conn = create_db(db)
    stats = ingest_capture_dir(conn, run_id, cap)
    assert stats.launches == 6 and cltrace.open(db).launches.launch_id.is_unique


def test_bulk_matches_single_records(tmp_path):
    b = CaptureBuilder(chunk_size=4096)
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "a")
    b.kernel(0x21, "b")
    b.region_begin(1, "r", "x=1")
    seqs = b.bulk_launches(1000, 0x10, [0x20, 0x21], global_=(100, 7), local=(10, 7))
    b.region_end(1)
    t, stats = _ingest(tmp_path, b)
    L = t.launches
    assert len(L) == 1000 and list(L.seq) == list(seqs)
    assert (L.work_groups == 10).all() and (L.duration_ns == 1000).all()
    assert list(L.kernel_name[:4]) == ["a", "b", "a", "b"] and L.region_id.notna().all()


# -- native launch feed (libcltrace_store.so on the caller's connection) vs the executemany path ----------------
def _varied_capture():
    b = CaptureBuilder()
    b.process(["./app"])
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "conv")
    b.kernel(0x21, "gemm")
    b.region_begin(1, "layer", "channels=64", tid=7)
    b.launch(0x10, 0x20, (8, 4), (8, 4), tid=7)
    b.launch(0x10, 0x21, (16,), None, tid=7)
    b.region_end(1, tid=7)
    b.launch(0x10, 0x99, (8, 8, 8), (2, 2, 2))
    b.bulk_launches(500, 0x10, [0x20, 0x21])
    b.exit_note()
    return b


def _all_launches(t):
    return t.db.execute("SELECT * FROM launches ORDER BY launch_id").fetchall()


@pytest.mark.skipif(not ingest_mod.fast._lib(), reason="libcltrace_store.so not built")
def test_native_and_python_insert_write_the_same_rows(tmp_path, monkeypatch):
    t_native, s1 = _ingest(tmp_path / "a" if (tmp_path / "a").mkdir() is None else None, _varied_capture())
    monkeypatch.setattr(ingest_mod.fast, "available", lambda conn: False)
    t_py, s2 = _ingest(tmp_path / "b" if (tmp_path / "b").mkdir() is None else None, _varied_capture())
    assert s1.launches == s2.launches == 503
    assert _all_launches(t_native) == _all_launches(t_py)


def _size_mix_capture(small):
    """Launches in every shape the shim records; with small, those a clt_launch_small can hold are written
    as one (the shim's choice), the others (an offset, a size past 32 bits, a slow call) stay clt_launch."""
    b = CaptureBuilder()
    b.process(["./app"])
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "conv")
    b.region_begin(1, "layer", "channels=64", tid=7)
    for shape in [dict(global_=(8, 4), local=(8, 4), tid=7), dict(global_=(16,), tid=7, error=-54),
                  dict(global_=(8, 8, 8), local=(2, 2, 2), offset=(0, 0, 0), arg_bytes=4096),
                  dict(global_=(1,), local=(1,), flags=K.CLT_LAUNCH_API_TASK | K.CLT_LAUNCH_OWN_EVENT),
                  dict(global_=(4096, 4096), local=(16, 16), return_dns=2**32 - 1)]:
        s = b.launch(0x10, 0x20, small=small, **shape)
        b.times(s, 10_000 + 1000 * s, 10_500 + 1000 * s)
    b.region_end(1, tid=7)
    for shape in [dict(global_=(64,), offset=(2,)), dict(global_=(2**33,), local=(64,)),
                  dict(global_=(64,), return_dns=2**32)]:
        b.launch(0x10, 0x20, **shape)
    b.exit_note()
    return b


@pytest.mark.parametrize("path", ["native", "python"])
def test_small_launch_records_read_as_the_wide_ones(tmp_path, monkeypatch, path):
    if path == "python":
        monkeypatch.setattr(ingest_mod.fast, "available", lambda conn: False)
    elif not ingest_mod.fast._lib():
        pytest.skip("libcltrace_store.so not built")
    wide, small = _size_mix_capture(False), _size_mix_capture(True)
    saved = REC_DTYPE[K.CLT_REC_LAUNCH].itemsize - REC_DTYPE[K.CLT_REC_LAUNCH_SMALL].itemsize
    assert sum(len(c[1]) for c in small.chunks) == sum(len(c[1]) for c in wide.chunks) - 5 * saved
    (tmp_path / "w").mkdir()
    (tmp_path / "s").mkdir()
    t_wide, s_wide = _ingest(tmp_path / "w", wide)
    t_small, s_small = _ingest(tmp_path / "s", small)
    assert s_wide.launches == s_small.launches == 8
    assert _all_launches(t_small) == _all_launches(t_wide)
    L = t_small.launches.sort_values("seq")
    assert L["work_dim"].tolist() == [2, 1, 3, 1, 2, 1, 1, 1]
    assert L["global0"].tolist()[-2] == 2**33 and L["offset0"].tolist()[-3] == 2
    assert (L["host_return_ns"] - L["host_enqueue_ns"]).tolist()[4] == 2**32 - 1


@pytest.mark.skipif(not ingest_mod.fast._lib(), reason="libcltrace_store.so not built")
def test_native_insert_rolls_back_with_the_callers_transaction(tmp_path):
    cap = tmp_path / "cap"
    cap.mkdir()
    _varied_capture().write(cap / "1.clt")
    db = tmp_path / "t.db"
    conn = create_db(db)
    assert ingest_mod.fast.available(conn)
    with pytest.raises(RuntimeError):
        with conn:
            run_id = insert_run(conn, command="app", status="ok")
            ingest_capture_dir(conn, run_id, cap)
            assert conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == 503  # visible inside
            raise RuntimeError("killed after ingest, before commit")
    assert conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    conn.close()


def test_python_fallback_when_disabled(tmp_path, monkeypatch):
    monkeypatch.setitem(ingest_mod.fast._state, "lib", None)
    t, stats = _ingest(tmp_path, _varied_capture())
    assert stats.launches == 503 and len(t.launches) == 503


def test_sigkill_mid_ingest_leaves_no_partial_run(tmp_path):
    """A process killed after the (native) launch insert but before commit: the db is valid, no run shows."""
    import os
    import signal
    import subprocess
    import sys
    cap = tmp_path / "cap"
    cap.mkdir()
    _varied_capture().write(cap / "1.clt")
    db = tmp_path / "t.db"
    create_db(db).close()
    here = os.path.dirname(os.path.abspath(__file__))
    code = f"""
import os, signal, sys
sys.path.insert(0, {here!r})
from cltrace.store.db import open_db, insert_run
from cltrace.store.ingest import ingest_capture_dir
conn = open_db({str(db)!r}, write=True)
with conn:
    run_id = insert_run(conn, command="app", status="ok")
    ingest_capture_dir(conn, run_id, {str(cap)!r})
    os.kill(os.getpid(), signal.SIGKILL)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == -signal.SIGKILL, p.stderr
    t = cltrace.open(db)
    assert t.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(t.runs) == 0 and len(t.launches) == 0 and len(t.processes) == 0


@pytest.mark.parametrize("native", [True, False])
def test_launches_without_times_after_a_clean_exit_are_pending_at_exit(tmp_path, monkeypatch, native):
    """Issue 14 item 11: launches handed to completion callbacks (--max-pending) whose callback had not run when
    the program exited have no times record; after a clean exit with nothing lost they were still running:
    pending-at-exit, not missing. Without the exit flush (a crash, a cut file) nobody knows: missing."""
    if native and not ingest_mod.fast._lib():
        pytest.skip("libcltrace_store.so not built")
    if not native:
        monkeypatch.setattr(ingest_mod.fast, "available", lambda conn: False)

    def capture(exit_note):
        b = CaptureBuilder()
        b.device(0xD0)
        b.queue(0x10, 0xD0)
        b.kernel(0x20, "k")
        done = b.launch(0x10, 0x20, (64,), (8,))
        b.times(done, 1000, 1500)
        ring = b.launch(0x10, 0x20, (64,), (8,))
        b.times(ring, 0, 0, queued=0, submit=0, reason=K.CLT_TIMES_PENDING_EXIT)
        in_callback = b.launch(0x10, 0x20, (64,), (8,))
        untimed = b.launch(0x10, 0x20, (64,), (8,), flags=K.CLT_LAUNCH_UNTIMED)
        if exit_note:
            b.exit_note(pending=2)
        return b, (done, ring, in_callback, untimed)

    for exit_note, expect in ((True, "pending-at-exit"), (False, "missing")):
        b, (done, ring, in_callback, untimed) = capture(exit_note)
        t, _ = _ingest(tmp_path / f"{native}{exit_note}" if (tmp_path / f"{native}{exit_note}").mkdir() is None
                       else None, b)
        st = t.launches.set_index("seq").times_status
        assert (st[done], st[ring], st[in_callback], st[untimed]) == ("ok", "pending-at-exit", expect, "untimed")


def test_bulk_small_launches_ingest_as_the_wide_ones(tmp_path):
    """The benchmarks' bulk writer in both record kinds gives the same trace (bench_ingest measures small)."""
    traces = []
    for small in (False, True):
        b, handles = bulk_capture(n_kernels=2, chunk_size=16384)
        b.bulk_launches(300, 0x10, handles, small=small)
        b.bulk_launches(5, 0x10, handles[1:], local=None, small=small)
        b.exit_note()
        d = tmp_path / str(small)
        d.mkdir()
        traces.append(_ingest(d, b)[0])
    assert len(traces[0].launches) == 305
    assert _all_launches(traces[0]) == _all_launches(traces[1])


# -- the device level (format 4) and the options a kernel's program was built with ------------------------------

def _device_level_capture(version=FORMAT_VERSION):
    b = CaptureBuilder(version=version)
    b.process(["./app"])
    b.device(0xD0, "cpu")
    if version >= 4:
        b.device_cl(0xD0, version="OpenCL 3.0 X", c_version="OpenCL C 3.0 X", extensions="cl_khr_fp64",
                    non_uniform_wg=1)
    b.device(0xD1, "gpu")
    if version >= 4:          # an older driver: no answer to the 3.0 query, nor to the C version
        b.device_cl(0xD1, version="OpenCL 2.1 Y", c_version=None, extensions="", non_uniform_wg=None)
    b.queue(0x10, 0xD0)
    b.queue(0x11, 0xD1)
    b.kernel(0x20, "k")
    b.launch(0x10, 0x20, (8,), (8,))
    b.launch(0x11, 0x20, (8,), (8,))
    return b


@pytest.mark.parametrize("native", [True, False], ids=["native-insert", "python-insert"])
def test_device_level_is_ingested(tmp_path, monkeypatch, native):
    if not native:
        monkeypatch.setattr(ingest_mod.fast, "available", lambda conn: False)
    t, stats = _ingest(tmp_path, _device_level_capture())
    D = t.devices.set_index("name")
    cpu, gpu = D.loc["cpu"], D.loc["gpu"]
    assert (cpu.opencl_version, cpu.opencl_c_version, cpu.extensions, cpu.non_uniform_wg) == (
        "OpenCL 3.0 X", "OpenCL C 3.0 X", "cl_khr_fp64", 1)
    # a refused query is NULL; an empty answer is "" (the driver said: none)
    assert gpu.opencl_version == "OpenCL 2.1 Y" and gpu.extensions == ""
    assert gpu.isna()["opencl_c_version"] and gpu.isna()["non_uniform_wg"]
    assert t.launches["device_id"].tolist() == [cpu.device_id, gpu.device_id]


def test_device_level_is_null_in_an_older_capture(tmp_path):
    """Format 3 (shims before the device level record) is still read: the facts are not known."""
    t, stats = _ingest(tmp_path, _device_level_capture(version=3))
    assert stats.launches == 2
    D = t.devices
    assert D["name"].tolist() == ["cpu", "gpu"]
    assert D[["opencl_version", "opencl_c_version", "non_uniform_wg", "extensions"]].isna().all().all()


def test_device_level_follows_its_device_record(tmp_path):
    """A device described again (a reused handle) gets the level record written after it, not the first one."""
    b = CaptureBuilder()
    b.device(0xD0, "first")
    b.device_cl(0xD0, version="OpenCL 1.2 A", non_uniform_wg=None)
    b.device(0xD0, "second")
    b.device_cl(0xD0, version="OpenCL 3.0 B", non_uniform_wg=0)
    t, _ = _ingest(tmp_path, b)
    D = t.devices
    assert D["name"].tolist() == ["first", "second"]
    assert D["opencl_version"].tolist() == ["OpenCL 1.2 A", "OpenCL 3.0 B"]
    assert D["non_uniform_wg"].isna().tolist() == [True, False] and D["non_uniform_wg"].iloc[1] == 0


def test_kernel_build_options_follow_the_record_order(tmp_path):
    """Per kernel, the options of the last successful build of its program before the kernel: a program handle
    the driver reused does not lend its options; a failed build does not count; a linked program gives its link
    options; a program never built gives NULL."""
    b = CaptureBuilder()
    b.program(0x30, kind=K.CLT_CREATE)
    b.program(0x30, options="-cl-std=CL2.0 -DTILE=4")
    b.kernel(0x20, "tile4", program=0x30)
    b.program(0x30, options="-DBROKEN", error=-11)           # a failed rebuild
    b.kernel(0x21, "tile4_again", program=0x30)
    b.program(0x30, kind=K.CLT_CREATE)                        # released; a new program at the same address
    b.program(0x30, options="-DTILE=8")
    b.kernel(0x22, "tile8", program=0x30)
    b.program(0x40, kind=K.CLT_CREATE)
    b.program(0x40, kind=K.CLT_COMPILE, options="-cl-std=CL2.0")
    b.program(0x50, kind=K.CLT_LINK, options="-cl-uniform-work-group-size")
    b.kernel(0x23, "linked", program=0x50)
    b.program(0x60, kind=K.CLT_CREATE)
    b.kernel(0x24, "unbuilt", program=0x60)
    b.program(0x30, options="-DLATER")                        # after every kernel: lends nothing
    t, _ = _ingest(tmp_path, b)
    B = t.kernel_build_options()
    assert list(B.columns) == ["run_id", "process_id", "kernel_id", "kernel_name", "program_kind", "options"]
    got = [(r.kernel_name, None if r.program_kind is pd.NA else r.program_kind,
            None if r.options is pd.NA else r.options) for r in B.itertuples()]
    assert got == [("tile4", "build", "-cl-std=CL2.0 -DTILE=4"), ("tile4_again", "build", "-cl-std=CL2.0 -DTILE=4"),
                   ("tile8", "build", "-DTILE=8"), ("linked", "link", "-cl-uniform-work-group-size"),
                   ("unbuilt", None, None)]
    assert B["kernel_id"].tolist() == t.kernels["kernel_id"].tolist()
    assert t.kernels["seq"].is_monotonic_increasing and t.programs["seq"].notna().all()
    with pytest.raises(cltrace.errors.NoSuchRun):
        t.kernel_build_options(run=99)
    assert len(t.kernel_build_options(run=1)) == 5


# ---- the run's latency, summed while its launches are written (IngestStats.latency_ms) ----

_VIEW_SUMS = ("SELECT region_id, SUM(duration_ns) FROM launches WHERE run_id = ? AND duration_ns IS NOT NULL "
              "GROUP BY region_id")     # the query the progress line ran per run before: the reference


def _regions_capture(pid=20):
    """Timed launches inside nested regions on two threads and outside every region, plus launches without
    times (inside a region too): (builder, {region name: summed device ns}, ns outside every region)."""
    b = CaptureBuilder(pid=pid)
    b.process(["./app"])
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")

    def timed(ns, tid=1):
        s = b.launch(0x10, 0x20, (8,), (8,), tid=tid)
        b.times(s, 1000 * s, 1000 * s + ns, tid=tid)
    timed(7)                                   # outside
    b.region_begin(1, "outer", "c=1", tid=1)
    timed(100)
    b.region_begin(2, "inner", "c=2", tid=1)
    timed(30)
    timed(0)                                   # a 0 ns launch still makes its region a timed one
    b.launch(0x10, 0x20, (8,), (8,), tid=1)    # no times record: not counted
    timed(5, tid=2)                            # another thread: outside
    b.region_end(2, tid=1)
    timed(50)                                  # back in outer
    b.region_begin(3, "t2", "c=3", tid=2)
    timed(900, tid=2)
    b.region_end(3, tid=2)
    b.region_begin(4, "untimed", "c=4", tid=2)
    b.launch(0x10, 0x20, (8,), (8,), tid=2, flags=K.CLT_LAUNCH_UNTIMED)    # a region without a timed launch
    b.region_end(4, tid=2)
    b.region_end(1, tid=1)
    timed(11)                                  # outside again
    b.exit_note()
    return b, {"outer": 150, "inner": 30, "t2": 900}, 7 + 5 + 11


def _no_regions_capture(pid=21, ns=(40, 60)):
    b = CaptureBuilder(pid=pid)
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")
    for v in ns:
        s = b.launch(0x10, 0x20, (8,), (8,))
        b.times(s, 1000 * s, 1000 * s + v)
    b.launch(0x10, 0x20, (8,), (8,), error=-5, flags=K.CLT_LAUNCH_UNTIMED)
    b.exit_note()
    return b


def _ingest_runs(tmp_path, runs):
    """Each list of builders ingested as one run of one trace (in order): [(run_id, stats)], the connection."""
    conn = create_db(tmp_path / "t.db")
    out = []
    for i, builders in enumerate(runs):
        cap = tmp_path / f"cap{i}"
        cap.mkdir()
        for j, b in enumerate(builders):
            b.write(cap / f"{b.pid}.{j}.clt")
        with conn:
            run_id = insert_run(conn, command="app", status="ok")
            out.append((run_id, ingest_capture_dir(conn, run_id, cap)))
    return out, conn


@pytest.mark.parametrize("path", ["native", "python"])
def test_the_ingest_sums_each_regions_device_time_as_the_query_does(tmp_path, monkeypatch, path):
    from cltrace.store.queries import run_latency_ms
    if path == "python":
        monkeypatch.setattr(ingest_mod.fast, "available", lambda conn: False)
    elif not ingest_mod.fast._lib():
        pytest.skip("libcltrace_store.so not built")
    regions, expected, outside = _regions_capture()
    runs, conn = _ingest_runs(tmp_path, [
        [_no_regions_capture(pid=10, ns=(1, 2))],               # a run before: its launches are not the next one's
        [regions, _no_regions_capture(pid=21, ns=(40, 60))],    # regions in one process, none in the other
        [_no_regions_capture(pid=30, ns=(40, 60)), _no_regions_capture(pid=31, ns=(1000,))],
        [_no_regions_capture(pid=40, ns=())],                   # no timed launch at all
        []])                                                    # no capture file
    names = dict(conn.execute("SELECT region_id, name FROM regions WHERE run_id = ?", (runs[1][0],)).fetchall())
    got = {(names[r] if r is not None else None): v for r, v in runs[1][1].region_device_ns.items()}
    assert got == {**expected, None: outside + 100}
    for run_id, stats in runs:
        assert stats.region_device_ns == dict(conn.execute(_VIEW_SUMS, (run_id,)).fetchall())
        assert stats.latency_ms() == run_latency_ms(conn, run_id)
    # median of the regions' sums (upper median of 150, 30, 900: 150), the other process's launches outside
    assert [s.latency_ms() for _, s in runs] == [3 / 1e6, 150 / 1e6, 1100 / 1e6, None, None]
    conn.close()


def test_a_run_with_regions_of_even_count_takes_the_upper_median(tmp_path):
    from cltrace.store.queries import latency_from_sums, run_latency_ms
    b = CaptureBuilder()
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")
    for rid, ns in ((1, 400), (2, 100), (3, 300), (4, 200)):
        b.region_begin(rid, f"r{rid}")
        s = b.launch(0x10, 0x20, (8,), (8,))
        b.times(s, 1000 * s, 1000 * s + ns)
        b.region_end(rid)
    runs, conn = _ingest_runs(tmp_path, [[b]])
    run_id, stats = runs[0]
    assert stats.latency_ms() == run_latency_ms(conn, run_id) == 300 / 1e6
    assert latency_from_sums({}) is None and latency_from_sums({None: 5, 9: 7}) == 7 / 1e6
    conn.close()
