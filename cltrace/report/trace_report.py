"""Assemble the `cltrace report` document from a Trace (composition only; numbers come from analysis)."""
from typing import Optional

import pandas as pd

from ..analysis.kernel_stats import kernel_table, run_summaries
from .document import Document, Section

MAX_RUN_HEADERS = 20


def _runs_section_table(summaries) -> pd.DataFrame:
    rows = [{"run": s["run_id"], "status": s["status"], "exit": s["exit_status"],
             "tags": ", ".join(f"{k}={v}" for k, v in s["tags"].items()), "launches": s["launches"],
             "wall_s": s["wall_s"], "device_ms": s["device_time_ms"]} for s in summaries]
    return pd.DataFrame(rows)


def build_report(trace, run: Optional[int] = None, staircase: bool = True) -> Document:
    runs = trace.runs
    if run is not None:
        runs = runs[runs["run_id"] == run]
    launches = trace.launches
    if run is not None and not launches.empty:
        launches = launches[launches["run_id"] == run]
    summaries = run_summaries(runs, launches, trace.processes, trace.devices, trace.run_tags)
    doc = Document(title=f"cltrace report: {trace.path}")
    if len(summaries) > MAX_RUN_HEADERS:
        doc.add(Section(f"Runs ({len(summaries)})", "table", table=_runs_section_table(summaries), key="runs",
                        data=summaries))
    else:
        for s in summaries:
            fields = {k: v for k, v in s.items() if k != "run_id" and v not in (None, {}, [])}
            doc.add(Section(f"Run {s['run_id']}", "fields", fields=fields, key=f"run{s['run_id']}"))
    kt = kernel_table(launches)
    if len(summaries) <= 1 and not kt.empty:
        kt = kt.drop(columns=["run_id"])
    doc.add(Section("Kernels", "table", table=kt, key="kernels"))
    if staircase:
        from .staircase_section import staircase_sections
        for section in staircase_sections(trace, runs, launches):
            doc.add(section)
    return doc
