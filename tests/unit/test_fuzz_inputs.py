"""Fuzzed inputs: damaged trace databases and capture files never end in a traceback.

(a) Random bytes, truncations and bit flips of a valid trace.db, given to cltrace.open() and to the CLI
    commands that read a trace (report, plot, diff, export), in-process: the CLI may only exit 0, 1 or 2,
    and when it fails it prints exactly one line on stderr starting with 'cltrace: '.
(b) The capture reader on capture files with random headers, versions, chunk headers and huge counts:
    it raises CaptureError or reads what it can, never anything else, never hangs.

Deterministic (derandomize=True) and small enough for every run.
"""
import os
import shutil
import signal
import sqlite3
import struct
import tempfile
import traceback
from contextlib import contextmanager

import numpy as np
import pytest
from capture_factory import CaptureBuilder, simple_capture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cltrace
from cltrace.capture import open_capture
from cltrace.capture.format import (CHUNK_HEADER_SIZE, FILE_HEADER_DTYPE, FILE_HEADER_SIZE, REC_DTYPE,
                                    STRING_FIELDS, K)
from cltrace.cli.main import main
from cltrace.errors import CaptureError, CltraceError
from cltrace.store.db import create_db, insert_run, set_run_tags
from cltrace.store.ingest import ingest_capture_dir

FUZZ = dict(derandomize=True, database=None, deadline=None, print_blob=True, report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TABLES = ("runs", "run_tags", "processes", "devices", "queues", "programs", "kernels", "regions", "launches",
          "dispatches", "notes")
COMMANDS = ("report", "report-json", "plot", "diff", "diff2", "export-csv", "export-chrome", "export-lut")


# --- a valid trace -----------------------------------------------------------------------------------------
def _build_trace(path, work):
    """Four runs tagged channels=1..4, each one process with a few regions of timed launches of two kernels:
    enough for report, plot (a numeric parameter with several values), diff and every export."""
    conn = create_db(path)
    try:
        for ch in (1, 2, 3, 4):
            cap = os.path.join(work, f"cap{ch}")
            os.makedirs(cap)
            b = CaptureBuilder(pid=100 + ch)
            b.process(["./app", str(ch)], env=["POCL_DEBUG=0"])
            b.device(0xD0)
            b.queue(0x10, 0xD0)
            b.program(0x30, options="-cl-fast-relaxed-math")
            b.kernel(0x20, "conv")
            b.kernel(0x21, "pool")
            for i in range(4):
                b.region_begin(1 + i, "infer", f"channels={ch}")
                for kh in [0x20] * ch + [0x21]:
                    s = b.launch(0x10, kh, (64 * ch,), (8,))
                    t0 = 10_000 + i * 100_000 + s * 1000
                    b.times(s, t0, t0 + 500 * ch)
                b.region_end(1 + i)
            b.exit_note()
            b.write(os.path.join(cap, "p.clt"))
            with conn:
                run_id = insert_run(conn, command=f"./app {ch}", status="ok", env={"POCL_DEBUG": "0"})
                set_run_tags(conn, run_id, {"channels": ch})
                ingest_capture_dir(conn, run_id, cap)
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        assert not os.path.exists(path + suffix)


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory):
    d = tmp_path_factory.mktemp("valid")
    path = str(d / "valid.db")
    _build_trace(path, str(d))
    t = cltrace.open(path)
    assert len(t.runs) == 4 and len(t.launches) == 4 * (2 + 3 + 4 + 5)
    t.close()
    with open(path, "rb") as f:
        return f.read()


def _argv(command, db, other, out):
    return {
        "report": ["report", db],
        "report-json": ["report", db, "--format", "json"],
        "plot": ["plot", db, "-o", os.path.join(out, "p.svg")],
        "diff": ["diff", db, "channels=1", "channels=2"],
        "diff2": ["diff", db, other],
        "export-csv": ["export", db, "--format", "csv", "-o", os.path.join(out, "x.csv")],
        "export-chrome": ["export", db, "--format", "chrome", "-o", os.path.join(out, "x.json")],
        "export-lut": ["export", db, "--format", "lut", "-o", os.path.join(out, "x.csv")],
    }[command]


# --- a fixed bug, kept as a regression check: typed table reads on values of the wrong type ------------------
def _in_typed(exc):
    """The exception was raised inside cltrace.trace._typed (pandas converting a column)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.sep + "cltrace" + os.sep in f.filename]
    return isinstance(exc, (ValueError, TypeError)) and bool(frames) and \
        frames[-1].filename.endswith(os.path.join("cltrace", "trace.py")) and frames[-1].name == "_typed"


KNOWN_BUG = ("regression: cltrace.trace._typed let ValueError/TypeError escape when a damaged trace holds a "
             "NULL in a NOT NULL integer column or text in an integer column (now DamagedTrace, exit 1)")


class Outcomes:
    def __init__(self):
        self.known = []          # (what, exception text) of examples that hit KNOWN_BUG
        self.counts = {}

    def count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1

    def finish(self):
        print(f"fuzz outcomes: {self.counts}")
        if self.known:
            pytest.fail(f"{len(self.known)} example(s), e.g. {self.known[0]}: {KNOWN_BUG}")


def _check_damaged_trace(data, command, valid, capsys, outcomes):
    work = tempfile.mkdtemp(prefix="fuzz-")
    try:
        db = os.path.join(work, "damaged.db")
        other = os.path.join(work, "other.db")
        with open(db, "wb") as f:
            f.write(data)
        with open(other, "wb") as f:
            f.write(valid)
        # the Python API: open() and every table read either work or raise CltraceError (DamagedTrace)
        try:
            t = cltrace.open(db)
        except CltraceError:
            outcomes.count("open: CltraceError")
        else:
            try:
                for table in TABLES:
                    getattr(t, table)
                outcomes.count("open: read")
            except CltraceError:
                outcomes.count("api: CltraceError")
            except (ValueError, TypeError) as e:
                if not _in_typed(e):
                    raise
                outcomes.known.append((f"cltrace.open(...).{table}", f"{type(e).__name__}: {e}"))
            finally:
                t.close()
        # the CLI, in-process
        argv = _argv(command, db, other, work)
        capsys.readouterr()
        try:
            rc = main(argv)
        except (ValueError, TypeError) as e:
            if not _in_typed(e):
                raise
            outcomes.known.append((f"cltrace {' '.join(argv[:1] + argv[2:3])}", f"{type(e).__name__}: {e}"))
            return
        out, err = capsys.readouterr()
        outcomes.count(f"cli rc={rc}")
        assert rc in (0, 1, 2), (argv, rc, err)
        assert "Traceback" not in err and "Traceback" not in out, err
        if rc != 0:
            lines = err.splitlines()
            assert len(lines) == 1 and lines[0].startswith("cltrace: "), (argv, err)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_valid_trace_passes_every_command(valid_trace, capsys):
    """The baseline: on the undamaged trace every command succeeds (so the fuzz below starts from a trace
    that exercises the whole report/plot/diff/export path)."""
    work = tempfile.mkdtemp(prefix="fuzz-")
    try:
        db, other = os.path.join(work, "valid.db"), os.path.join(work, "other.db")
        for p in (db, other):
            with open(p, "wb") as f:
                f.write(valid_trace)
        for command in COMMANDS:
            capsys.readouterr()
            assert main(_argv(command, db, other, work)) == 0, (command, capsys.readouterr().err)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_random_bytes_as_trace(valid_trace, capsys):
    outcomes = Outcomes()

    @settings(max_examples=40, **FUZZ)
    @given(head=st.sampled_from([b"", b"SQLite format 3\0", b"SQLite format 3\0" + valid_trace[16:100]]),
           body=st.binary(max_size=8192), command=st.sampled_from(COMMANDS))
    def check(head, body, command):
        _check_damaged_trace(head + body, command, valid_trace, capsys, outcomes)

    check()
    outcomes.finish()


def test_truncated_trace(valid_trace, capsys):
    outcomes = Outcomes()

    @settings(max_examples=40, **FUZZ)
    @given(cut=st.integers(0, len(valid_trace) - 1), command=st.sampled_from(COMMANDS))
    def check(cut, command):
        _check_damaged_trace(valid_trace[:cut], command, valid_trace, capsys, outcomes)

    check()
    outcomes.finish()


def test_bit_flips_in_trace(valid_trace, capsys):
    outcomes = Outcomes()
    nbits = len(valid_trace) * 8

    @settings(max_examples=80, **FUZZ)
    @given(flips=st.lists(st.integers(0, nbits - 1), min_size=1, max_size=8),
           page_header=st.booleans(), command=st.sampled_from(COMMANDS))
    def check(flips, page_header, command):
        d = bytearray(valid_trace)
        for bit in flips:
            if page_header:       # aim at the database header and the b-tree page headers
                page, off = divmod(bit // 8, 4096)
                bit = (page * 4096 + off % 112) * 8 + bit % 8
            d[bit // 8] ^= 1 << (bit % 8)
        _check_damaged_trace(bytes(d), command, valid_trace, capsys, outcomes)

    check()
    outcomes.finish()


# deterministic reproducers of the fixed bug (the fuzz above would find them too)
def test_text_in_integer_column_is_a_clean_error(valid_trace, tmp_path, capsys):
    db = tmp_path / "t.db"
    db.write_bytes(valid_trace)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE launch_rows SET tid = 'ok' WHERE launch_id = 1")
    conn.close()
    rc = main(["export", str(db), "--format", "csv", "-o", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"cltrace: {db} is damaged: its launch_rows table cannot be read (")


def test_trace_cut_short_is_a_clean_error(valid_trace, tmp_path, capsys):
    """A trace cut short inside its last page (a full disk, a copy interrupted): SQLite reads the missing
    bytes as zeros, so rows come back with NULL in NOT NULL columns. Same as, from the shell:
    cltrace run -o r.db -- tests/programs/bin/linked 200; head -c -1000 r.db > cut.db;
    cltrace export cut.db --format csv"""
    for k in (1000, 2000, 3000):
        db = tmp_path / f"cut{k}.db"
        db.write_bytes(valid_trace[:len(valid_trace) - k])
        for argv in (["export", str(db), "--format", "csv", "-o", str(tmp_path / "x.csv")],
                     ["diff", str(db), "channels=1", "channels=2"]):
            capsys.readouterr()
            rc = main(argv)
            err = capsys.readouterr().err
            assert rc == 0 or (rc == 1 and err.startswith("cltrace: ") and len(err.splitlines()) == 1), err


# --- (b) the capture reader ---------------------------------------------------------------------------------
class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds):
    def _raise(*_):
        raise Hang(f"capture reader still busy after {seconds} s")
    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _valid_capture():
    b = simple_capture(launches=5, chunk_size=4096)
    b.region_begin(1, "r", "a=1")
    b.region_end(1)
    b.note(K.CLT_NOTE_INFO, "hello", 3)
    b.mem(0x40, 4096)
    return b.to_bytes(unused_chunks=1)


VALID_CAPTURE = _valid_capture()
HEADER_FIELDS = ("version", "header_size", "chunk_size", "pid", "ppid", "flags", "start_mono_ns")
# (record type, field): counts and lengths that the reader must not trust
COUNT_FIELDS = [(K.CLT_REC_PROCESS, "argc"), (K.CLT_REC_PROCESS, "n_env"), (K.CLT_REC_PROCESS, "strings_len")] + \
    [(t, f) for t, fields in STRING_FIELDS.items() for f in fields] + \
    [(K.CLT_REC_LAUNCH, "work_dim"), (K.CLT_REC_LAUNCH, "global"), (K.CLT_REC_LAUNCH, "local"),
     (K.CLT_REC_LAUNCH_TIMES, "end_ns"), (K.CLT_REC_LAUNCH, "seq"), (K.CLT_REC_LAUNCH_TIMES, "seq")]
HUGE = st.one_of(st.sampled_from([0, 1, 7, 8, 255, 4095, 4096, 65535, 2**31 - 1, 2**31, 2**32 - 1, 2**63,
                                  2**64 - 1]), st.integers(0, 2**64 - 1))


def _record_offsets(data):
    """(offset, type) of each record of the valid capture, walking its chunks."""
    chunk = int(np.frombuffer(data, FILE_HEADER_DTYPE, 1)[0]["chunk_size"])
    out = []
    for start in range(FILE_HEADER_SIZE, len(data), chunk):
        pos = start + CHUNK_HEADER_SIZE
        while pos + 8 <= start + chunk:
            w = int.from_bytes(data[pos:pos + 8], "little")
            if w == 0:
                break
            out.append((pos, w & 0xFFFF))
            pos += w >> 32
    return out


RECORDS = _record_offsets(VALID_CAPTURE)


def _put(buf, offset, dtype_field, value):
    """Store value into a numpy field of the record at offset (first element of array fields)."""
    rtype, name = dtype_field
    dt = REC_DTYPE[rtype]
    fdt, foff = dt.fields[name][:2]
    base = fdt.base if fdt.shape else fdt
    value %= 1 << (8 * base.itemsize)
    if base.kind == "i" and value >= 1 << (8 * base.itemsize - 1):
        value -= 1 << (8 * base.itemsize)
    buf[offset + foff: offset + foff + base.itemsize] = np.array(value, dtype=base).tobytes()


def _read_everything(path, tmp):
    try:
        cap = open_capture(path)
    except CaptureError:
        return "CaptureError"
    try:
        assert cap.records == len(cap.offsets) == len(cap.types)
        assert cap.records <= max(0, cap.size - FILE_HEADER_SIZE) // 8
        for rtype in REC_DTYPE:
            cap.fixed(rtype)
            if rtype in STRING_FIELDS or rtype == K.CLT_REC_PROCESS:
                cap.fixed_with_strings(rtype)
        for _ in cap.iter_records():
            pass
        cap.warning()
    finally:
        cap.close()
    # and the whole ingestion of a directory holding it
    d = tempfile.mkdtemp(dir=tmp)
    shutil.copy(path, os.path.join(d, "p1.clt"))
    conn = create_db(d + ".db")
    try:
        with conn:
            run_id = insert_run(conn, command="fuzz", status="ok")
            ingest_capture_dir(conn, run_id, d)
    except CltraceError:
        return "ingest CltraceError"
    finally:
        conn.close()
        shutil.rmtree(d, ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(d + ".db" + suffix):
                os.remove(d + ".db" + suffix)
    return "read"


def test_capture_with_random_header_fields(tmp_path):
    seen = {}

    @settings(max_examples=60, **FUZZ)
    @given(field=st.sampled_from(HEADER_FIELDS), value=HUGE, extra=st.binary(max_size=64),
           cut=st.one_of(st.none(), st.integers(0, len(VALID_CAPTURE))))
    def check(field, value, extra, cut):
        h = np.frombuffer(VALID_CAPTURE, FILE_HEADER_DTYPE, 1).copy()
        width = h.dtype.fields[field][0].itemsize
        h[field] = value % (1 << (8 * width))
        data = (h.tobytes() + VALID_CAPTURE[FILE_HEADER_SIZE:] + extra)[:cut]
        path = tmp_path / "h.clt"
        path.write_bytes(data)
        with time_limit(20):
            outcome = _read_everything(str(path), str(tmp_path))
        seen[outcome] = seen.get(outcome, 0) + 1

    check()
    print(f"header fuzz outcomes: {seen}")
    assert seen.get("read") and seen.get("CaptureError")       # both kinds of file were generated


def test_capture_with_random_chunk_headers_and_huge_counts(tmp_path):
    seen = {}
    n_chunks = (len(VALID_CAPTURE) - FILE_HEADER_SIZE) // 4096

    @settings(max_examples=80, **FUZZ)
    @given(edits=st.lists(st.one_of(
        st.tuples(st.just("count"), st.sampled_from(COUNT_FIELDS), HUGE),
        st.tuples(st.just("size"), st.integers(0, len(RECORDS) - 1), HUGE),
        st.tuples(st.just("chunk"), st.integers(0, n_chunks - 1), st.tuples(st.integers(0, 2**32 - 1),
                                                                           st.integers(0, 2**64 - 1)))),
        min_size=1, max_size=4))
    def check(edits):
        buf = bytearray(VALID_CAPTURE)
        for kind, what, value in edits:
            if kind == "count":
                rtype, _ = what
                for off, t in RECORDS:
                    if t == rtype:
                        _put(buf, off, what, value)
            elif kind == "size":     # the record header's size word
                off = RECORDS[what][0]
                buf[off + 4:off + 8] = struct.pack("<I", value % 2**32)
            else:                    # chunk magic / index
                off = FILE_HEADER_SIZE + what * 4096
                magic, index = value
                buf[off:off + 4] = struct.pack("<I", magic)
                buf[off + 8:off + 16] = struct.pack("<Q", index)
        path = tmp_path / "c.clt"
        path.write_bytes(bytes(buf))
        with time_limit(20):
            outcome = _read_everything(str(path), str(tmp_path))
        seen[outcome] = seen.get(outcome, 0) + 1

    check()
    print(f"record fuzz outcomes: {seen}")
    assert seen.get("read")
