"""Dispatch signatures: the per-launch size texts, the readable (and, past 64 entries, compressed) text of a
signature, its stable hash, and the period search that splits a repeated dispatch sequence into samples."""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd


def dims(row_vals, work_dim) -> str:
    """'96x56x56' from up to three sizes, limited to work_dim when known."""
    vals = [v for v in row_vals]
    n = int(work_dim) if work_dim is not None and not _isnan(work_dim) else 3
    vals = vals[:max(1, n)]
    return "x".join("?" if _isnan(v) else str(int(v)) for v in vals)


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


# A signature of up to this many entries prints in full; a longer one prints compressed (signature_text).
_PLAIN_ENTRIES = 64
# Compressing an aperiodic signature looks for repeated stretches with periods up to this many runs, in at
# most _STRETCHES stretches and _STRETCH_WORK element comparisons per text (then the rest prints in full).
_STRETCH_PERIOD = 64
_STRETCHES = 32
_STRETCH_WORK = 200_000_000


def _entry_text(entry) -> str:
    k, g, loc, wg = entry
    return f"{k} g={g} l={loc} wg={'?' if wg is None else wg}"


def signature_text(signature) -> str:
    """Readable one-line form of a signature tuple.

    Up to 64 entries: every entry, '; '-joined.  Longer signatures are written compressed, without loss:
    ``k× (<period>)`` when the signature is k >= 2 exact repetitions of a period (the period written by
    the same rules), else runs of identical entries as ``<entry> ×n`` (and long repeated stretches of
    those runs as ``k× (...)`` between the rest).
    """
    sig = signature if isinstance(signature, (tuple, list)) else tuple(signature)
    if len(sig) <= _PLAIN_ENTRIES:
        return "; ".join(_entry_text(e) for e in sig)
    index: dict = {}
    try:
        codes = np.fromiter((index.setdefault(e, len(index)) for e in sig), dtype=np.int64, count=len(sig))
    except TypeError:       # unhashable entries (lists): code them by their text
        codes, texts = _canonical_texts([_entry_text(e) for e in sig])
        return _codes_text(codes, texts)
    text_codes, texts = _canonical_texts([_entry_text(e) for e in index])
    return _codes_text(text_codes[codes], texts)


def signature_hash(signature) -> str:
    """Short stable hash (8 hex digits) of a signature."""
    return _text_hash(signature_text(signature))


def _text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def _canonical_texts(texts: list) -> tuple:
    """(code of each text in the list of its distinct texts, that list)."""
    index: dict = {}
    codes = np.array([index.setdefault(t, len(index)) for t in texts], dtype=np.int64)
    return codes, list(index)


def _divisors(n: int) -> list:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return small + [n // d for d in reversed(small) if n // d != d]


def _period(a: np.ndarray) -> int:
    """Smallest p such that the array ``a`` is k >= 2 exact repetitions of a[:p]; else len(a)."""
    n = len(a)
    for p in _divisors(n):
        if p > n // 2:
            break
        head = min(n - p, 1024)      # cheap rejection before the full comparison
        if np.array_equal(a[p:p + head], a[:head]) and np.array_equal(a[p:], a[:-p]):
            return p
    return n


def split_periodic(keys) -> int:
    """Smallest period p such that ``keys`` is k >= 2 exact repetitions of keys[:p]; else len(keys)."""
    if isinstance(keys, np.ndarray) and keys.dtype.kind in "biu":
        return _period(keys)
    try:
        index: dict = {}
        codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(keys))
    except TypeError:   # unhashable keys
        n = len(keys)
        for p in range(1, n // 2 + 1):
            if n % p == 0 and all(keys[i] == keys[i % p] for i in range(p, n)):
                return p
        return n
    return _period(codes)


def _codes_text(codes: np.ndarray, texts: list) -> str:
    """signature_text of a signature given as entry codes into ``texts`` (one code per distinct text)."""
    n = len(codes)
    if n <= _PLAIN_ENTRIES:
        return "; ".join(texts[c] for c in codes.tolist())
    p = _period(codes)
    if p < n:
        return f"{n // p}× ({_codes_text(codes[:p], texts)})"
    # runs of identical entries -> one token each: "<entry>" or "<entry> ×n"
    starts = np.concatenate(([0], np.flatnonzero(codes[1:] != codes[:-1]) + 1))
    counts = np.diff(np.append(starts, n))
    vals = codes[starts]
    tok, tok_keys = pd.factorize(vals * (n + 1) + counts)
    tok_texts = [texts[v] if c == 1 else f"{texts[v]} ×{c}"
                 for v, c in zip((tok_keys // (n + 1)).tolist(), (tok_keys % (n + 1)).tolist())]
    return _tokens_text(tok.astype(np.int64), tok_texts, [_STRETCHES, _STRETCH_WORK])


def _tokens_text(t: np.ndarray, texts: list, budget: list) -> str:
    m = len(t)
    if m <= _PLAIN_ENTRIES:
        return "; ".join(texts[c] for c in t.tolist())
    p = _period(t)
    if p < m:
        return f"{m // p}× ({_tokens_text(t[:p], texts, budget)})"
    found = _stretch(t, budget)
    if found is None:
        return "; ".join(texts[c] for c in t.tolist())
    a, p, k = found
    parts = [_tokens_text(t[:a], texts, budget)] if a else []
    parts.append(f"{k}× ({_tokens_text(t[a:a + p], texts, budget)})")
    if a + k * p < m:
        parts.append(_tokens_text(t[a + k * p:], texts, budget))
    return "; ".join(parts)


def _stretch(t: np.ndarray, budget: list):
    """(start, period, repetitions) of the longest stretch of ``t`` that repeats a period of up to
    _STRETCH_PERIOD tokens, when it saves at least 16 tokens and the budget allows the search; else None."""
    m = len(t)
    top = min(_STRETCH_PERIOD, m // 2)
    work = m * top
    if budget[0] <= 0 or work > budget[1]:
        return None
    budget[0] -= 1
    budget[1] -= work
    best, best_cover = None, 0
    for p in range(1, top + 1):
        eq = t[p:] == t[:-p]
        if not eq.any():
            continue
        edge = np.diff(np.concatenate(([0], eq.view(np.int8), [0])))
        run_start, run_end = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
        j = int(np.argmax(run_end - run_start))
        k = (int(run_end[j] - run_start[j]) + p) // p
        if k >= 2 and k * p > best_cover and (k - 1) * p >= 16:
            best, best_cover = (int(run_start[j]), p, k), k * p
    return best


# Columns of a sample known from its grouping (_assign), then those from its launches (_aggregate).


# A sample with more launches than this whose dispatch sequence repeats a period is given a
# RepeatedSignature instead of a tuple (report/launch_stream.py): a region of 50M launches is then its period
# and a count, not 50M references.
LONG_SIGNATURE = 1 << 16


class RepeatedSignature(Sequence):
    """A signature that is `times` exact repetitions of `period` (a tuple of entries, the smallest period):
    a read-only sequence of entries equal, entry by entry, to the tuple it stands for, kept as the period
    and the count. analysis.attribution compares two of them without expanding them."""
    __slots__ = ("period", "times")

    def __init__(self, period: tuple, times: int):
        self.period, self.times = tuple(period), int(times)

    def __len__(self):
        return len(self.period) * self.times

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("signature index out of range")
        return self.period[i % len(self.period)]

    def __iter__(self):
        for _ in range(self.times):
            yield from self.period

    def __eq__(self, other):
        if isinstance(other, RepeatedSignature):     # both periods are the smallest: equal sequences
            return self.period == other.period and self.times == other.times
        if isinstance(other, (tuple, list)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self):
        return hash((RepeatedSignature, self.period, self.times))

    def __repr__(self):
        return f"RepeatedSignature({self.times} x {len(self.period)} entries)"

    def distinct(self):
        """The entries, each once, in order of first appearance."""
        return tuple(dict.fromkeys(self.period))
