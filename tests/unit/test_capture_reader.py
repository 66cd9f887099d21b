"""Reading capture files: layout, rejections, truncation and garbage."""
import random

import numpy as np
import pytest
from capture_factory import CaptureBuilder, simple_capture

from cltrace.capture import K, open_capture
from cltrace.capture.format import FILE_HEADER_DTYPE, REC_DTYPE, ffi
from cltrace.errors import BadCaptureMagic, CaptureNotFound, CltraceError, NewerCaptureFormat


def test_dtypes_follow_cffi_layout():
    for rtype, dt in REC_DTYPE.items():
        assert dt.itemsize % 8 == 0
    ld = REC_DTYPE[K.CLT_REC_LAUNCH]
    assert ld.itemsize == ffi.sizeof("clt_launch")
    assert ld.fields["global"][1] == ffi.offsetof("clt_launch", "global")
    assert ld.fields["flags"][1] == ffi.offsetof("clt_launch", "flags")
    assert FILE_HEADER_DTYPE.itemsize == K.CLT_FILE_HEADER_SIZE


def test_round_trip(tmp_path):
    b = simple_capture(launches=3)
    cap = open_capture(b.write(tmp_path / "a.clt"))
    assert cap.header["pid"] == 4242 and cap.header["mode"] == "layer"
    names = [r.name for r in cap.iter_records()]
    assert names == ["process", "device", "queue", "program", "kernel"] + ["launch", "launch_times"] * 3 + ["note"]
    recs = list(cap.iter_records())
    assert recs[0].strings == ("./app", "--n", "3", "/work", "POCL_DEBUG=0")
    assert recs[1].strings[0] == "cpu-haswell"
    L = cap.fixed(K.CLT_REC_LAUNCH)
    assert list(L["global"][0]) == [64, 8, 0] and list(L["local"][0]) == [8, 8, 0]
    assert cap.problems == [] and cap.warning() is None


def test_missing_file(tmp_path):
    p = tmp_path / "nope.clt"
    with pytest.raises(CaptureNotFound) as e:
        open_capture(p)
    assert str(e.value) == f"{p}: no such capture file"
    assert isinstance(e.value, CltraceError)


@pytest.mark.parametrize("content", [b"", b"CLT", b"NOTACAPTURE" * 20])
def test_bad_magic(tmp_path, content):
    p = tmp_path / "x.clt"
    p.write_bytes(content)
    with pytest.raises(BadCaptureMagic) as e:
        open_capture(p)
    assert str(e.value) == f"{p} does not look like a cltrace capture file (bad magic)"


def test_newer_format(tmp_path):
    b = simple_capture()
    b.version = 7
    p = b.write(tmp_path / "x.clt")
    with pytest.raises(NewerCaptureFormat) as e:
        open_capture(p)
    assert str(e.value) == f"{p} was written by a newer cltrace (capture format 7, this cltrace reads up to 1)"


def _many_records(chunk_size=4096, threads=3, n=60):
    b = CaptureBuilder(chunk_size=chunk_size)
    b.process(["x"])
    b.device(0xD0)
    b.queue(0x10, 0xD0)
    b.kernel(0x20, "k")
    for i in range(n):
        tid = 100 + i % threads
        s = b.launch(0x10, 0x20, (64,), (8,), tid=tid, flags=K.CLT_LAUNCH_API_TASK if i % 5 == 0 else 0)
        b.times(s, 1000 * i + 1000, 1000 * i + 1010, tid=tid)
    return b


def test_many_chunks_threads_and_unused_chunks(tmp_path):
    b = _many_records()
    cap = open_capture(b.write(tmp_path / "a.clt", unused_chunks=2))
    assert len(b.chunks) > 3
    assert (cap.types == K.CLT_REC_LAUNCH).sum() == 60
    assert list(cap.fixed(K.CLT_REC_LAUNCH)["seq"]) == sorted(cap.fixed(K.CLT_REC_LAUNCH)["seq"])
    assert cap.problems == []


def _record_ends(data, cap):
    return sorted(int(o) + int(np.frombuffer(data, "<u4", 1, int(o) + 4)[0]) for o in cap.offsets)


def test_truncation_keeps_valid_prefix(tmp_path):
    data = _many_records().to_bytes()
    full = open_capture(_w(tmp_path / "full.clt", data))
    ends = _record_ends(data, full)
    offsets = sorted(set(range(128, len(data), 97)) | {e for e in ends} | {e - 1 for e in ends} | {129, 144})
    for cut in offsets:
        cap = open_capture(_w(tmp_path / "t.clt", data[:cut]))
        expected = sum(1 for e in ends if e <= cut)
        assert cap.records == expected, cut
        assert cap.truncated_bytes >= 0
        if cap.truncated_bytes:
            assert "is truncated" in cap.warning()
        cap.close()


def test_truncated_mid_record_counts_lost_bytes(tmp_path):
    data = simple_capture(launches=3).to_bytes()
    full = open_capture(_w(tmp_path / "full.clt", data))
    last = int(full.offsets[-1])
    cut = last + 20
    cap = open_capture(_w(tmp_path / "t.clt", data[:cut]))
    assert cap.records == full.records - 1
    assert cap.truncated_bytes == 20
    assert cap.warning() == f"{tmp_path / 't.clt'} is truncated: read {cap.records} records, 20 bytes could not be read"


def test_header_only_truncated(tmp_path):
    data = simple_capture().to_bytes()[:100]
    cap = open_capture(_w(tmp_path / "t.clt", data))
    assert cap.records == 0 and cap.truncated_bytes == 100


@pytest.mark.parametrize("size", [0, 4, 12, 1 << 31, 0xFFFFFFF8, 16384])
def test_bad_record_sizes_stop_the_chunk(tmp_path, size):
    b = simple_capture(launches=3)
    data = bytearray(b.to_bytes())
    cap = open_capture(_w(tmp_path / "a.clt", bytes(data)))
    victim = int(cap.offsets[5])     # the first launch
    data[victim + 4: victim + 8] = int(size).to_bytes(4, "little")
    bad = open_capture(_w(tmp_path / "b.clt", bytes(data)))
    assert bad.records == 5
    assert bad.truncated_bytes == 128 + 16384 - victim
    assert "is damaged" in bad.warning()


def test_garbage_never_crashes(tmp_path):
    rng = random.Random(1)
    data = _many_records().to_bytes()
    for i in range(150):
        d = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            pos = rng.randrange(128, len(d))
            d[pos] ^= 1 << rng.randrange(8)
        if i % 10 == 0:
            pos = rng.randrange(128, len(d) - 64)
            d[pos:pos + 64] = bytes(rng.randrange(256) for _ in range(64))
        cap = open_capture(_w(tmp_path / "g.clt", bytes(d)))
        for rtype in REC_DTYPE:
            cap.fixed(rtype)
        list(cap.iter_records())
        assert cap.records <= 4 + 120 + 1
        cap.close()


def test_vector_scan_matches_walk(tmp_path, monkeypatch):
    """The numpy scan and the record-by-record walk give the same records and losses."""
    import cltrace.capture.reader as reader
    monkeypatch.setenv("CLTRACE_NATIVE_SCAN", "0")  # this test is about the numpy scan
    rng = random.Random(7)
    data = _many_records(n=200).to_bytes()
    for _ in range(40):
        d = bytearray(data)
        for _ in range(rng.randint(0, 6)):
            d[rng.randrange(128, len(d))] ^= 1 << rng.randrange(8)
        p = _w(tmp_path / "v.clt", bytes(d))
        fast = open_capture(p)
        monkeypatch.setattr(reader, "_scan_full_chunks",
                            lambda cap, w, hs, cs, first, last: (np.zeros(0, np.int64), np.zeros(0, np.uint16),
                                                                list(range(first, last))))
        slow = open_capture(p)
        monkeypatch.undo()
        assert np.array_equal(np.sort(fast.offsets), np.sort(slow.offsets))
        assert fast.truncated_bytes == slow.truncated_bytes


def _w(path, data):
    path.write_bytes(data)
    return path
