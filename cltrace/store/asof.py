"""Handles resolved "as of" a seq: cl_* pointers get reused after release, so a record that names a handle
belongs to the latest record of that handle written before it."""
import numpy as np


def asof(keys, seqs, qkeys, qseqs, later_ok=False):
    """Index of the record with the same key and the greatest seq < qseq (-1 if none).

    later_ok: with no earlier record, take the earliest later one (devices are
    described when first seen, which may come after their first use).
    """
    keys, seqs = np.asarray(keys, np.uint64), np.asarray(seqs, np.uint64)
    qkeys, qseqs = np.asarray(qkeys, np.uint64), np.asarray(qseqs, np.uint64)
    out = np.full(len(qkeys), -1, np.int64)
    if len(keys) == 0 or len(qkeys) == 0:
        return out
    uk, kinv = np.unique(keys, return_inverse=True)
    qk = np.minimum(np.searchsorted(uk, qkeys), len(uk) - 1)
    known = uk[qk] == qkeys
    order = np.lexsort((seqs, kinv))
    sk, ss = kinv[order], seqs[order]
    # one sortable key per (handle, seq): handle index in the high bits
    shift = np.uint64(max(1, int(np.max(np.concatenate([ss, qseqs]))).bit_length()))
    if int(shift) + max(1, len(uk).bit_length()) > 63:
        raise ValueError("cltrace: sequence numbers too large to index")
    comp = (sk.astype(np.uint64) << shift) | ss
    qcomp = (qk.astype(np.uint64) << shift) | qseqs
    pos = np.searchsorted(comp, qcomp, side="left") - 1
    posc = np.maximum(pos, 0)
    hit = known & (pos >= 0) & (sk[posc] == qk)
    out[hit] = order[posc[hit]]
    if later_ok:
        nxt = np.minimum(pos + 1, len(comp) - 1)
        late = known & ~hit & (sk[nxt] == qk)
        out[late] = order[nxt[late]]
    return out
