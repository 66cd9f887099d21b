"""Assemble the `cltrace report` document from a Trace (composition only; numbers come from analysis)."""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import pandas as pd

from ..analysis.kernel_stats import run_summaries_from_totals
from . import captions
from .document import Document, Section
from .emulation_notice import emulation_section
from .launch_stream import read_launches
from .layer_notice import layer_section

MAX_RUN_HEADERS = 20      # up to this many runs: one line each; more: one block of totals


def _runs_overview(summaries) -> dict:
    """Many runs (a sweep): one block of totals instead of a header per run."""
    statuses = pd.Series([s["status"] for s in summaries]).value_counts()
    tags = sorted({k for s in summaries for k in s["tags"]})
    commands = {s["command"] for s in summaries}
    fields = {"runs": len(summaries), "status": ", ".join(f"{n} {st}" for st, n in statuses.items()),
              "parameters": ", ".join(f"{k} ({len({s['tags'].get(k) for s in summaries})} values)" for k in tags),
              "command": next(iter(commands)) if len(commands) == 1 else f"{len(commands)} different commands",
              "devices": ", ".join(sorted({d for s in summaries for d in s["devices"]})),
              "launches": sum(s["launches"] for s in summaries),
              "untimed_launches": sum(s["untimed_launches"] for s in summaries),
              "device_time_ms": round(sum(s["device_time_ms"] for s in summaries), 3),
              "wall_s": round(sum(s["wall_s"] or 0 for s in summaries), 3)}
    failed = [s for s in summaries if s["status"] != "ok"]
    if failed:
        fields["failed_runs"] = ", ".join(
            f"{s['run_id']} ({', '.join(f'{k}={v}' for k, v in s['tags'].items())}: exit {s['exit_status']})"
            for s in failed[:10]) + (" ..." if len(failed) > 10 else "")
    return fields


def _command_template(summaries) -> str:
    """The runs' command with the arguments that differ between runs written as `{tag}` (the tag whose value
    they are in every run) or `{...}`: `./app --channels {channels}`. Commands of different lengths: the first
    one and how many others differ."""
    argvs = [list(s.get("argv") or str(s["command"]).split()) for s in summaries]
    if len({len(a) for a in argvs}) != 1:
        return f"{summaries[0]['command']} (and {len(summaries) - 1} other command lines)"
    words = []
    for i, first in enumerate(argvs[0]):
        column = [a[i] for a in argvs]
        if all(w == first for w in column):
            words.append(first)
            continue
        keys = [k for k in summaries[0]["tags"]
                if all(str(s["tags"].get(k)) == w for s, w in zip(summaries, column))]
        words.append("{" + (keys[0] if keys else "...") + "}")
    return " ".join(words)


def _runs_caption(summaries) -> str:
    command = _command_template(summaries).strip()
    return f"command: {command}; {captions.RUNS}" if command else captions.RUNS


def _runs_table(summaries) -> pd.DataFrame:
    """A few runs: one line each (the full block of one with --run N)."""
    rows = [{"run": s["run_id"], "status": s["status"], "exit": s["exit_status"],
             "tags": ", ".join(f"{k}={v}" for k, v in s["tags"].items()), "procs": s["processes"],
             "launches": s["launches"], "untimed": s["untimed_launches"], "device_ms": s["device_time_ms"],
             "wall_s": s["wall_s"]} for s in summaries]
    t = pd.DataFrame(rows, columns=["run", "status", "exit", "tags", "procs", "launches", "untimed", "device_ms",
                                    "wall_s"])
    for c in ("exit", "procs", "launches", "untimed"):
        t[c] = t[c].astype("Int64")
    t["device_ms"] = t["device_ms"].astype("Float64")
    t["wall_s"] = pd.to_numeric(t["wall_s"], errors="coerce").astype("Float64")
    if (t["tags"] == "").all():
        t = t.drop(columns=["tags"])
    return t


def _load_section(trace, run: Optional[int]) -> Optional[Section]:
    """One warning line when the machine was busy while the runs ran (their `provenance` notes, cltrace sweep)."""
    import sqlite3

    from ..analysis.load import judge_load
    from ..store.queries import provenance_notes
    try:
        verdict = judge_load(provenance_notes(trace.db, run))
    except sqlite3.Error:
        return None
    warning = verdict.warning() if verdict is not None else None
    if not warning:
        return None
    return Section("Measurement conditions", "lines", lines=[warning], key="conditions",
                   data={"measure": verdict.measure, "cpus": verdict.cpus, "average_busy": verdict.average,
                         "loaded_runs": verdict.loaded_runs, "judged_runs": verdict.judged_runs})


def _staircase_possible(trace, runs, param) -> bool:
    """False when the analysis cannot find a parameter: no run tags and no regions in these runs (then
    every sample has no parameter column at all), so the per-launch read can be skipped."""
    if param is not None:
        return True
    ids = [int(r) for r in runs["run_id"]]
    if not ids:
        return False
    marks = ",".join("?" * len(ids))
    has = trace.db.execute(f"SELECT EXISTS(SELECT 1 FROM run_tags WHERE run_id IN ({marks})) OR "
                           f"EXISTS(SELECT 1 FROM regions WHERE run_id IN ({marks}))", ids + ids).fetchone()[0]
    return bool(has)


@dataclass
class ReportData:
    """What `cltrace report` found, before any layout: the text sections and the JSON object both come
    from it (json_report.py)."""
    path: str
    run: Optional[int]
    summaries: List[dict]
    kernels: pd.DataFrame                    # one row per (run, kernel, global, local)
    kernels_all: Optional[pd.DataFrame] = None    # per (kernel, global, local) over all runs (a big sweep)
    load: Optional[Section] = None
    emulation: Optional[Section] = None      # the runs ran under qemu (emulation_notice.py)
    layers: Optional[Section] = None         # what layers below cltrace did (layer_notice.py)
    progress: Optional[dict] = None
    sweeps: List[dict] = field(default_factory=list)     # the stored sweeps the report covers (analysis.progress)
    sweeps_text: Optional[str] = None
    result: object = None                    # StaircaseResult, or None
    network: object = None                   # network.pruning_map.PruningMap of a network sweep, or None
    budget_ms: Optional[float] = None
    min_value: Optional[float] = None
    notes: List[Tuple[str, str]] = field(default_factory=list)     # (kind, text) of the report itself


def _adaptive_runs(trace) -> set:
    rows = trace.db.execute("SELECT DISTINCT run_id FROM notes WHERE kind = 'adaptive-round'").fetchall()
    return {int(r) for r, in rows}


def gather(trace, run: Optional[int] = None, staircase: bool = True, param: Optional[str] = None,
           budget_ms: Optional[float] = None, min_value: Optional[float] = None, jobs=None) -> ReportData:
    from ..analysis.progress import stored_sweeps, sweep_progress, sweeps_text
    runs = trace.runs
    if run is not None:
        runs = runs[runs["run_id"] == run]
    # one pass over the launches in chunks (launch_stream.py): group totals, kernel tables and the
    # staircase samples' columns, in memory that follows the kernels, runs and samples, not the launches
    stairs = staircase and _staircase_possible(trace, runs, param)
    many = len(runs) > MAX_RUN_HEADERS
    got = read_launches(trace, run, stairs, many)
    summaries = run_summaries_from_totals(runs, got.keys, got.totals, trace.processes, trace.devices,
                                          trace.run_tags)
    data = ReportData(path=trace.path, run=run, summaries=summaries, kernels=got.kernels, budget_ms=budget_ms,
                      min_value=min_value)
    if len(summaries) > MAX_RUN_HEADERS:
        data.kernels_all = got.kernels_all
    data.load = _load_section(trace, run)
    data.emulation = emulation_section(trace.db, run)
    if data.emulation is not None:
        data.notes += [("emulation", line) for line in data.emulation.lines]
    data.layers = layer_section(trace.db, run)
    if data.layers is not None:
        data.notes += [("layers", line.strip()) for line in data.layers.lines]
    if data.load is not None:
        data.notes += [("conditions", line) for line in data.load.lines]
    if run is None:
        sweeps = trace.sweeps
        data.sweeps = stored_sweeps(sweeps, trace.runs)
        data.sweeps_text = sweeps_text(data.sweeps)
        data.progress = sweep_progress(trace.runs, trace.params, _adaptive_runs(trace), sweeps, trace.path)
        if data.progress is not None:
            data.notes.append(("progress", data.progress["text"]))
    if stairs and got.n_launches:
        from ..analysis.samples import finish_samples
        from .staircase_section import staircase_result
        runs_of = trace.runs if run is None else trace.runs[trace.runs["run_id"] == int(run)]
        samples = finish_samples(got.sample_cols, got.sample_counts, runs_of, trace.params)
        del got
        cu = trace.compute_units(run) if run is not None else trace.compute_units_by_run()
        data.result = staircase_result(samples, param, cu, jobs)
        r = data.result
        if r is not None and r.param == "channels" and list(r.by) == ["layer"]:     # a network sweep
            from ..network.pruning_map import build, plan_order
            data.network = build(samples, order=plan_order(trace.db), result=r)
    if data.result is not None:
        from .staircase_section import hazard_lines
        if not data.result.hazard_candidates.empty:
            data.notes += [("hazards", line) for line in hazard_lines(data.result) if "candidates, not" in line]
        data.notes += [("analysis", n) for n in data.result.notes]
    return data


def _kernel_view(data: ReportData):
    """The kernels table as the text shows it: per run for a few runs, summed over runs for a sweep."""
    n = len(data.summaries)
    if n <= 1:
        return data.kernels.drop(columns=["run_id"]), "Kernels", 3
    if n <= MAX_RUN_HEADERS:
        return data.kernels, "Kernels per run", 4
    return data.kernels_all, "Kernels over all runs", 3


def document(data: ReportData) -> Document:
    from .json_report import report_json
    from .staircase_section import result_sections
    doc = Document(title=f"cltrace report: {data.path}")
    summaries = data.summaries
    if len(summaries) > MAX_RUN_HEADERS:
        doc.add(Section(f"Runs ({len(summaries)}; one with --run N)", "fields", fields=_runs_overview(summaries),
                        key="runs"))
    elif len(summaries) > 1:
        doc.add(Section(f"Runs ({len(summaries)}; one in full with --run N)", "table", table=_runs_table(summaries),
                        key="runs", keys=1,
                        caption=_runs_caption(summaries)))
    else:       # one run (--run N, or a trace of one run): its full block
        for s in summaries:
            fields = {k: v for k, v in s.items() if k not in ("run_id", "argv") and v not in (None, {}, [])}
            doc.add(Section(f"Run {s['run_id']}", "fields", fields=fields, key=f"run{s['run_id']}"))
    if data.sweeps_text is not None:
        doc.add(Section("Sweeps", "lines", lines=[data.sweeps_text], key="sweeps"))
    if data.progress is not None:
        doc.add(Section("Sweep progress", "lines", lines=[data.progress["text"]], key="progress"))
    if data.emulation is not None:
        doc.add(data.emulation)
    if data.layers is not None:
        doc.add(data.layers)
    if data.load is not None:
        doc.add(data.load)
    kt, title, keys = _kernel_view(data)
    doc.add(Section(title, "table", table=kt, key="kernels", keys=keys,
                    caption=captions.kernels("run_id" in kt.columns, len(summaries))))
    if data.result is not None:
        for section in result_sections(data.result, data.budget_ms, data.min_value):
            doc.add(section)
    doc.json = lambda: report_json(data)          # built only when the JSON is asked for
    return doc


def build_report(trace, run: Optional[int] = None, staircase: bool = True, param: Optional[str] = None,
                 budget_ms: Optional[float] = None, min_value: Optional[float] = None, jobs=None) -> Document:
    """``jobs``: a dispatch_jobs.JobContext (cli/job_options.job_context), or None for no job facts."""
    return document(gather(trace, run, staircase, param, budget_ms, min_value, jobs))
