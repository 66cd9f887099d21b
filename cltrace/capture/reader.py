"""Open and validate one capture file; find its committed records; decode them.

A chunk is scanned the way the shim wrote it: records back to back from the
chunk header, stopping at the first zero header word (clean end) or at the
first header that cannot be a record (garbage or truncation: the bytes from
there to the end of the chunk, as far as the file holds it, count as lost).
A file that ends inside a chunk was cut (the shim only ever sizes its files
in whole chunks): that chunk is always reported, even when the cut fell on a
record boundary and no byte of the file is unreadable.

The walk over all chunks is done in C (libcltrace_scan.so, see native_scan)
when the library is built and CLTRACE_NATIVE_SCAN is not 0. Otherwise the
reference scan in Python does it (scan_py: numpy over complete chunks, checked
against a record-by-record walk). Both apply the same validity rule and report
records and problems (kind, chunk, offset, bytes lost) in file order, so they
give the same answer; this module turns the problems into messages.
"""
import mmap
import os
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ..errors import BadCaptureMagic, CaptureNotFound, CorruptCaptureHeader, NewerCaptureFormat
from . import native_scan, scan_py
from .format import (CHUNK_HEADER_DTYPE, CHUNK_MAGIC, FILE_HEADER_DTYPE, FILE_HEADER_SIZE, FORMAT_VERSION, MAGIC,
                     REC_DTYPE, STRING_FIELDS, K)

_INDEX_WORD = CHUNK_HEADER_DTYPE.fields["index"][1] // 8    # clt_chunk_header.index, in words
_SEQ_WORD = 1          # every record's seq is the word after its header
assert all(dt.fields["seq"][1] == 8 * _SEQ_WORD for dt in REC_DTYPE.values())
LAUNCH_TYPES = (K.CLT_REC_LAUNCH, K.CLT_REC_LAUNCH_SMALL)   # a launch is recorded in either
_MAX_BELIEVABLE_SEQ = 1 << 40   # 2**40 records of 40+ bytes: no real capture; a damaged number


def _count(n, one, many=None):
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass
class Problem:
    """Something wrong in a capture that did not stop reading it."""
    kind: str      # truncated | corrupt
    chunk: int
    offset: int    # file offset of the first unreadable byte
    lost: int      # bytes that could not be read
    message: str


@dataclass
class Record:
    type: int
    offset: int
    fields: np.void
    strings: Tuple[str, ...] = ()

    @property
    def name(self):
        from .format import REC_NAME
        return REC_NAME.get(self.type, str(self.type))


@dataclass
class Capture:
    path: str
    size: int
    header: dict
    offsets: np.ndarray            # int64 file offsets of valid records, chunk by chunk
    types: np.ndarray              # uint16 record types, same order
    problems: List[Problem] = field(default_factory=list)
    _mm: Optional[mmap.mmap] = None
    _words: Optional[np.ndarray] = None
    _buf: bytes = b""

    # -- summary ---------------------------------------------------------------
    @property
    def records(self) -> int:
        return int(len(self.offsets))

    @property
    def truncated_bytes(self) -> int:
        return int(sum(p.lost for p in self.problems))

    @property
    def launches(self) -> int:
        """Launch records read (either size)."""
        return int(np.count_nonzero(np.isin(self.types, LAUNCH_TYPES)))

    def cut_inside(self) -> Optional[int]:
        """The chunk the file ends inside (-1: inside its header), or None when it ends on a chunk boundary.
        The shim sizes its files in whole chunks, so a file that ends inside one was cut."""
        hs, cs = self.header["header_size"], self.header["chunk_size"]
        if self.size < hs or not cs:
            return -1
        return (self.size - hs) // cs if (self.size - hs) % cs else None

    def missing(self) -> Tuple[int, int, int]:
        """What the sequence numbers say is missing: (top, records, launches).

        Every record but launch_times takes the next number of one process-wide counter (1, 2, ...), and a
        launch_times record carries its launch's number. `top` is the highest number seen; `records` how many
        of 1..top no record read carries; `launches` how many of those are launches whose device times were
        read. Records numbered after `top` cannot be counted. Numbers are also missing, without damage, for
        launches the shim dropped (a `dropped` note) and a record a dying thread never committed.
        (0, 0, 0) when nothing is known, or when the numbers are not believable (a damaged record)."""
        if not len(self.offsets):
            return 0, 0, 0
        seqs = self._words[self.offsets // 8 + _SEQ_WORD].astype(np.uint64)
        times = self.types == K.CLT_REC_LAUNCH_TIMES
        own = np.unique(seqs[~times])
        timed = np.unique(seqs[times])
        own, timed = own[own > 0], timed[timed > 0]
        top = max(int(own[-1]) if len(own) else 0, int(timed[-1]) if len(timed) else 0)
        # the exit flush wrote the last number given out into the header: the records after the cut count too
        top = max(top, int(self.header.get("last_seq", 0)) if top else 0)
        if top == 0 or top > _MAX_BELIEVABLE_SEQ:
            return 0, 0, 0
        return top, top - len(own), int(len(np.setdiff1d(timed, own, assume_unique=True)))

    def warning(self) -> Optional[str]:
        """One line for the user when the file was cut or part of it could not be read, else None: what was
        read, where the file ends, the bytes after the last complete record that could not be read, and
        how many records and launches are missing when the file shows it (see missing())."""
        if not self.problems:
            return None
        where = self.cut_inside()
        trunc = where is not None or any(p.kind == "truncated" for p in self.problems)
        out = [f"{self.path} is {'truncated' if trunc else 'damaged'}: "
               f"read {_count(self.records, 'record')} ({_count(self.launches, 'launch', 'launches')})"]
        if where == -1:
            out.append(f"the file ends at byte {self.size}, inside its header")
        elif where is not None:
            out.append(f"the file ends at byte {self.size}, inside chunk {where}")
        chunks = sum(1 for p in self.problems if p.chunk >= 0)
        lost = _count(self.truncated_bytes, "byte")
        if chunks > 1:
            out.append(f"{lost} after the last complete records of {chunks} chunks could not be read")
        elif chunks == 1:
            out.append(f"{lost} after the last complete record could not be read")
        elif self.truncated_bytes:
            out.append(f"{lost} could not be read")
        top, records, launches = self.missing()
        if records and top == self.header.get("last_seq"):
            out.append(f"{records} of the {_count(top, 'record')} the shim wrote (by sequence number) are missing: "
                       f"the launches among them are lost" + (f", at least {launches}" if launches else ""))
        elif records:
            out.append(f"{records} of the first {_count(top, 'record')} (by sequence number) are missing"
                       + (f", at least {launches} of them launches" if launches else ""))
        else:
            out.append("how many launches were lost cannot be known from the file")
        return "; ".join(out)

    # -- data --------------------------------------------------------------------
    def _data(self):
        return self._mm if self._mm is not None else self._buf

    def fixed(self, rtype: int, sort: bool = True) -> np.ndarray:
        """Fixed parts of all records of one type as a structured array (sorted by seq)."""
        arr = self.at(rtype, self.offsets[self.types == rtype])
        if sort and len(arr) > 1 and not (arr["seq"][1:] >= arr["seq"][:-1]).all():
            arr = arr[np.argsort(arr["seq"], kind="stable")]
        return arr

    def by_seq(self, rtypes) -> Tuple[np.ndarray, np.ndarray]:
        """File offsets (int64) and seqs (uint64) of the records of one type (or of a tuple of types, e.g.
        LAUNCH_TYPES), sorted by seq (stable: file order among equal seqs), read without decoding them."""
        offs = self.offsets[np.isin(self.types, rtypes)].astype(np.int64)
        seqs = self._words[offs // 8 + _SEQ_WORD].astype(np.uint64) if len(offs) else np.zeros(0, np.uint64)
        if len(seqs) > 1 and not (seqs[1:] >= seqs[:-1]).all():
            order = np.argsort(seqs, kind="stable")
            offs, seqs = offs[order], seqs[order]
        return offs, seqs

    def launch_records(self, offsets: np.ndarray) -> np.ndarray:
        """The launch records at these offsets (from by_seq(LAUNCH_TYPES)) as clt_launch rows: a clt_launch_small
        is expanded (offsets 0, sizes widened, t_return_ns and work_dim restored, the dimension bits taken
        off its flags)."""
        offsets = np.asarray(offsets, np.int64)
        out = np.zeros(len(offsets), dtype=REC_DTYPE[K.CLT_REC_LAUNCH])
        if not len(offsets):
            return out
        small = (self._words[offsets // 8] & 0xFFFF) == K.CLT_REC_LAUNCH_SMALL
        if (~small).any():
            out[~small] = self.at(K.CLT_REC_LAUNCH, offsets[~small])
        if small.any():
            S = self.at(K.CLT_REC_LAUNCH_SMALL, offsets[small])
            w = out[small]
            for f in ("h", "seq", "t_enqueue_ns", "queue", "kernel", "arg_bytes", "error", "tid", "global",
                      "local"):
                w[f] = S[f]
            w["t_return_ns"] = S["t_enqueue_ns"] + S["return_dns"].astype(np.uint64)
            w["work_dim"] = (S["flags"] >> K.CLT_LAUNCH_DIM_SHIFT) & 0xFF
            w["flags"] = S["flags"] & ((1 << K.CLT_LAUNCH_DIM_SHIFT) - 1)
            out[small] = w
        return out

    def at(self, rtype: int, offsets: np.ndarray) -> np.ndarray:
        """Fixed parts of the records of type `rtype` at these file offsets (from `offsets`/`by_seq`)."""
        dt = REC_DTYPE[rtype]
        if len(offsets) == 0:
            return np.zeros(0, dtype=dt)
        k = dt.itemsize // 8
        # rows of k words starting at every word: fancy-indexing it copies whole records at once
        rows = np.lib.stride_tricks.as_strided(self._words, shape=(len(self._words) - k + 1, k),
                                               strides=(8, 8), writeable=False)
        return rows[np.asarray(offsets) // 8].view(dt).reshape(len(offsets))

    @property
    def words(self) -> np.ndarray:
        """The whole file as little-endian uint64 words (a view of the mmap; valid until close())."""
        return self._words

    def fixed_with_strings(self, rtype: int) -> Tuple[np.ndarray, List[Tuple[str, ...]]]:
        """Fixed parts (sorted by seq) and the decoded strings of each record."""
        dt = REC_DTYPE[rtype]
        offs = self.offsets[self.types == rtype]
        arr = self.fixed(rtype, sort=False)
        order = np.argsort(arr["seq"], kind="stable")
        arr, offs = arr[order], offs[order]
        data = self._data()
        strings = [self._strings(rtype, rec, data, int(off), dt.itemsize) for rec, off in zip(arr, offs)]
        return arr, strings

    @staticmethod
    def _strings(rtype, rec, data, off, fixed_size):
        size = int(rec["h"]["size"])
        blob = bytes(data[off + fixed_size: off + size])
        if rtype == K.CLT_REC_PROCESS:
            # counts come from the file: never trust them beyond what the record holds
            n = min(int(rec["argc"]) + 1 + int(rec["n_env"]), len(blob) + 1)
            parts = blob[:int(rec["strings_len"])].split(b"\0")
            parts = (parts + [b""] * n)[:n]
            return tuple(p.decode("utf-8", "replace") for p in parts)
        out, pos = [], 0
        for name in STRING_FIELDS.get(rtype, ()):
            n = int(rec[name])
            out.append(blob[pos:pos + n].decode("utf-8", "replace"))
            pos += n + 1
        return tuple(out)

    def iter_records(self) -> Iterator[Record]:
        """Every valid record in file order (slow path: for tests, debugging, small files)."""
        data = self._data()
        for off, t in zip(self.offsets.tolist(), self.types.tolist()):
            dt = REC_DTYPE[t]
            rec = np.frombuffer(data, dtype=dt, count=1, offset=off).copy()[0]
            strings = self._strings(t, rec, data, off, dt.itemsize) if (
                t in STRING_FIELDS or t == K.CLT_REC_PROCESS) else ()
            yield Record(t, off, rec, strings)

    # -- lifetime ----------------------------------------------------------------
    def close(self):
        self._words = None
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # a caller still holds a view; the GC closes it later
                pass
            self._mm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _header(path, data, size):
    data = bytes(data[:FILE_HEADER_SIZE])  # a copy: no view may pin the mmap
    if size < len(MAGIC) or bytes(data[:len(MAGIC)]) != MAGIC:
        raise BadCaptureMagic(path)
    if size < FILE_HEADER_SIZE:
        version = int.from_bytes(data[8:12], "little") if size >= 12 else FORMAT_VERSION
        if version > FORMAT_VERSION:
            raise NewerCaptureFormat(path, version, FORMAT_VERSION)
        return None
    h = np.frombuffer(data, dtype=FILE_HEADER_DTYPE, count=1)[0]
    version = int(h["version"])
    if version > FORMAT_VERSION:
        raise NewerCaptureFormat(path, version, FORMAT_VERSION)
    if version < 1:
        raise CorruptCaptureHeader(path, f"format version {version}")
    chunk_size, header_size = int(h["chunk_size"]), int(h["header_size"])
    if chunk_size < 4096 or chunk_size & (chunk_size - 1) or chunk_size > 1 << 30:
        raise CorruptCaptureHeader(path, f"chunk size {chunk_size}")
    if header_size < FILE_HEADER_SIZE or header_size % 8 or header_size > chunk_size:
        raise CorruptCaptureHeader(path, f"header size {header_size}")
    return {
        "version": version, "header_size": header_size, "chunk_size": chunk_size,
        "pid": int(h["pid"]), "ppid": int(h["ppid"]), "flags": int(h["flags"]),
        "start_mono_ns": int(h["start_mono_ns"]), "start_real_ns": int(h["start_real_ns"]),
        "mode": h["mode"].split(b"\0", 1)[0].decode("utf-8", "replace"),
        "stop_reason": int(h["stop_reason"]), "stop_errno": int(h["stop_errno"]), "dropped": int(h["dropped"]),
        "last_seq": int(h["last_seq"]),
    }


def open_capture(path) -> Capture:
    """Validate the header and index every committed record of a capture file.

    Raises CaptureError subclasses for files that cannot be read at all; damage
    inside the file is reported in Capture.problems (see Capture.warning()).
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise CaptureNotFound(path) from None
    except IsADirectoryError:
        raise BadCaptureMagic(path) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
    data = mm if mm is not None else b""
    try:
        header = _header(path, data, size)
    except BaseException:
        if mm is not None:
            mm.close()
        raise
    words = np.frombuffer(data, dtype="<u8", count=size // 8) if size >= 8 else np.zeros(0, "<u8")
    cap = Capture(path, size, header or {}, np.zeros(0, np.int64), np.zeros(0, np.uint16), [], mm, words)
    if header is None:
        cap.header = {"version": FORMAT_VERSION, "header_size": FILE_HEADER_SIZE, "chunk_size": 0,
                      "pid": 0, "ppid": 0, "flags": 0, "start_mono_ns": 0, "start_real_ns": 0, "mode": "",
                      "stop_reason": 0, "stop_errno": 0, "dropped": 0, "last_seq": 0}
        cap.problems.append(Problem("truncated", -1, 0, size, f"{path}: file header incomplete ({size} bytes)"))
        return cap
    if size < header["header_size"]:  # a header longer than the fixed part, cut inside it
        cap.problems.append(Problem("truncated", -1, size, 0, f"{path}: file header incomplete "
                                                              f"({size} of {header['header_size']} bytes)"))
    cap.offsets, cap.types = _scan(cap, words, header["header_size"], header["chunk_size"], size)
    return cap


def _scan(cap, words, header_size, chunk_size, size):
    found = native_scan.walk(cap._data(), size, header_size, chunk_size)
    if found is None:   # no libcltrace_scan.so (or CLTRACE_NATIVE_SCAN=0): the reference scan, same answer
        found = scan_py.scan(cap._data(), words, size, header_size, chunk_size)
    offsets, types, lost = found
    for kind, chunk, offset, n in lost:
        _lost(cap, chunk, offset, n, kind)
    return _drop_duplicate_chunks(cap, words, offsets, types, header_size, chunk_size)


def _drop_duplicate_chunks(cap, words, offsets, types, header_size, chunk_size):
    """The shim copies a thread's full staging chunk to a new chunk, header and index included, and
    only then gives the staging chunk a new index: killed in between, it leaves two chunks with one
    index and the same records (one of them possibly cut short). Keep the one with more records,
    the first in the file on a tie."""
    if not len(offsets):
        return offsets, types
    # first, from the chunk headers alone (a few hundred words), whether any index repeats at all
    head = header_size // 8 + np.arange(-(-(cap.size - header_size) // chunk_size)) * (chunk_size // 8)
    head = head[head + 1 < len(words)]         # a cut last chunk counts when its header is whole
    started = (words[head] & 0xFFFFFFFF) == CHUNK_MAGIC
    if len(np.unique(words[head[started] + _INDEX_WORD])) == int(started.sum()):
        return offsets, types
    chunk = (offsets - header_size) // chunk_size
    used, counts = np.unique(chunk, return_counts=True)
    index = words[(header_size + used * chunk_size) // 8 + _INDEX_WORD]
    order = np.lexsort((used, -counts, index))
    first_of_index = np.r_[True, index[order][1:] != index[order][:-1]]
    drop = used[order][~first_of_index]
    cap.problems[:] = [p for p in cap.problems if p.chunk not in set(drop.tolist())]
    keep = ~np.isin(chunk, drop)
    return offsets[keep], types[keep]


def _lost(cap, chunk, offset, lost, kind):
    if lost == 0:  # a chunk the file ends inside, cut after its last complete record or in unused space
        message = f"{cap.path}: chunk {chunk}: the file ends inside it, nothing after offset {offset} was read"
    else:
        message = f"{cap.path}: chunk {chunk}: {lost} bytes from offset {offset} could not be read"
    cap.problems.append(Problem(kind, chunk, offset, lost, message))
