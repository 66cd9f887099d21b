"""The one range notation of cltrace's output: a run of consecutive whole values is written ``FIRST..LAST``
(``77..80, 93..96``), as the steps (``within 197..200``), the stairs (``stair 22..23``) and the sweep labels
(``5..12``) write theirs. The report's layer notes (the split layer's jobs per launch), its Driver jobs section,
the emulation warning's run ids and network-predict's swept counts all go through here. A leaf module: it
imports nothing of cltrace."""
from typing import Iterable

SEP = ".."


def number_text(v) -> str:
    """A whole number as digits (``96``, also for ``96.0`` or 1234567), anything else as ``:g`` writes it."""
    f = float(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def span_text(lo, hi) -> str:
    """``lo..hi``, or ``lo`` alone when both are the same value."""
    return number_text(lo) if float(lo) == float(hi) else f"{number_text(lo)}{SEP}{number_text(hi)}"


def ranges_text(values: Iterable, empty: str = "none") -> str:
    """[77, 78, 79, 80, 93, 94, 96] -> '77..80, 93..94, 96': the distinct values, sorted, with each run of
    consecutive whole numbers as one range; ``empty`` when there is none."""
    vals = sorted({float(v) for v in values})
    if not vals:
        return empty
    out, start, prev = [], vals[0], vals[0]
    for v in vals[1:]:
        if v == prev + 1 and prev.is_integer():
            prev = v
            continue
        out.append(span_text(start, prev))
        start = prev = v
    out.append(span_text(start, prev))
    return ", ".join(out)
