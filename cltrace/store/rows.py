"""Rows by id: where each wanted id sits in a sorted id column (a launch's dispatch among the dispatches).

Used by the store's own join of `launch_rows` with `dispatches` (launch_layout.py) and by the analysis that
reads launches in the same two-table form (analysis/launch_codes.py), which is why it lives below both.
"""
import numpy as np


def sorted_id_rows(ids: np.ndarray, want: np.ndarray, what: str = "dispatch") -> np.ndarray:
    """Row in `ids` (sorted, unique int64) of each value of `want`; ValueError when one is missing. A direct
    look-up table when the ids span a small range (dispatch ids do), else a binary search."""
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        raise ValueError(f"{what}es must be sorted by {what}_id, without repeats")
    if not len(want):
        return np.zeros(0, np.int64)
    if not len(ids):
        raise ValueError(f"a launch refers to a {what} that is not in `{what}es`")
    lo, hi = int(ids[0]), int(ids[-1])
    if hi - lo + 1 == len(ids):             # consecutive ids (the store's): the row is the offset
        w_lo, w_hi = int(want.min()), int(want.max())
        if w_lo < lo or w_hi > hi:
            raise ValueError(f"a launch refers to a {what} that is not in `{what}es`")
        return want - lo
    if hi - lo < max(4 * len(ids), 1 << 16) and hi - lo < len(want) + (1 << 16):
        table = np.full(hi - lo + 1, -1, np.int32 if len(ids) < 1 << 31 else np.int64)
        table[ids - lo] = np.arange(len(ids))
        w = want - lo
        bad = (w < 0) | (w > hi - lo)
        if bad.any():
            raise ValueError(f"a launch refers to a {what} that is not in `{what}es`")
        at = table[w]
        if (at < 0).any():
            raise ValueError(f"a launch refers to a {what} that is not in `{what}es`")
        return at
    at = np.searchsorted(ids, want)
    if at.max(initial=0) >= len(ids) or (ids[np.minimum(at, len(ids) - 1)] != want).any():
        raise ValueError(f"a launch refers to a {what} that is not in `{what}es`")
    return at
