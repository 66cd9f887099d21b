"""`cltrace report --format json`: one versioned object (docs/report-json.md; JSON Schema in
cltrace/report/report.schema.json, checked by the tests).

Stable keys, numbers as numbers, every table as a list of records named as `staircase_json.staircase_dict()` names
them; nothing keyed by a display title. Version 2. A change that removes or retypes a field raises
`schema_version`; new fields may appear in any version (readers ignore what they do not know).
"""
import json
import os
from typing import List, Optional

import pandas as pd

from .._version import __version__
from .cells import jsonable

SCHEMA_NAME = "cltrace-report"
SCHEMA_VERSION = 2          # 2: a configuration's iteration spread is named iter_* (p10_ns -> iter_p10_ns ...)
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.schema.json")

RUN_FIELDS = ["run_id", "command", "argv", "status", "exit_status", "mode", "started_at", "wall_s", "devices",
              "tags", "processes", "launches", "untimed_launches", "kernels", "device_time_ms", "device_span_ms",
              "why_no_launches"]
KERNEL_FIELDS = ["run_id", "kernel", "global", "local", "calls", "timed", "total_ms", "mean_ms", "median_ms",
                 "min_ms", "max_ms", "share"]


def load_schema() -> dict:
    """The JSON Schema the report's JSON follows (shipped with the package)."""
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        return json.load(f)


def _kernels(table: pd.DataFrame) -> List[dict]:
    if table is None or table.empty:
        return []
    return [jsonable({k: r.get(k) for k in KERNEL_FIELDS}) for r in table.to_dict("records")]


def _conditions(section) -> Optional[dict]:
    if section is None:
        return None
    out = dict(section.data or {})
    out["warning"] = section.lines[0] if section.lines else None
    return out


def _staircase(data) -> Optional[dict]:
    result = data.result
    if result is None:
        return None
    from ..analysis.records import records
    from .staircase_json import staircase_dict
    out = staircase_dict(result)
    out["best"] = None
    if data.budget_ms is not None or data.min_value is not None:
        best = result.best(budget_ns=None if data.budget_ms is None else data.budget_ms * 1e6,
                           min_value=data.min_value)
        out["best"] = {"budget_ms": data.budget_ms, "min_value": data.min_value, "configs": records(best)}
    return out


def _network(data) -> Optional[dict]:
    """The pruning map of a network sweep (docs/network.md), without its notes (they are the staircase's)."""
    m = getattr(data, "network", None)
    if m is None:
        return None
    out = m.to_dict()
    out.pop("notes", None)
    return out


def _sweeps(data):
    """The stored sweeps the report covers, or None (no stored sweep, or --run N)."""
    if not getattr(data, "sweeps_text", None):
        return None
    from ..analysis.progress import public
    return {"text": data.sweeps_text, "sweeps": public(data.sweeps)}


def report_json(data) -> dict:
    """The report as its versioned JSON object (data: trace_report.ReportData)."""
    return jsonable({
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "cltrace_version": __version__,
        "trace": data.path,
        "run": data.run,
        "runs": [{k: s.get(k) for k in RUN_FIELDS} for s in data.summaries],
        "kernels": _kernels(data.kernels),
        "conditions": _conditions(data.load),
        "emulation": data.emulation.data if data.emulation is not None else None,
        "sweeps": _sweeps(data),
        "progress": data.progress,
        "staircase": _staircase(data),
        "network": _network(data),
        "notes": [{"kind": kind, "text": text} for kind, text in data.notes],
    })
