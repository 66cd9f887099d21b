"""Explain a step by comparing the dispatch signatures on its two sides.

A signature is the ordered tuple of (kernel_name, global "AxBxC", local "AxBxC"
or "driver", work_groups) of one sample.  ``before`` is the side with the lower
parameter value.  Causes (kinds):
- ``variant-switch``: kernels disappear and others appear (different name set);
- ``dispatch-count``: kernels added or removed while the rest stay, or the same
  kernel launched a different number of times (extra dispatch);
- ``work-group-split``: same kernel, different explicit local size;
- ``tile-padding``: same kernel, different global size (unless global sizes
  change at every configuration of the sweep: ``routine_global``);
- ``unexplained``: identical signatures: the step is inside the driver or device.
Several causes may hold at once; each comes with a human sentence.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Cause:
    kind: str
    text: str
    kernel: str | None = None
    before: str | None = None
    after: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _by_kernel(sig) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for k, g, l, wg in sig:
        out.setdefault(k, []).append((g, l, wg))
    return out


def global_changed(before, after) -> bool:
    """True when some kernel common to both sides runs with a different global size."""
    return bool(kernels_with_global_change(before, after))


def kernels_with_global_change(before, after) -> set[str]:
    a, b = _by_kernel(before), _by_kernel(after)
    return {k for k in set(a) & set(b) if any(x[0] != y[0] for x, y in zip(a[k], b[k]))}


def routine_global_kernels(pairs, share: float = 0.5, steady: bool = False) -> set[str]:
    """Kernels whose global size changes between at least `share` of the neighbour pairs where both
    sides run them: their size simply follows the swept parameter, so a change is no step cause
    (a padded tile, in contrast, keeps its global size over several counts and then jumps).
    steady=True returns the opposite evidence: kernels seen in 2+ pairs whose global mostly holds."""
    present, changed = {}, {}
    for before, after in pairs:
        common = set(_by_kernel(before)) & set(_by_kernel(after))
        moved = kernels_with_global_change(before, after)
        for k in common:
            present[k] = present.get(k, 0) + 1
            changed[k] = changed.get(k, 0) + (k in moved)
    if steady:
        return {k for k, n in present.items() if n >= 2 and changed[k] / n < share}
    return {k for k, n in present.items() if n >= 2 and changed[k] / n >= share}


def attribute(before, after, routine_global=False, steady_global=frozenset()) -> list[Cause]:
    """Causes of the latency change between signature ``before`` and ``after``.
    ``routine_global``: True (every kernel) or a set of kernel names whose global-size changes
    are routine along the sweep (see routine_global_kernels) and so not called tile padding.
    A kernel with a driver-chosen local size on both sides counts as routine too unless
    ``steady_global`` names it: its work-group count is unknown, so without evidence that its
    global size holds still, a change of it is no more than the sweep growing it."""
    if isinstance(routine_global, bool):
        routine_global = {k for k, *_ in tuple(before or ()) + tuple(after or ())} if routine_global else set()
    before, after = tuple(before or ()), tuple(after or ())
    cb, ca = Counter(k for k, *_ in before), Counter(k for k, *_ in after)
    added, removed = sorted(set(ca) - set(cb)), sorted(set(cb) - set(ca))
    causes: list[Cause] = []
    if added and removed:
        causes.append(Cause("variant-switch",
                            f"kernel variant switched: {' + '.join(removed)} -> {' + '.join(added)}",
                            None, ",".join(removed), ",".join(added)))
    else:
        for k in added:
            causes.append(Cause("dispatch-count", f"extra dispatch: {k} ({ca[k]} more "
                                f"{'launch' if ca[k] == 1 else 'launches'})", k, "0", str(ca[k])))
        for k in removed:
            causes.append(Cause("dispatch-count", f"dispatch removed: {k} ({cb[k]} fewer "
                                f"{'launch' if cb[k] == 1 else 'launches'})", k, str(cb[k]), "0"))
    for k in sorted(set(ca) & set(cb)):
        d = ca[k] - cb[k]
        if d > 0:
            causes.append(Cause("dispatch-count", f"extra dispatch: {k} ({d} more "
                                f"{'launch' if d == 1 else 'launches'})", k, str(cb[k]), str(ca[k])))
        elif d < 0:
            causes.append(Cause("dispatch-count", f"dispatch removed: {k} ({-d} fewer "
                                f"{'launch' if d == -1 else 'launches'})", k, str(cb[k]), str(ca[k])))
    kb, ka = _by_kernel(before), _by_kernel(after)
    only_routine = False
    for k in sorted(set(ka) & set(kb)):
        seen_l, seen_g = set(), set()
        for (gb, lb, wb), (ga, la, wa) in zip(kb[k], ka[k]):
            if lb != la and (lb, la) not in seen_l:
                seen_l.add((lb, la))
                causes.append(Cause("work-group-split", f"work-group split: {k} local {lb} -> {la}", k, lb, la))
            if gb != ga and (gb, ga) not in seen_g:
                seen_g.add((gb, ga))
                if k in routine_global or (lb == la == "driver" and k not in steady_global):
                    only_routine = True
                    continue
                wg = "" if wb == wa or wb is None or wa is None else f" (work-groups {wb} -> {wa})"
                causes.append(Cause("tile-padding", f"global size (tile padding): {k} {gb} -> {ga}{wg}", k, gb, ga))
    if not causes:
        if not before or not after:
            text = "unexplained: no dispatch signature on one side"
        elif only_routine:
            text = ("unexplained: same dispatches, only the global size differs (as at every count of "
                    "this sweep); inside the driver or device")
        else:
            text = "unexplained: identical dispatches on both sides; inside the driver or device"
        if any(l == "driver" for _, _, l, _ in before + after):
            text += " (local size chosen by the driver and not reported by OpenCL: its split is a candidate)"
        causes.append(Cause("unexplained", text))
    return causes


def summarise(causes: list[Cause]) -> str:
    """One line for all causes: '; '-joined sentences."""
    return "; ".join(c.text for c in causes)


def short_label(causes: list[Cause]) -> str:
    """Compact label for plots: the cause kinds, '+'-joined."""
    names = {"variant-switch": "variant", "dispatch-count": "dispatch", "work-group-split": "wg split",
             "tile-padding": "padding", "unexplained": "driver/device"}
    kinds = []
    for c in causes:
        n = names.get(c.kind, c.kind)
        if c.kind == "dispatch-count" and c.kernel:
            n = ("+" if c.text.startswith("extra") else "-") + c.kernel
        if n not in kinds:
            kinds.append(n)
    return " + ".join(kinds)
