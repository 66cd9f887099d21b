"""The C record walk (libcltrace_scan.so) finds exactly what the numpy scan and the Python walk find.

Every file is opened three ways: native (C walk), numpy (CLTRACE_NATIVE_SCAN=0: scan_py.scan) and walk (scan_py
with every complete chunk handed to scan_py.walk, the reference rule); offsets, types and problems (kind, chunk,
offset, lost, message) must be identical, in the same order.
"""
import os
import re
import shutil
import struct
import subprocess
from contextlib import contextmanager
from dataclasses import astuple

import numpy as np
import pytest
from capture_factory import CaptureBuilder, bulk_capture, simple_capture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cltrace.capture import K, native_scan, open_capture, scan_py
from cltrace.capture.format import (CHUNK_HEADER_SIZE, CHUNK_MAGIC, FILE_HEADER_DTYPE, FILE_HEADER_SIZE,
                                    MAX_REC_TYPE, REC_MIN_SIZE)
from cltrace.errors import CaptureError
from cltrace.native import NATIVE_DIR

if not os.path.exists(os.path.join(NATIVE_DIR, native_scan.LIB)):
    pytest.skip(f"{native_scan.LIB} is not built (pip install -e . builds it)", allow_module_level=True)

FUZZ = dict(derandomize=True, database=None, deadline=None, print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
MODES = ("native", "numpy", "walk")


def _walk_everything(words, header_size, chunk_size, first, last, problems):
    return np.zeros(0, np.int64), np.zeros(0, np.uint16), list(range(first, last))


def _refuse(*args):
    raise AssertionError("the numpy scan ran although the native walk is available")


@contextmanager
def _mode(mode):
    with pytest.MonkeyPatch.context() as m:
        if mode == "native":
            m.delenv("CLTRACE_NATIVE_SCAN", raising=False)
            m.setattr(scan_py, "scan", _refuse)
        else:
            m.setenv("CLTRACE_NATIVE_SCAN", "0")
        if mode == "walk":
            m.setattr(scan_py, "_scan_full_chunks", _walk_everything)
        yield


def _read(path, mode):
    with _mode(mode):
        try:
            cap = open_capture(path)
        except CaptureError as e:
            return type(e).__name__
    with cap:
        return (cap.offsets.dtype.str, cap.types.dtype.str, cap.offsets.tolist(), cap.types.tolist(),
                [astuple(p) for p in cap.problems])


def _same_everywhere(path, data):
    """Write data to path, read it all three ways, assert equality; returns the native result."""
    path.write_bytes(bytes(data))
    native, numpy_, walk = (_read(path, m) for m in MODES)
    assert native == walk, "native walk differs from the reference walk"
    assert numpy_ == walk, "numpy scan differs from the reference walk"
    return native


def _many_records(chunk_size=4096, threads=3, n=60):
    b = CaptureBuilder(chunk_size=chunk_size)
    b.process(["x"], env=["A=1"])
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")
    b.region_begin(1, "r", "a=1")
    for i in range(n):
        tid = 100 + i % threads
        s = b.launch(0x10, 0x20, (64,), (8,), tid=tid)
        b.times(s, 1000 * i + 1000, 1000 * i + 1010, tid=tid)
        if i % 7 == 0:
            b.mem(0x40 + i, 4096, tid=tid)
    b.region_end(1)
    b.exit_note()
    return b


def _with_header_size(b, header_size):
    """b's file with a larger file header (header_size bytes, zero padded)."""
    data = b.to_bytes()
    h = np.frombuffer(data, FILE_HEADER_DTYPE, 1).copy()
    h["header_size"] = header_size
    return h.tobytes() + b"\0" * (header_size - FILE_HEADER_SIZE) + data[FILE_HEADER_SIZE:]


def _bulk(chunk_size, n):
    b, handles = bulk_capture(chunk_size=chunk_size)
    b.bulk_launches(n, 0x10, handles)
    b.exit_note()
    return b.to_bytes(unused_chunks=1)


def _full_chunks(chunk_size=4096, chunks=2):
    """Chunks filled to their last byte by the smallest records."""
    b = CaptureBuilder(chunk_size=chunk_size)
    size = REC_MIN_SIZE[K.CLT_REC_MEM]
    assert (chunk_size - CHUNK_HEADER_SIZE) % size == 0
    for i in range(chunks * (chunk_size - CHUNK_HEADER_SIZE) // size):
        b.mem(0x40 + i, 4096)
    return b.to_bytes()


def _chunk_start(data, c):
    return FILE_HEADER_SIZE + c * int(np.frombuffer(data, FILE_HEADER_DTYPE, 1)[0]["chunk_size"])


def _set(data, offset, fmt, value):
    d = bytearray(data)
    struct.pack_into(fmt, d, offset, value)
    return bytes(d)


MANY = _many_records().to_bytes(unused_chunks=2)
HEADER = MANY[:FILE_HEADER_SIZE]
FILES = {
    "empty": b"",
    "short header": MANY[:100],
    "header only": HEADER,
    "header + 7 zero bytes": HEADER + b"\0" * 7,
    "header + 7 bytes": HEADER + b"\1" + b"\0" * 6,
    "header + 15 bytes": MANY[:FILE_HEADER_SIZE + 15],
    "header + chunk header": MANY[:FILE_HEADER_SIZE + CHUNK_HEADER_SIZE],
    "header + chunk header + 3": MANY[:FILE_HEADER_SIZE + CHUNK_HEADER_SIZE + 3],
    "records fill the chunks": _full_chunks(),
    "simple 4096": simple_capture(chunk_size=4096).to_bytes(unused_chunks=3),
    "simple 16384": simple_capture().to_bytes(),
    "many 4096": MANY,
    "many 65536": _many_records(chunk_size=65536, n=300).to_bytes(unused_chunks=1),
    "bulk 1 MiB chunks": _bulk(1 << 20, 12000),
    "header size 256": _with_header_size(_many_records(), 256),
    "header size = chunk size": _with_header_size(_many_records(), 4096),
    "header size 4096, cut in header": _with_header_size(_many_records(), 4096)[:3000],
    "wrong chunk magic": _set(MANY, _chunk_start(MANY, 1), "<I", 0xDEADBEEF),
    "wrong magic, truncated chunk": _set(MANY, _chunk_start(MANY, 2), "<I", 0xDEADBEEF)[:_chunk_start(MANY, 2) + 99],
    "zero magic, chunk still full": _set(MANY, _chunk_start(MANY, 1), "<I", 0),
    "magic in unused chunk": _set(MANY, _chunk_start(MANY, 5), "<I", CHUNK_MAGIC),
    "garbage in unused chunk": _set(MANY, _chunk_start(MANY, 5) + 8, "<Q", 2**64 - 1),
    "zero record word mid chunk": _set(MANY, _chunk_start(MANY, 0) + CHUNK_HEADER_SIZE + 48, "<Q", 0),
    "record past chunk end": _set(MANY, _chunk_start(MANY, 1) + CHUNK_HEADER_SIZE + 4, "<I", 4096),
    "reserved bits set": _set(MANY, _chunk_start(MANY, 1) + CHUNK_HEADER_SIZE + 2, "<H", 1),
    "record type 0": _set(MANY, _chunk_start(MANY, 1) + CHUNK_HEADER_SIZE, "<H", 0),
    "record type too big": _set(MANY, _chunk_start(MANY, 1) + CHUNK_HEADER_SIZE, "<H", MAX_REC_TYPE + 1),
    "cut on a record boundary": MANY[:_chunk_start(MANY, 1) + CHUNK_HEADER_SIZE + 144],
    "cut in unused space": MANY[:_chunk_start(MANY, 7) + 100],
    "cut after a zero chunk header": MANY[:_chunk_start(MANY, 7) + CHUNK_HEADER_SIZE + 8],
}


@pytest.mark.parametrize("name", list(FILES))
def test_files_read_the_same(tmp_path, name):
    _same_everywhere(tmp_path / "f.clt", FILES[name])


def test_problems_are_classified(tmp_path):
    c1 = _chunk_start(MANY, 1)
    whole = _same_everywhere(tmp_path / "a.clt", MANY)
    assert whole[4] == []
    _, _, offs, _, problems = _same_everywhere(tmp_path / "b.clt", FILES["wrong chunk magic"])
    assert [p[:4] for p in problems] == [("corrupt", 1, c1, 4096)]
    assert offs == [o for o in whole[2] if not c1 <= o < c1 + 4096]
    c2 = _chunk_start(MANY, 2)
    _, _, offs, _, problems = _same_everywhere(tmp_path / "c.clt", FILES["wrong magic, truncated chunk"])
    assert [p[:4] for p in problems] == [("truncated", 2, c2, 99)]
    assert offs == [o for o in whole[2] if o < c2]
    _, _, offs, _, problems = _same_everywhere(tmp_path / "d.clt", FILES["zero magic, chunk still full"])
    assert problems == [] and offs == [o for o in whole[2] if not c1 <= o < c1 + 4096]
    _, _, offs, _, problems = _same_everywhere(tmp_path / "e.clt", FILES["record past chunk end"])
    assert [p[:4] for p in problems] == [("corrupt", 1, c1 + CHUNK_HEADER_SIZE, 4096 - CHUNK_HEADER_SIZE)]
    assert problems[0][4] == (f"{tmp_path / 'e.clt'}: chunk 1: {4096 - CHUNK_HEADER_SIZE} bytes from offset "
                              f"{c1 + CHUNK_HEADER_SIZE} could not be read")


def test_a_cut_chunk_is_always_a_problem(tmp_path):
    """A file that ends inside a chunk was cut: 0 bytes lost when the cut fell on a record boundary or in
    unused space, but reported all the same, the same way by every scan."""
    whole = _same_everywhere(tmp_path / "a.clt", MANY)
    c1, c7 = _chunk_start(MANY, 1), _chunk_start(MANY, 7)   # chunks 7 and 8 were never used
    cut = c1 + CHUNK_HEADER_SIZE + 144
    assert cut in whole[2]                       # a record starts there
    _, _, offs, _, problems = _same_everywhere(tmp_path / "b.clt", FILES["cut on a record boundary"])
    assert problems == [("truncated", 1, cut, 0, f"{tmp_path / 'b.clt'}: chunk 1: the file ends inside it, "
                                                 f"nothing after offset {cut} was read")]
    assert offs == [o for o in whole[2] if o < cut]
    for name, file in (("c.clt", FILES["cut in unused space"]), ("d.clt", FILES["cut after a zero chunk header"])):
        _, _, offs, _, problems = _same_everywhere(tmp_path / name, file)
        assert [p[:4] for p in problems] == [("truncated", 7, c7, 0)] and offs == whole[2]


def test_truncation_at_every_boundary(tmp_path):
    whole = _same_everywhere(tmp_path / "a.clt", MANY)
    sizes = {o: int.from_bytes(MANY[o + 4:o + 8], "little") for o in whole[2]}
    starts = set(sizes) | {o + s for o, s in sizes.items()}
    chunks = {_chunk_start(MANY, c) for c in range((len(MANY) - FILE_HEADER_SIZE) // 4096 + 1)}
    cuts = {s + d for s in starts for d in (-1, 0, 1, 7)} | {c + d for c in chunks for d in (0, 1, 4, 8, 15, 16, 17)}
    path = tmp_path / "t.clt"
    for cut in sorted(c for c in cuts if 0 <= c <= len(MANY)):
        _, _, offs, _, problems = _same_everywhere(path, MANY[:cut])
        assert offs == [o for o in whole[2] if o + sizes[o] <= cut], cut
        assert all(p[0] == "truncated" for p in problems), cut
        if cut > FILE_HEADER_SIZE and (cut - FILE_HEADER_SIZE) % 4096:   # ends inside a chunk: never silent
            assert [p[1] for p in problems] == [(cut - FILE_HEADER_SIZE) // 4096], cut
        else:
            assert problems == [], cut


WORD_SIZES = st.one_of(st.sampled_from(sorted(set(REC_MIN_SIZE.values()))), st.integers(0, 600).map(lambda k: 8 * k),
                       st.integers(0, 2**32 - 1))


@st.composite
def _header_words(draw):
    """A word that often looks like a record header (type, size), sometimes garbage or zero."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return 0
    if kind == 1:
        return draw(st.integers(0, 2**64 - 1))
    rtype = draw(st.integers(0, MAX_REC_TYPE + 1))
    reserved = draw(st.sampled_from([0] * 7 + [1, 0x8000]))
    return rtype | reserved << 16 | draw(WORD_SIZES) << 32


EDIT = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**32), st.integers(0, 7)),
    st.tuples(st.just("garbage"), st.integers(0, 2**32), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("word"), st.integers(0, 2**32), _header_words()),
    st.tuples(st.just("magic"), st.integers(0, 2**32), st.sampled_from([0, CHUNK_MAGIC, 1, 0xFFFFFFFF])))
BASES = [MANY, FILES["simple 16384"], FILES["header size 256"], FILES["records fill the chunks"]]


def test_damaged_captures(tmp_path):
    @settings(max_examples=150, **FUZZ)
    @given(base=st.integers(0, len(BASES) - 1), edits=st.lists(EDIT, max_size=6),
           cut=st.one_of(st.none(), st.integers(0, 2**32)))
    def check(base, edits, cut):
        d = bytearray(BASES[base])
        chunk = int(np.frombuffer(d, FILE_HEADER_DTYPE, 1)[0]["chunk_size"])
        header = int(np.frombuffer(d, FILE_HEADER_DTYPE, 1)[0]["header_size"])
        body = len(d) - header
        for kind, where, value in edits:
            if kind == "flip":
                d[header + where % body] ^= 1 << value
            elif kind == "garbage":
                pos = header + where % body
                d[pos:pos + len(value)] = value
                del d[len(BASES[base]):]
            elif kind == "word":
                struct.pack_into("<Q", d, header + (where % (body // 8)) * 8, value)
            else:
                struct.pack_into("<I", d, header + (where % (body // chunk)) * chunk, value)
        if cut is not None:
            d = d[:header + cut % body]
        _same_everywhere(tmp_path / "d.clt", d)

    check()


def test_random_chunks(tmp_path):
    """Chunks full of words that look like record headers: the hardest input for the numpy guess."""
    chunk = 4096

    @settings(max_examples=150, **FUZZ)
    @given(chunks=st.lists(st.tuples(st.sampled_from([CHUNK_MAGIC] * 4 + [0, 7]),
                                     st.lists(_header_words(), max_size=chunk // 8 - 2)), min_size=1, max_size=4),
           cut=st.one_of(st.none(), st.integers(0, 4 * chunk)))
    def check(chunks, cut):
        out = bytearray(CaptureBuilder(chunk_size=chunk).header_bytes())
        for magic, words in chunks:
            raw = struct.pack("<IIQ", magic, 1, 0) + struct.pack(f"<{len(words)}Q", *words)
            out += raw + b"\0" * (chunk - len(raw))
        if cut is not None:
            out = out[:FILE_HEADER_SIZE + cut]
        _same_everywhere(tmp_path / "r.clt", out)

    check()


def test_walk_on_bytes_and_mmap_released(tmp_path):
    path = tmp_path / "a.clt"
    path.write_bytes(MANY)
    with _mode("native"):
        cap = open_capture(path)
        offs, types, problems = native_scan.walk(MANY, len(MANY), FILE_HEADER_SIZE, 4096)
    assert offs.tolist() == cap.offsets.tolist() and types.tolist() == cap.types.tolist() and problems == []
    assert (types == K.CLT_REC_LAUNCH).sum() == 60
    cap._words = None
    cap._mm.close()   # raises BufferError if the walk left the mmap exported


def test_native_disabled_by_env(monkeypatch):
    monkeypatch.setenv("CLTRACE_NATIVE_SCAN", "0")
    assert not native_scan.available() and native_scan.walk(MANY, len(MANY), FILE_HEADER_SIZE, 4096) is None
    monkeypatch.delenv("CLTRACE_NATIVE_SCAN")
    assert native_scan.available()


def test_the_walk_is_declared_once_in_its_header():
    """native/cltrace_scan.h is what capture_scan.c compiles and what cffi reads: the library exports exactly the
    functions declared there, and its problem kinds are named after the header's CLT_LOST_* enumerators."""
    assert native_scan.KINDS == ("truncated", "corrupt")
    declared = set(re.findall(r"\b(clt_\w+)\s*\(", native_scan._CDEF))
    if not shutil.which("nm"):
        pytest.skip("nm (binutils) is not installed")
    out = subprocess.run(["nm", "-D", "--defined-only", os.path.join(NATIVE_DIR, native_scan.LIB)],
                         capture_output=True, text=True, check=True).stdout
    assert {line.split()[-1] for line in out.splitlines() if " T " in line} == declared == {"clt_capture_walk"}


def test_c_walk_reports_small_buffers_and_bad_geometry(monkeypatch):
    monkeypatch.delenv("CLTRACE_NATIVE_SCAN", raising=False)
    lib, ffi = native_scan._lib(), native_scan._state["ffi"]
    min_size = ffi.new("uint32_t[]", [REC_MIN_SIZE.get(t, 0) for t in range(MAX_REC_TYPE + 1)])
    room = 1000
    offs, types, lost = ffi.new("int64_t[]", room), ffi.new("uint16_t[]", room), ffi.new("int64_t[]", 4 * room)
    nlost = ffi.new("int64_t *")

    def walk(chunk_size=4096, cap=1, lost_cap=1, data=MANY):
        assert cap <= room and lost_cap <= room
        return lib.clt_capture_walk(data, len(data), FILE_HEADER_SIZE, chunk_size, min_size, MAX_REC_TYPE,
                                    offs, types, cap, lost, lost_cap, nlost)

    assert walk() == -1                                       # more than one record
    assert walk(data=FILES["wrong chunk magic"], cap=room, lost_cap=0) == -1
    assert walk(chunk_size=0) == -2 and walk(chunk_size=8) == -2
    assert walk(data=HEADER) == 0 and nlost[0] == 0
