"""The reference capture scan in Python: every committed record of a capture file and what could not be read.

native_scan.walk (native/capture_scan.c) does this in C; this module answers when that library is not built or
CLTRACE_NATIVE_SCAN=0, and tests/unit/test_capture_scan_native.py holds the two equal. Complete chunks are
scanned with numpy: every 8-byte word that could be a record header is a candidate, the chain of records is
guessed from the candidates and then verified against the exact walk rule; a chunk whose guess does not verify,
and the partial chunk of a truncated file, are walked record by record (walk(): the rule itself, see
reader.py's docstring). Problems are (kind, chunk, offset, bytes lost) as the C walk gives them, kind
"truncated" or "corrupt", at most one per chunk, in file order.
"""
from typing import List, Tuple

import numpy as np

from .format import CHUNK_HEADER_SIZE, CHUNK_MAGIC, MAX_REC_TYPE, REC_MIN_SIZE

Problem = Tuple[str, int, int, int]
_MIN_SIZE = np.full(65536, np.iinfo(np.uint32).max, dtype=np.uint64)
for _t, _s in REC_MIN_SIZE.items():
    _MIN_SIZE[_t] = _s
_HEADER_WORDS = CHUNK_HEADER_SIZE // 8
_LOOKBACK = 4          # false candidates tolerated inside one record by the guess
_BATCH_WORDS = 1 << 22  # 32 MiB of words scanned at a time


def scan(data, words, size: int, header_size: int, chunk_size: int
         ) -> Tuple[np.ndarray, np.ndarray, List[Problem]]:
    """(int64 offsets, uint16 types, [(kind, chunk, offset, lost bytes)]) of the file in `data` (`words`: the
    same bytes as little-endian uint64), in file order: what native_scan.walk answers."""
    problems: List[Problem] = []
    n_full = (size - header_size) // chunk_size if size > header_size else 0
    offs: List[np.ndarray] = []
    types: List[np.ndarray] = []
    fallback: List[int] = []
    cw = chunk_size // 8
    per_batch = max(1, _BATCH_WORDS // cw)
    # The shim grows files ahead of what they hold (up to 64 chunks; a killed program's file keeps that
    # tail), so chunks may never have been used (magic word 0, all zeros): scan only runs of chunks whose
    # first word is not 0.
    magic = words[header_size // 8 + np.arange(n_full) * cw] if n_full else np.zeros(0, "<u8")
    used = np.flatnonzero(magic != 0)
    for run in np.split(used, np.flatnonzero(np.diff(used) != 1) + 1) if len(used) else []:
        for first in range(int(run[0]), int(run[-1]) + 1, per_batch):
            last = min(int(run[-1]) + 1, first + per_batch)
            o, t, bad = _scan_full_chunks(words, header_size, chunk_size, first, last, problems)
            offs.append(o)
            types.append(t)
            fallback.extend(bad)
    for c in fallback:
        start = header_size + c * chunk_size
        o, t = walk(data, c, start, start + chunk_size, chunk_size, problems)
        offs.append(o)
        types.append(t)
    tail = header_size + n_full * chunk_size
    if tail < size:
        o, t = walk(data, n_full, tail, size, chunk_size, problems)
        offs.append(o)
        types.append(t)
    # file order, as the C walk gives it: at most one problem per chunk; walked chunks were appended last
    problems.sort(key=lambda p: p[1])
    if not offs:
        return np.zeros(0, np.int64), np.zeros(0, np.uint16), problems
    all_offs, all_types = np.concatenate(offs).astype(np.int64), np.concatenate(types).astype(np.uint16)
    if fallback:
        order = np.argsort(all_offs, kind="stable")
        all_offs, all_types = all_offs[order], all_types[order]
    return all_offs, all_types, problems


def _scan_full_chunks(words, header_size, chunk_size, first, last, problems):
    """Vectorised scan of complete chunks [first, last); returns (offsets, types, chunks to walk)."""
    cw = chunk_size // 8
    base = header_size // 8 + first * cw
    n = last - first
    w = words[base: base + n * cw]
    chunk_magic = (w[::cw] & 0xFFFFFFFF).astype(np.int64)
    typ = w & 0xFFFF
    # header shape: reserved == 0 and size % 8 == 0, type 1..MAX
    cand = ((w & np.uint64(0x00000007FFFF0000)) == 0) & (typ >= 1) & (typ <= MAX_REC_TYPE)
    pos_in_chunk = np.arange(len(w)) % cw
    idx = np.flatnonzero(cand)
    j = pos_in_chunk[idx]
    keep = j >= _HEADER_WORDS
    idx, j = idx[keep], j[keep]
    size_b = w[idx] >> np.uint64(32)
    t = typ[idx]
    ok = (size_b >= _MIN_SIZE[t]) & (j.astype(np.uint64) + size_b // 8 <= cw)
    idx, j, size_b, t = idx[ok], j[ok], size_b[ok].astype(np.int64), t[ok]
    is_cand = np.zeros(len(w) + 1, dtype=bool)
    is_cand[idx] = True
    nxt = idx + size_b // 8
    acc = j == _HEADER_WORDS
    for k in range(1, _LOOKBACK + 1):
        acc[k:] |= nxt[:-k] == idx[k:]
    chunk_of = idx // cw
    used = chunk_magic == CHUNK_MAGIC
    acc &= used[chunk_of]
    a_idx, a_nxt, a_chunk, a_t = idx[acc], nxt[acc], chunk_of[acc], t[acc]
    bad = np.zeros(n, dtype=bool)
    # consecutive accepted records of one chunk must tile exactly
    same = a_chunk[1:] == a_chunk[:-1]
    broken = same & (a_nxt[:-1] != a_idx[1:])
    bad[a_chunk[1:][broken]] = True
    # the first accepted record of each chunk must sit right after the chunk header
    firsts = np.ones(len(a_idx), dtype=bool)
    firsts[1:] = ~same
    bad[a_chunk[firsts][(a_idx[firsts] % cw) != _HEADER_WORDS]] = True
    # where each chunk's walk stops
    stop = np.arange(n) * cw + _HEADER_WORDS
    lasts = np.ones(len(a_idx), dtype=bool)
    lasts[:-1] = ~same
    stop[a_chunk[lasts]] = a_nxt[lasts]
    chunk_end = (np.arange(n) + 1) * cw
    inside = stop < chunk_end
    stop_c = np.minimum(stop, len(w) - 1)
    bad |= inside & is_cand[stop_c]          # the walk would have gone on: guess was wrong
    bad &= used
    lost_here = used & ~bad & inside & (w[stop_c] != 0)
    for c in np.flatnonzero(lost_here):
        off = (base + int(stop[c])) * 8
        lost = (int(chunk_end[c]) - int(stop[c])) * 8
        problems.append(("corrupt", first + int(c), off, lost))
    for c in np.flatnonzero(~used & (chunk_magic != 0)):
        off = (base + int(c) * cw) * 8
        problems.append(("corrupt", first + int(c), off, chunk_size))
    good = ~bad[a_chunk]
    return (base + a_idx[good]) * 8, a_t[good], [first + int(c) for c in np.flatnonzero(bad)]


def walk(data, chunk, start, end, chunk_size, problems):
    """Walk one chunk [start, end) of `data` record by record (end < chunk end when the file is truncated): its
    (offsets, types); its problem, if any, is appended to `problems`. The reference rule.

    A chunk the file ends inside (cut) always gets a problem: "truncated", with 0 bytes lost when the cut
    fell on a record boundary or in unused space (what followed the cut is missing all the same)."""
    chunk_end = start + chunk_size
    truncated = end < chunk_end
    offs, types = [], []
    if end - start < CHUNK_HEADER_SIZE:  # always truncated
        problems.append(("truncated", chunk, start, end - start if any(bytes(data[start:end])) else 0))
        return np.array(offs, np.int64), np.array(types, np.uint16)
    magic = int.from_bytes(data[start:start + 4], "little")
    if magic != CHUNK_MAGIC:
        if magic != 0:
            problems.append(("truncated" if truncated else "corrupt", chunk, start, end - start))
        elif truncated:
            problems.append(("truncated", chunk, start, 0))
        return np.array(offs, np.int64), np.array(types, np.uint16)
    pos = start + CHUNK_HEADER_SIZE
    while pos + 8 <= end:
        w = int.from_bytes(data[pos:pos + 8], "little")
        if w == 0:
            if truncated:
                problems.append(("truncated", chunk, pos, 0))
            return np.array(offs, np.int64), np.array(types, np.uint16)
        t, reserved, size = w & 0xFFFF, (w >> 16) & 0xFFFF, w >> 32
        if reserved or size % 8 or not 1 <= t <= MAX_REC_TYPE or size < REC_MIN_SIZE[t] \
                or pos + size > chunk_end:
            problems.append(("corrupt", chunk, pos, end - pos))
            return np.array(offs, np.int64), np.array(types, np.uint16)
        if pos + size > end:
            problems.append(("truncated", chunk, pos, end - pos))
            return np.array(offs, np.int64), np.array(types, np.uint16)
        offs.append(pos)
        types.append(t)
        pos += size
    if pos < end and any(bytes(data[pos:end])):
        problems.append(("truncated", chunk, pos, end - pos))
    elif truncated:
        problems.append(("truncated", chunk, pos, 0))
    return np.array(offs, np.int64), np.array(types, np.uint16)
