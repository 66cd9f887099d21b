"""Whether the machine was busy while the runs ran, judged from their `provenance` notes (docs/noise.md).

A sweep measures each run's surroundings (sweep/stabilise.py: RunMeter) and stores them as the run's
`provenance` note; this reads those notes back for the report's warning line. The judgement is analysis of
stored data, so it sits below the report, which must not import the sweep that wrote the notes.
"""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

# The machine counts as loaded when other processes keep more than this share of its CPUs busy.
LOADED_SHARE = 0.5
# Runs shorter than this are not judged one by one: /proc/stat counts in clock ticks (10 ms).
MIN_JUDGED_S = 0.25


@dataclass
class LoadVerdict:
    """Whether the machine was loaded while the runs ran, from their provenance notes."""
    runs: int                       # runs with provenance
    cpus: int
    measure: str                    # others (CPU time of other processes) | loadavg (before the first run)
    average: Optional[float] = None     # others: CPUs busy on average over the runs; loadavg: the 1-min load
    loaded_runs: int = 0            # others: runs (long enough to judge) above the threshold
    judged_runs: int = 0
    loaded: bool = False
    extra: Dict[str, float] = field(default_factory=dict)

    def warning(self) -> Optional[str]:
        if not self.loaded:
            return None
        if self.measure == "others":
            what = f"other processes kept {self.average:.1f} of {self.cpus} CPUs busy on average"
            if self.loaded_runs:
                what += f", more than {LOADED_SHARE * self.cpus:g} in {self.loaded_runs} of {self.judged_runs} runs"
        else:
            what = f"load average {self.average:.1f} on {self.cpus} CPUs before the first run"
        # one line, short enough not to wrap in a 200-column report
        return f"warning: the machine was busy ({what}): latencies may be noisier; stop other " \
               f"work and sweep again"


def judge_load(notes: List[Tuple[int, str]]) -> Optional[LoadVerdict]:
    """notes: (run_id, provenance JSON) in run order. None when no run has provenance."""
    items = []
    for run_id, text in notes:
        try:
            p = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(p, dict):
            items.append((run_id, p))
    if not items:
        return None
    cpus = max(int(p.get("cpus") or 1) for _, p in items)
    limit = LOADED_SHARE * cpus
    measured = [p for _, p in items if isinstance(p.get("others_busy_cpus"), (int, float))
                and isinstance(p.get("span_s"), (int, float))]
    if measured:
        busy = sum(p["others_busy_cpus"] * p["span_s"] for p in measured)
        span = sum(p["span_s"] for p in measured)
        average = busy / span if span > 0 else max(p["others_busy_cpus"] for p in measured)
        judged = [p for p in measured if p["span_s"] >= MIN_JUDGED_S]
        loaded_runs = sum(p["others_busy_cpus"] > limit for p in judged)
        loaded = average > limit or (judged and loaded_runs >= max(1, len(judged) // 10))
        return LoadVerdict(len(items), cpus, "others", average, loaded_runs, len(judged), bool(loaded))
    first = items[0][1].get("before") or {}
    load = first.get("load") if isinstance(first, dict) else None
    if not (isinstance(load, list) and load and isinstance(load[0], (int, float))):
        return LoadVerdict(len(items), cpus, "none")
    return LoadVerdict(len(items), cpus, "loadavg", float(load[0]), loaded=load[0] > limit)
