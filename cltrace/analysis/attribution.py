"""Explain a step by comparing the dispatch signatures on its two sides.

A signature is the ordered tuple of (kernel_name, global "AxBxC", local "AxBxC"
or "driver", work_groups) of one sample.  ``before`` is the side with the lower
parameter value.  Kernels are compared by family (kernel_family): names that differ
only in shape tokens (``conv_M61_...`` / ``conv_M62_...``) are one kernel specialised
per shape, not two kernels.

One pair classifier (pair_changes) lists the facts: what differs between two
signatures, one Change per difference.  Its kinds:
- ``variant-switch``: kernel families disappear and others appear;
- ``extra-dispatch`` / ``dispatch-removed``: families added or removed while the rest
  stay, or the same family launched a different number of times;
- ``work-group-split``: same kernel, different explicit local size;
- ``tile-padding``: same kernel, different global size (its work-group count changes);
- ``waves``: the kernel's work-group count crosses a multiple of the compute units: fewer
  new work-groups than compute units, yet rounds = ceil(work_groups / compute_units) change
  (explicit local sizes only: a driver's work-group count is unknown);
- ``routine-growth``: a global size that follows the swept parameter at every count
  (``routine``), or a name that changes only in its shape tokens.
attribute() turns them into the causes of one step (Cause; extra/removed dispatches
are both ``dispatch-count`` there, routine growth is no cause, and identical
signatures are ``unexplained``: the step is inside the driver or device);
dispatch_changes.dispatch_changes() lists them for every neighbour pair of a sweep.
Several causes may hold at once; each comes with a human sentence.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..ranges import span_text
from .facts import Change, kernel_family
from .jobs import job_changes
from .signatures import RepeatedSignature

if TYPE_CHECKING:
    import pandas as pd

    from .dispatch_jobs import JobContext


@dataclass(frozen=True)
class Cause:
    kind: str
    text: str
    kernel: str | None = None
    before: str | None = None
    after: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class _RepeatedList:
    """`times` repetitions of the list `base`: a family's launches in a RepeatedSignature."""
    __slots__ = ("base", "times")

    def __init__(self, base: list, times: int):
        self.base, self.times = base, times

    def __len__(self):
        return len(self.base) * self.times

    def __iter__(self):
        for _ in range(self.times):
            yield from self.base


def _aligned(a, b):
    """zip(a, b); where a side repeats a period, only as far as a pair can still be new (the least common
    multiple of the periods): every caller looks at the distinct aligned pairs in order of first appearance."""
    if not isinstance(a, _RepeatedList) and not isinstance(b, _RepeatedList):
        return zip(a, b)
    pa = len(a.base) if isinstance(a, _RepeatedList) else len(a)
    pb = len(b.base) if isinstance(b, _RepeatedList) else len(b)
    n = min(len(a), len(b), math.lcm(max(pa, 1), max(pb, 1)))
    return zip(itertools.islice(a, n), itertools.islice(b, n))


def _as_signature(sig):
    """A signature as a tuple, or as itself when it is a RepeatedSignature (never expanded)."""
    return sig if isinstance(sig, RepeatedSignature) else tuple(sig or ())


def _distinct_entries(sig) -> tuple:
    return sig.distinct() if isinstance(sig, RepeatedSignature) else tuple(sig)


def _by_kernel(sig) -> dict:
    """family -> [(name, global, local, work_groups)] in launch order."""
    if isinstance(sig, RepeatedSignature):
        return {f: _RepeatedList(v, sig.times) for f, v in _by_kernel(sig.period).items()}
    out: dict[str, list[tuple]] = {}
    for k, g, loc, wg in sig:
        out.setdefault(kernel_family(k), []).append((k, g, loc, wg))
    return out


def global_changed(before, after) -> bool:
    """True when some kernel common to both sides runs with a different global size."""
    return bool(kernels_with_global_change(before, after))


def kernels_with_global_change(before, after) -> set[str]:
    """Families common to both sides whose global size differs at some aligned launch."""
    a, b = _by_kernel(before), _by_kernel(after)
    return {k for k in set(a) & set(b) if any(x[1] != y[1] for x, y in _aligned(a[k], b[k]))}


def routine_global_kernels(pairs, share: float = 0.5, steady: bool = False) -> set[str]:
    """Kernels whose global size changes between at least `share` of the neighbour pairs where both
    sides run them: their size simply follows the swept parameter, so a change is no step cause
    (a padded tile, in contrast, keeps its global size over several counts and then jumps).
    steady=True returns the opposite evidence: kernels seen in 2+ pairs whose global mostly holds.
    Kernels are named by family (kernel_family; a name without shape tokens is its own family)."""
    present: dict[str, int] = {}
    changed: dict[str, int] = {}
    for before, after in pairs:
        common = set(_by_kernel(before)) & set(_by_kernel(after))
        moved = kernels_with_global_change(before, after)
        for k in common:
            present[k] = present.get(k, 0) + 1
            changed[k] = changed.get(k, 0) + (k in moved)
    if steady:
        return {k for k, n in present.items() if n >= 2 and changed[k] / n < share}
    return {k for k, n in present.items() if n >= 2 and changed[k] / n >= share}


def routine_work_group_kernels(pairs, share: float = 0.5) -> set[str]:
    """Kernels with explicit local sizes whose work-group count changes between at least `share` of the
    neighbour pairs where both sides run them with known counts. For the others, a routine global growth
    that still changes the work-group count is a padding step (local z 6 pads the channels to multiples of
    6: the count moves once every 6 channels), listed by pair_changes as ``tile-padding``."""
    present: dict[str, int] = {}
    changed: dict[str, int] = {}
    for before, after in pairs:
        kb, ka = _by_kernel(before), _by_kernel(after)
        for f in set(kb) & set(ka):
            wgs = [(eb[3], ea[3]) for eb, ea in _aligned(kb[f], ka[f]) if eb[2] != "driver" and eb[2] == ea[2]
                   and eb[3] is not None and ea[3] is not None]
            if not wgs:
                continue
            present[f] = present.get(f, 0) + 1
            changed[f] = changed.get(f, 0) + any(int(wb) != int(wa) for wb, wa in wgs)
    return {k for k, n in present.items() if n >= 2 and changed[k] / n >= share}


def _names(entries) -> list[str]:
    if isinstance(entries, _RepeatedList):
        entries = entries.base
    return list(dict.fromkeys(e[0] for e in entries))


def _launches(n: int, more: bool) -> str:
    return f"{n} {'more' if more else 'fewer'} {'launch' if n == 1 else 'launches'}"


def _rounds(wg, local, cu):
    if cu is None or wg is None or local == "driver":
        return None
    return -(-int(wg) // int(cu))


def pair_changes(before, after, routine=frozenset(), steady=frozenset(),
                 compute_units: int | None = None, wg_routine=None) -> list[Change]:
    """Every difference between signatures ``before`` and ``after`` (empty when they agree).
    ``routine``: True (every kernel) or the families whose global-size changes follow the swept
    parameter (routine_global_kernels): their changes are ``routine-growth``, not ``tile-padding``. A
    kernel with a driver-chosen local size on both sides is routine too unless ``steady`` names it (its
    work-group count is unknown). ``compute_units``: the device's; a global change that adds fewer
    work-groups than compute units yet another round of them is ``waves`` (only with explicit local sizes: a
    driver's work-group count is unknown); other changes of the rounds are named in the text. ``wg_routine``:
    the families whose work-group count follows the sweep (routine_work_group_kernels); given, a routine
    global growth of another family that changes its work-group count is ``tile-padding`` of work-groups."""
    before, after = _as_signature(before), _as_signature(after)
    kb, ka = _by_kernel(before), _by_kernel(after)
    if isinstance(routine, bool):
        routine = set(kb) | set(ka) if routine else set()
    routine = {kernel_family(k) for k in routine}
    steady = {kernel_family(k) for k in steady or ()}
    cu = int(compute_units) if compute_units and not (isinstance(compute_units, float)
                                                      and math.isnan(compute_units)) else None
    added, removed = sorted(set(ka) - set(kb)), sorted(set(kb) - set(ka))
    out: list[Change] = []
    if added and removed:
        gone = sorted({n for f in removed for n in _names(kb[f])})
        new = sorted({n for f in added for n in _names(ka[f])})
        out.append(Change("variant-switch", f"kernel variant switched: {' + '.join(gone)} -> {' + '.join(new)}",
                          None, None, ",".join(gone), ",".join(new)))
    else:
        for f in added:
            k, n = _names(ka[f])[0], len(ka[f])
            out.append(Change("extra-dispatch", f"extra dispatch: {k} ({_launches(n, True)})", k, f, "0", str(n)))
        for f in removed:
            k, n = _names(kb[f])[0], len(kb[f])
            out.append(Change("dispatch-removed", f"dispatch removed: {k} ({_launches(n, False)})", k, f,
                              str(n), "0"))
    common = sorted(set(ka) & set(kb))
    for f in common:
        nb, na = len(kb[f]), len(ka[f])
        k = _names(ka[f])[0]
        if na > nb:
            out.append(Change("extra-dispatch", f"extra dispatch: {k} ({_launches(na - nb, True)})", k, f,
                              str(nb), str(na)))
        elif na < nb:
            out.append(Change("dispatch-removed", f"dispatch removed: {k} ({_launches(nb - na, False)})", k, f,
                              str(nb), str(na)))
    for f in common:
        seen = set()
        for (name_b, gb, lb, wb), (name_a, ga, la, wa) in _aligned(kb[f], ka[f]):
            k, was = name_a, (name_b if name_b != name_a else None)
            shown = k if was is None else f"{k} (was {was})"
            rb, ra = _rounds(wb, lb, cu), _rounds(wa, la, cu)
            sizes = dict(work_groups_before=wb, work_groups_after=wa, rounds_before=rb, rounds_after=ra,
                         renamed_from=was)
            rounds = f"{rb} -> {ra} rounds on {cu} compute units" if rb is not None and ra is not None \
                and rb != ra else ""
            if lb != la and ("l", lb, la) not in seen:
                seen.add(("l", lb, la))
                out.append(Change("work-group-split", f"work-group split: {shown} local {lb} -> {la}"
                                  + (f" (work-groups {wb} -> {wa}, {rounds})" if rounds else ""), k, f,
                                  lb, la, **sizes))
            if gb != ga and ("g", gb, ga) not in seen:
                seen.add(("g", gb, ga))
                if lb == la and rounds and abs(wa - wb) < cu:
                    # fewer new work-groups than compute units, yet one more round: the count crossed a
                    # multiple of the compute units (a wave), not grew with the work
                    out.append(Change("waves", f"waves: {shown} {wb} -> {wa} work-groups on {cu} compute units: "
                                      f"{rb} -> {ra} {'round' if ra == 1 else 'rounds'} (global {gb} -> {ga})",
                                      k, f, str(wb), str(wa), **sizes))
                elif f in routine or (lb == la == "driver" and f not in steady):
                    out.append(Change("routine-growth", f"routine growth: {shown} global {gb} -> {ga}", k, f,
                                      gb, ga, **sizes))
                    if (wg_routine is not None and f not in wg_routine and lb == la != "driver"
                            and wb is not None and wa is not None and int(wb) != int(wa)):
                        out.append(Change("tile-padding", f"work-groups (tile padding): {shown} {wb} -> {wa} "
                                          f"work-groups of local {la} (global {gb} -> {ga}"
                                          f"{', ' + rounds if rounds else ''})", k, f, str(wb), str(wa), **sizes))
                else:
                    wg = "" if wb == wa or wb is None or wa is None else \
                        f" (work-groups {wb} -> {wa}{', ' + rounds if rounds else ''})"
                    out.append(Change("tile-padding", f"global size (tile padding): {shown} {gb} -> {ga}{wg}", k, f,
                                      gb, ga, **sizes))
            elif gb == ga and lb == la and was is not None and ("n", name_b, name_a) not in seen:
                seen.add(("n", name_b, name_a))
                out.append(Change("routine-growth", f"routine growth: {k} specialised per shape (was {was})", k, f,
                                  gb, ga, **sizes))
    return out


_CAUSE_KIND = {"extra-dispatch": "dispatch-count", "dispatch-removed": "dispatch-count",
               "extra-job": "job-count", "job-removed": "job-count"}


def attribute(before, after, routine_global=False, steady_global=frozenset(),
              compute_units: int | None = None, jobs_policy: str | None = None,
              job_cores: int | None = None) -> list[Cause]:
    """Causes of the latency change between signature ``before`` and ``after`` (pair_changes, with
    added and removed launches both ``dispatch-count`` and routine growth left out).
    ``routine_global``: True (every kernel) or a set of kernel names whose global-size changes
    are routine along the sweep (see routine_global_kernels) and so not called tile padding.
    A kernel with a driver-chosen local size on both sides counts as routine too unless
    ``steady_global`` names it: its work-group count is unknown, so without evidence that its
    global size holds still, a change of it is no more than the sweep growing it.
    ``compute_units``: with it, a work-group count that crosses a multiple of the compute units is
    called ``waves`` (pair_changes), even for a kernel whose global size is routine.
    ``jobs_policy``: how the device runs a non-uniform range (jobs.POLICIES); with ``split``, a launch run as
    another number of driver jobs is a ``job-count`` cause (jobs.job_changes, rounds over ``job_cores``)."""
    before, after = _as_signature(before), _as_signature(after)
    causes: list[Cause] = []
    only_routine = renamed = False
    changes = pair_changes(before, after, routine_global, steady_global, compute_units)
    changes += job_changes(before, after, jobs_policy, job_cores)
    for c in changes:
        if c.kind == "routine-growth":
            only_routine |= c.before != c.after
            renamed |= c.renamed_from is not None
            continue
        causes.append(Cause(_CAUSE_KIND.get(c.kind, c.kind), c.text, c.kernel, c.before, c.after))
    if not causes:
        if not before or not after:
            text = "unexplained: no dispatch signature on one side"
        elif only_routine:
            text = ("unexplained: same dispatches, only the global size differs (as at every count of "
                    "this sweep); inside the driver or device")
        elif renamed:
            text = ("unexplained: same dispatches, the kernel names differ only in shape tokens; inside the "
                    "driver or device")
        else:
            text = "unexplained: identical dispatches on both sides; inside the driver or device"
        if any(loc == "driver" for _, _, loc, _ in _distinct_entries(before) + _distinct_entries(after)):
            text += " (local size chosen by the driver and not reported by OpenCL: its split is a candidate)"
        causes.append(Cause("unexplained", text))
    return causes


def summarise(causes: list[Cause]) -> str:
    """One line for all causes: '; '-joined sentences."""
    return "; ".join(c.text for c in causes)


def short_label(causes: list[Cause]) -> str:
    """Compact label for plots: the cause kinds, '+'-joined."""
    names = {"variant-switch": "variant", "dispatch-count": "dispatch", "work-group-split": "wg split",
             "tile-padding": "padding", "waves": "waves", "unexplained": "driver/device", "job-count": "jobs"}
    kinds = []
    for c in causes:
        n = names.get(c.kind, c.kind)
        if c.kind == "dispatch-count" and c.kernel:
            n = ("+" if c.text.startswith("extra") else "-") + c.kernel
        elif c.kind == "job-count":
            n = ("+" if c.text.startswith("extra") else "-") + "job"
        if n not in kinds:
            kinds.append(n)
    return " + ".join(kinds)


# -- the steps of a sweep with their causes (the glue staircase.analyse calls) ----------------------------
def attribute_steps(steps: pd.DataFrame, pairs: pd.DataFrame, configs: pd.DataFrame,
                     compute_units: int | dict | None = None, jobs: JobContext | None = None) -> pd.DataFrame:
    """The steps with their causes (``attribute`` on the dispatch signatures of the two sides, routine growth
    judged over the group's neighbour pairs), where the time went (``time_shift``) and whether a side ran more
    than one signature."""
    sig = dict(zip(configs["config_id"], configs["signature"]))
    varies = dict(zip(configs["config_id"], configs["signature_varies"]))
    # judged over every neighbour pair of the group, steps included: a sweep whose pairs are all
    # steps (alternating fast/slow counts) must not turn proportional growth into "tile padding"
    routine, steady = {}, {}
    if len(pairs):
        for label, g in pairs.groupby("group_label"):
            sides = [(sig[a], sig[b]) for a, b in zip(g["from_config_id"], g["to_config_id"])]
            routine[label] = routine_global_kernels(sides)
            steady[label] = routine_global_kernels(sides, steady=True)
    per_kernel = dict(zip(configs["config_id"], configs["kernel_median_ns"])) \
        if "kernel_median_ns" in configs.columns else {}
    causes, texts, kinds, labels, var, shifts, shares = [], [], [], [], [], [], []
    for r in steps.to_dict("records"):
        cu = compute_units.get(r["group_label"]) if isinstance(compute_units, dict) else compute_units
        c = attribute(sig[r["from_config_id"]], sig[r["to_config_id"]], routine.get(r["group_label"], set()),
                      steady.get(r["group_label"], set()), compute_units=cu,
                      jobs_policy=None if jobs is None else jobs.policy_of(r["group_label"]),
                      job_cores=None if jobs is None else jobs.cores_of(r["group_label"]))
        shift, share, warning = time_shift(per_kernel.get(r["from_config_id"]) or {},
                                           per_kernel.get(r["to_config_id"]) or {}, c)
        causes.append([x.to_dict() for x in c])
        texts.append(summarise(c) + warning)
        shifts.append(shift)
        shares.append(share)
        kinds.append("+".join(dict.fromkeys(x.kind for x in c)))
        labels.append(short_label(c))
        var.append(bool(varies[r["from_config_id"]] or varies[r["to_config_id"]]))
    steps = steps.copy()
    steps["cause"] = texts
    steps["cause_kind"] = kinds
    steps["cause_label"] = labels
    steps["causes"] = causes
    steps["signature_varies"] = var
    steps["time_shift"] = shifts
    steps["cause_share"] = shares
    return steps


def open_places(steps: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    """A step unexplained at its pair (identical dispatches either side) whose place is open over a dispatch
    change (``dispatch_change_ids``: the changes inside its location interval) gets that change in its cause
    text: the step may well lie there, and "unexplained" alone would hide the likeliest cause. ``cause_kind``
    stays the pair's."""
    if steps.empty or changes is None or changes.empty or "dispatch_change_ids" not in steps.columns:
        return steps
    text = dict(zip(changes["change_id"], zip(changes["from_value"], changes["to_value"], changes["text"])))
    causes = []
    for r in steps.to_dict("records"):
        ids = [i for i in r["dispatch_change_ids"] if i in text]
        if r["cause_kind"] != "unexplained" or not ids:
            causes.append(r["cause"])
            continue
        held = "; ".join(f"{_v(text[i][0])}->{_v(text[i][1])}: {text[i][2]}" for i in ids)
        causes.append(f"{r['cause']}; but its place is open ({span_text(r['location_from'], r['location_to'])}) "
                      f"and holds a dispatch change at {held}")
    return steps.assign(cause=causes)


def _v(x):
    """A swept value as the report writes it (7, not 7.0)."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _named_kernels(causes) -> set:
    named = set()
    for x in causes:
        if x.kind == "unexplained":
            continue
        if x.kernel:
            named.add(x.kernel)
        elif x.kind == "variant-switch":
            named |= set(filter(None, (x.before or "").split(","))) | set(filter(None, (x.after or "").split(",")))
    return named


def time_shift(before: dict, after: dict, causes, top: int = 3):
    """Where a step's time went, kernel by kernel (medians within one sample), and the share of the
    change carried by the kernels the causes name. A cause whose kernels carry little of the change
    gets a warning: the step is then mostly in kernels whose dispatch did not change."""
    names = set(before) | set(after)
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in names}
    total = sum(delta.values())
    if not names or total == 0:
        return "", float("nan"), ""
    biggest = sorted(delta.items(), key=lambda kv: -abs(kv[1]))[:top]
    text = ", ".join(f"{k} {v / 1e6:+.3f} ms" for k, v in biggest)
    named = _named_kernels(causes)
    if not named:
        return text, float("nan"), ""
    share = sum(delta[k] for k in named if k in delta) / total
    warning = ""
    if share < 0.25:
        main_k, main_v = biggest[0]
        carried = "do not explain it" if share <= 0 else f"carry only {share:.0%} of the change"
        warning = (f" (but these kernels {carried}: most is in {main_k}, {main_v / 1e6:+.3f} ms, "
                   f"whose dispatch is the same on both sides)") if main_k not in named else ""
    return text, float(share), warning
