"""Which configurations an adaptive sweep runs again: where a verdict is still open.

A verdict is open where a configuration has fewer than two processes (no test at all),
where the strongest split inside a segment looks like a step (its effect is at least
min_effect and its adjusted p-value below steps.UNDECIDED_P) without passing, or where a
step was found but its location interval spans more than its pair.

More processes are spent on the whole segment around an open split, never on the two
configurations beside it alone: the machine drifts between rounds (load, frequency),
and runs added to part of a segment would shift that part against the rest and make a
step at its edge. A segment re-run as a whole moves as a whole.
"""
from __future__ import annotations

import pandas as pd

from .steps import LOCATION_OPEN


def configs_to_rerun(result) -> list[dict]:
    """One dict per configuration that needs one more process: parameter name -> value, as in
    the samples (the swept parameter and the group's other parameters). Empty: all decided."""
    if result is None or result.param is None or result.undecided is None or result.undecided.empty:
        return []
    cfg = result.configs.set_index("config_id")
    keys = [b for b in result.by if b != result.param] + [result.param]
    out, seen = [], set()
    for ids in result.undecided["config_ids"]:
        for cid in ids:
            if cid in seen or cid not in cfg.index:
                continue
            seen.add(cid)
            row = cfg.loc[cid]
            out.append({k: _plain(row[k]) for k in keys})
    return out


def undecided_summary(result) -> str:
    """A short phrase for a progress line: what is still open."""
    if result is None or result.param is None or result.undecided is None or result.undecided.empty:
        return "all verdicts decided"
    u = result.undecided
    few = u["reason"].str.startswith("fewer than").sum()
    place = (u["reason"] == LOCATION_OPEN).sum()
    cand = len(u) - few - place
    parts = []
    if cand:
        parts.append(f"{cand} candidate step{'s' if cand != 1 else ''} undecided")
    if place:
        parts.append(f"{place} step{'s' if place != 1 else ''} whose place is open")
    if few:
        parts.append(f"{few} group{'s' if few != 1 else ''} with configurations in fewer than 2 processes")
    return ", ".join(parts)


def _plain(v):
    if pd.isna(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
