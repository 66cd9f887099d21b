"""The job model: how a driver runs a launch whose global size is not a multiple of its local size.

OpenCL 2.0 (and `-cl-arm-non-uniform-work-group-size` on Mali) lets a program ask for a local size that does not
divide the global size. The API still sees one launch; what the device runs depends on the runtime:

- ``split``: one job per uniform region. Per dimension the range is a bulk region alignDown(g, l) with local l
  and a remainder g mod l with local (g mod l); every non-empty combination of regions is a job of its own
  (Intel NEO: a bulk walker plus remainder walkers; clvk/clspv: up to 8 uniform dispatches; Mali: a job
  descriptor holds one work-group size and count, so a remainder needs another job).
- ``masked``: one job; the lanes past the edge are masked off (Mesa Gallium's ``last_block``).
- ``refuse``: the launch fails with CL_INVALID_WORK_GROUP_SIZE (PoCL 3.1, pocl#782; any OpenCL 1.x device).

Pure functions over dispatch signature entries ``(kernel, global "AxB", local "AxB" | "driver", work_groups)``.
A launch with a driver-chosen local size has no known regions (the driver picks a local size that fits).
Rounds assume that the jobs of one launch run one after another, each in ceil(work_groups / cores) rounds of
the cores (``masked``: one job of all the work-groups).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .facts import Change, kernel_family

POLICIES = ("split", "masked", "refuse")

POLICY_TEXT = {
    "split": "one job per uniform region (bulk + remainder)",
    "masked": "one job, lanes past the edge masked",
    "refuse": "a non-uniform range is refused (CL_INVALID_WORK_GROUP_SIZE)",
}


def sizes(text) -> tuple[int, ...] | None:
    """'23x196' -> (23, 196); 'driver', '?' parts or anything else unreadable -> None."""
    if not isinstance(text, str) or not text or text == "driver":
        return None
    try:
        return tuple(int(v) for v in text.split("x"))
    except ValueError:
        return None


def size_text(vals) -> str:
    return "x".join(str(int(v)) for v in vals)


@dataclass(frozen=True)
class LaunchJobs:
    """What one launch of explicit local size becomes under a policy (see module docstring)."""
    kernel: str
    global_size: tuple
    local_size: tuple
    uniform: bool                   # every dimension's global is a multiple of its local
    regions: tuple                  # per dimension: (bulk, remainder) work-items
    jobs: int | None                # uniform regions launched; None under refuse (the launch fails)
    work_groups: int                # over all jobs: product of ceil(g / l)
    remainder_items: int            # work-items outside the bulk region
    remainder_share: float          # remainder_items / all work-items
    rounds: int | None = None       # over `cores`, summed over the jobs; None without cores or jobs

    @property
    def extra_jobs(self) -> int:
        return 0 if self.jobs is None else self.jobs - 1

    def remainder_text(self) -> str:
        """'3x196 work-items (13.0% of the range)': the remainder as the report words it."""
        rem = self.remainder_items
        dims = [(r if r else b) for b, r in self.regions]
        shown = size_text(dims) if sum(1 for _, r in self.regions if r) == 1 and len(self.regions) > 1 else str(rem)
        return f"{shown} work-item{'s' if rem != 1 else ''} ({self.remainder_share:.1%} of the range)"


def _region_work_groups(extent: int, local: int) -> int:
    return -(-extent // local) if extent else 0


def launch_jobs(kernel: str, global_text, local_text, policy: str | None, cores: int | None = None
                ) -> LaunchJobs | None:
    """The job facts of one launch; None when its local size is driver-chosen or a size is unreadable, or the
    dimensions disagree."""
    g, loc = sizes(global_text), sizes(local_text)
    if g is None or loc is None or len(g) != len(loc) or any(v <= 0 for v in g + loc):
        return None
    regions = tuple((gd - gd % ld, gd % ld) for gd, ld in zip(g, loc))
    uniform = all(r == 0 for _, r in regions)
    total = math.prod(g)
    bulk = math.prod(b for b, _ in regions)
    wg = math.prod(_region_work_groups(gd, ld) for gd, ld in zip(g, loc))
    if policy == "refuse" and not uniform:
        jobs = None
    elif policy == "split":
        jobs = math.prod((b > 0) + (r > 0) for b, r in regions)
    else:                                   # masked, or no policy: the API's one launch
        jobs = 1
    rounds = None
    if cores and jobs is not None:
        if policy == "split":
            rounds = 0
            for groups in _region_work_groups_per_job(regions, loc):
                rounds += -(-groups // int(cores))
        else:
            rounds = -(-wg // int(cores))
    return LaunchJobs(kernel, g, loc, uniform, regions, jobs, wg, total - bulk,
                      (total - bulk) / total if total else 0.0, rounds)


def _region_work_groups_per_job(regions, local):
    """Work-groups of each non-empty uniform region (the jobs of a split)."""
    per_dim = [[n for n in ((b // ld) if b else 0, 1 if r else 0) if n] for (b, r), ld in zip(regions, local)]
    out = [1]
    for opts in per_dim:
        out = [a * o for a in out for o in opts]
    return out


def launches_of(signature) -> tuple:
    """The entries a job table lists: a RepeatedSignature (a long region's repeated period, signatures.py) by
    its period, which has every launch shape of it; any other signature whole."""
    period = getattr(signature, "period", None)
    return tuple(period) if period is not None else tuple(signature or ())


def signature_jobs(signature, policy: str | None, cores: int | None = None) -> list[LaunchJobs | None]:
    """launch_jobs for every entry of a dispatch signature (of a RepeatedSignature's period), in order."""
    return [launch_jobs(k, g, loc, policy, cores) for k, g, loc, *_ in launches_of(signature)]


def total_jobs(signature, policy: str | None) -> int | None:
    """Jobs of a whole signature: a driver-chosen launch counts as one; None when a launch would be refused."""
    n = 0
    for j in signature_jobs(signature, policy):
        if j is None:
            n += 1
        elif j.jobs is None:
            return None
        else:
            n += j.jobs
    return n * int(getattr(signature, "times", 1))


def _by_family(signature) -> dict:
    out: dict = {}
    for e in launches_of(signature):
        out.setdefault(kernel_family(e[0]), []).append(e)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def job_changes(before, after, policy: str | None, cores: int | None = None) -> list:
    """attribution.Change rows (kinds ``extra-job`` / ``job-removed``) for every launch of a kernel family on
    both sides whose job count differs under ``policy`` (launches aligned in order, as pair_changes aligns
    them; a RepeatedSignature by its period). Nothing under ``masked``, ``refuse`` or no policy: there a launch is
    one job (or none)."""
    if policy != "split":
        return []
    kb, ka = _by_family(before), _by_family(after)
    out, seen = [], set()
    for fam in sorted(set(kb) & set(ka)):
        for eb, ea in zip(kb[fam], ka[fam]):
            jb, ja = launch_jobs(eb[0], eb[1], eb[2], policy, cores), launch_jobs(ea[0], ea[1], ea[2], policy, cores)
            if jb is None or ja is None or jb.jobs is None or ja.jobs is None or jb.jobs == ja.jobs:
                continue                    # (jobs is None only under refuse, not under split)
            key = (fam, jb.jobs, ja.jobs, eb[1], ea[1], eb[2], ea[2])
            if key in seen:
                continue
            seen.add(key)
            sizes_: dict = dict(work_groups_before=jb.work_groups, work_groups_after=ja.work_groups,
                          rounds_before=jb.rounds, rounds_after=ja.rounds)
            k = ea[0]
            if ja.jobs > jb.jobs:
                more = ja.jobs - jb.jobs
                second = "a second job" if ja.jobs == 2 else _plural(more, "more job")
                text = (f"extra job: {k} global {size_text(ja.global_size)} with local {size_text(ja.local_size)} "
                        f"leaves {ja.remainder_text()} to {second} "
                        f"(non-uniform work-groups: {_plural(jb.jobs, 'job')} -> {ja.jobs})")
                out.append(Change("extra-job", text, k, fam, str(jb.jobs), str(ja.jobs), **sizes_))
            else:
                was = (f"global {size_text(jb.global_size)} left {jb.remainder_text()} to "
                       f"{'a second job' if jb.jobs == 2 else _plural(jb.extra_jobs, 'more job')}")
                now = ("is uniform: one job" if ja.uniform
                       else f"still leaves {ja.remainder_text()}: {_plural(ja.jobs, 'job')}")
                text = (f"job removed: {k} global {size_text(ja.global_size)} with local {size_text(ja.local_size)} "
                        f"{now} (was {_plural(jb.jobs, 'job')}: {was})")
                out.append(Change("job-removed", text, k, fam, str(jb.jobs), str(ja.jobs), **sizes_))
    return out
