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
    assert cap.problems == [] and cap.truncated_bytes == 0


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
    assert str(e.value) == f"{p} was written by a newer cltrace (capture format 7, this cltrace reads up to 4)"


def test_format_4_device_level_record_and_older_formats(tmp_path):
    """Format 4 adds the device level record (clt_device_cl: its strings in order, the refused queries' bits);
    files of formats 2 and 3 are read as before. (The bump makes a format-3 reader reject a format-4 file as
    newer instead of reading the record type it does not know as damage.)"""
    assert K.CLT_FORMAT_VERSION == 4
    assert REC_DTYPE[K.CLT_REC_DEVICE_CL].itemsize == ffi.sizeof("clt_device_cl") == 48
    b = CaptureBuilder()
    b.device(0xD0)
    b.device_cl(0xD0, version="OpenCL 3.0 PoCL", c_version=None, extensions="cl_khr_fp64 cl_khr_fp16",
                non_uniform_wg=1)
    cap = open_capture(b.write(tmp_path / "v4.clt"))
    recs = list(cap.iter_records())
    assert [r.name for r in recs] == ["device", "device_cl"]
    r = recs[1]
    assert r.strings == ("OpenCL 3.0 PoCL", "", "cl_khr_fp64 cl_khr_fp16")
    assert (int(r.fields["device"]), int(r.fields["non_uniform_wg"]), int(r.fields["failed"])) == (
        0xD0, 1, K.CLT_DEVCL_NO_C_VERSION)
    assert cap.problems == []
    for version in (2, 3):
        old = simple_capture(launches=2)
        old.version = version
        cap = open_capture(old.write(tmp_path / f"v{version}.clt"))
        assert cap.header["version"] == version and cap.launches == 2 and cap.problems == []


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
    assert cap.warning() == (f"{tmp_path / 't.clt'} is truncated: read 11 records (3 launches); the file ends at "
                             f"byte {cut}, inside chunk 0; 20 bytes after the last complete record could not be "
                             "read; how many launches were lost cannot be known from the file")


def test_cut_on_a_record_boundary_is_not_silent(tmp_path):
    """The file ends exactly after a complete record: nothing unreadable, but the rest of the chunk and
    everything after it is missing; the shim never writes a file that ends inside a chunk."""
    data = simple_capture(launches=3).to_bytes()
    full = open_capture(_w(tmp_path / "full.clt", data))
    launches = full.offsets[full.types == K.CLT_REC_LAUNCH]
    cut = int(launches[2])          # the third launch's first byte: two launches kept
    path = _w(tmp_path / "t.clt", data[:cut])
    cap = open_capture(path)
    assert cap.records == 9 and cap.launches == 2 and cap.truncated_bytes == 0
    assert [(p.kind, p.chunk, p.offset, p.lost) for p in cap.problems] == [("truncated", 0, cut, 0)]
    assert cap.warning() == (f"{path} is truncated: read 9 records (2 launches); the file ends at byte {cut}, "
                             "inside chunk 0; 0 bytes after the last complete record could not be read; "
                             "how many launches were lost cannot be known from the file")


def test_cut_in_unused_space_and_in_a_long_header(tmp_path):
    b = simple_capture(launches=1)
    data = b.to_bytes()
    cap = open_capture(_w(tmp_path / "t.clt", data[:-8]))       # only zeros cut off: still a cut file
    assert cap.records == 8 and cap.truncated_bytes == 0 and cap.cut_inside() == 0
    assert "is truncated: read 8 records (1 launch); the file ends at byte" in cap.warning()
    assert open_capture(_w(tmp_path / "w.clt", data)).warning() is None
    h = np.frombuffer(data, FILE_HEADER_DTYPE, 1).copy()
    h["header_size"] = 4096
    long_header = h.tobytes() + b"\0" * (4096 - 128) + data[128:]
    cap = open_capture(_w(tmp_path / "h.clt", long_header[:3000]))
    assert [(p.kind, p.chunk, p.offset, p.lost) for p in cap.problems] == [("truncated", -1, 3000, 0)]
    assert cap.warning() == (f"{tmp_path / 'h.clt'} is truncated: read 0 records (0 launches); the file ends at "
                             "byte 3000, inside its header; how many launches were lost cannot be known from "
                             "the file")


def test_loss_message_counts_missing_launches(tmp_path):
    """Launches on one thread, their device times harvested on another: when the launches' chunk is damaged,
    the sequence numbers and the surviving times say how many records and launches are missing."""
    b = CaptureBuilder(chunk_size=4096)
    b.process(["app"])                                   # seq 1
    b.device(0xD0)                                       # 2
    b.queue(0x10, 0xD0)                                  # 3
    b.kernel(0x20, "k")                                  # 4
    seqs = [b.launch(0x10, 0x20, (64,), (8,), tid=7) for _ in range(20)]   # 5..24, chunk of thread 7
    for i, s in enumerate(seqs):
        b.times(s, 1000 * i + 1000, 1000 * i + 1010, tid=9)                 # chunk of thread 9
    b.exit_note()                                        # 25
    data = bytearray(b.to_bytes())
    path = _w(tmp_path / "ok.clt", bytes(data))
    full = open_capture(path)
    assert full.missing() == (25, 0, 0) and full.warning() is None
    victim = int(full.offsets[full.types == K.CLT_REC_LAUNCH][12])   # the 13th launch: 8 launches lost
    data[victim + 2] = 1                                             # reserved bits set: not a record
    path = _w(tmp_path / "bad.clt", bytes(data))
    cap = open_capture(path)
    assert cap.launches == 12 and cap.missing() == (25, 8, 8)
    chunk_end = 128 + 4096 * (1 + (victim - 128) // 4096)
    assert cap.warning() == (f"{path} is damaged: read {full.records - 8} records (12 launches); "
                             f"{chunk_end - victim} bytes after the last complete record could not be read; "
                             "8 of the first 25 records (by sequence number) are missing, at least 8 of them "
                             "launches")


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
    from cltrace.capture import scan_py
    monkeypatch.setenv("CLTRACE_NATIVE_SCAN", "0")  # this test is about the numpy scan
    rng = random.Random(7)
    data = _many_records(n=200).to_bytes()
    for _ in range(40):
        d = bytearray(data)
        for _ in range(rng.randint(0, 6)):
            d[rng.randrange(128, len(d))] ^= 1 << rng.randrange(8)
        p = _w(tmp_path / "v.clt", bytes(d))
        fast = open_capture(p)
        monkeypatch.setattr(scan_py, "_scan_full_chunks",
                            lambda w, hs, cs, first, last, problems: (np.zeros(0, np.int64), np.zeros(0, np.uint16),
                                                                     list(range(first, last))))
        slow = open_capture(p)
        monkeypatch.undo()
        assert np.array_equal(np.sort(fast.offsets), np.sort(slow.offsets))
        assert fast.truncated_bytes == slow.truncated_bytes


def _w(path, data):
    path.write_bytes(data)
    return path



def _cut(chunk, keep_records):
    """chunk (bytes) with only its first keep_records records, the rest zero."""
    pos = 16
    for _ in range(keep_records):
        pos += int(np.frombuffer(chunk[pos + 4:pos + 8], "<u4")[0])
    return chunk[:pos] + bytes(len(chunk) - pos)


@pytest.mark.parametrize("native", ["1", "0"])
@pytest.mark.parametrize("cut", [None, "copy", "first"])
def test_a_chunk_copied_twice_is_read_once(tmp_path, monkeypatch, native, cut):
    """The shim copies a full staging chunk, index included, before the staging chunk takes a new index:
    killed in between, the file holds the chunk twice, either copy possibly cut short. The fuller is read."""
    monkeypatch.setenv("CLTRACE_NATIVE_SCAN", native)
    b = _many_records()
    data = b.to_bytes()
    start = K.CLT_FILE_HEADER_SIZE + b.chunk_size        # chunk 1
    chunk = data[start:start + b.chunk_size]
    first, copy = (_cut(chunk, 3), chunk) if cut == "first" else (chunk, _cut(chunk, 3) if cut else chunk)
    dup = open_capture(_w(tmp_path / "b.clt", data[:start] + first + data[start + b.chunk_size:] + copy))
    whole = open_capture(_w(tmp_path / "a.clt", data))
    assert sorted(whole.fixed(K.CLT_REC_LAUNCH)["seq"]) == sorted(dup.fixed(K.CLT_REC_LAUNCH)["seq"])
    assert len(dup.offsets) == len(whole.offsets) and dup.problems == []
    chunk_of = set(((dup.offsets - K.CLT_FILE_HEADER_SIZE) // b.chunk_size).tolist())
    assert (1 in chunk_of, len(b.chunks) in chunk_of) == ((False, True) if cut == "first" else (True, False))


def test_a_copy_cut_by_the_end_of_the_file_is_not_a_loss(tmp_path):
    """Killed mid-copy with the copy last in the file and the file then cut inside it (a copy of the file
    made while the shim wrote): the staging chunk holds every record, so no bytes are counted lost (the
    warning still says where the file ends)."""
    b = _many_records()
    data = b.to_bytes()
    start = K.CLT_FILE_HEADER_SIZE + b.chunk_size
    chunk = data[start:start + b.chunk_size]
    cut = _cut(chunk, 3)
    end = len(cut.rstrip(b"\0")) + 20                   # inside the copy's 4th record slot, zeros past it
    cap = open_capture(_w(tmp_path / "e.clt", data + cut[:end]))
    whole = open_capture(_w(tmp_path / "a.clt", data))
    assert sorted(cap.fixed(K.CLT_REC_LAUNCH)["seq"]) == sorted(whole.fixed(K.CLT_REC_LAUNCH)["seq"])
    assert cap.problems == [] and cap.truncated_bytes == 0
