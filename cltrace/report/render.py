"""Render a Document as text (rich), markdown, csv or json. Reporters only format; they never analyse."""
import io
import json
import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from .document import Document
from .safe_text import escape_controls, escape_frame

from .formats import FORMATS  # noqa: F401  (re-exported)


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "-"
    if isinstance(v, (float, np.floating)):
        if v == 0:
            return "0"
        a = abs(float(v))
        if a >= 100:
            return f"{v:.1f}"
        if a >= 1:
            return f"{v:.3f}"
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    if isinstance(v, pd.DataFrame):
        return [_jsonable(r) for r in v.to_dict("records")]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def to_json(doc: Document) -> str:
    """The document's own JSON object when it has one (the report: docs/report-json.md), else its sections
    keyed by their stable names."""
    if doc.json is not None:
        obj = doc.json() if callable(doc.json) else doc.json
        return json.dumps(_jsonable(obj), indent=2, allow_nan=False)
    out = {"title": doc.title, "sections": []}
    for s in doc.sections:
        item = {"key": s.key or s.title, "title": s.title, "kind": s.kind}
        if s.kind == "fields":
            item["fields"] = _jsonable(s.fields)
        elif s.kind == "table":
            item["rows"] = _jsonable(s.table if s.table is not None else pd.DataFrame())
        else:
            item["lines"] = list(s.lines)
        if s.data is not None:
            item["data"] = _jsonable(s.data)
        out["sections"].append(item)
    return json.dumps(out, indent=2, allow_nan=False)


def to_csv(doc: Document) -> str:
    """Each table (fields as key,value tables) as a CSV block headed by '# <section key>'; names whole,
    control characters written out (safe_text)."""
    buf = io.StringIO()
    for s in doc.sections:
        if s.kind == "fields":
            frame = pd.DataFrame({"key": list(s.fields), "value": [_cell(v) for v in s.fields.values()]})
        elif s.kind == "table":
            frame = s.table if s.table is not None else pd.DataFrame()
        else:
            frame = pd.DataFrame({"line": s.lines})
        buf.write(f"# {escape_controls(s.key or s.title)}\n")
        escape_frame(frame).to_csv(buf, index=False, lineterminator="\n")
        buf.write("\n")
    return buf.getvalue()


def _md(text) -> str:
    return escape_controls(text).replace("|", "\\|")


def to_markdown(doc: Document) -> str:
    out = [f"# {_md(doc.title)}", ""]
    for s in doc.sections:
        out += [f"## {_md(s.title)}", ""]
        if s.kind == "fields":
            out += [f"- **{_md(k)}**: {_md(_cell(v))}" for k, v in s.fields.items()]
        elif s.kind == "table":
            t = s.table if s.table is not None else pd.DataFrame()
            if t.empty:
                out.append("(none)")
            else:
                out.append("| " + " | ".join(_md(c) for c in t.columns) + " |")
                out.append("|" + "---|" * len(t.columns))
                for row in t.itertuples(index=False):
                    out.append("| " + " | ".join(_md(_cell(v)) for v in row) + " |")
            if s.caption:
                out += ["", f"*{_md(s.caption)}*"]
        else:
            out += [f"- {_md(line)}" for line in s.lines] or ["(none)"]
            if s.caption:
                out += ["", f"*{_md(s.caption)}*"]
        out.append("")
    return "\n".join(out)


def to_text(doc: Document, file=None, width=None) -> None:
    """rich on a terminal; the same layout without colour or box lines when piped. Laid out for `width`
    columns ($COLUMNS, else the terminal's, else 200): tables never break a number or a word (text_table),
    long kernel names are cut in the middle, control characters are written out and nothing is read as
    rich markup."""
    from .text_render import TextRenderer
    file = file or sys.stdout
    TextRenderer(file, width).document(doc)


def render(doc: Document, fmt: str, file=None) -> None:
    file = file or sys.stdout
    if fmt == "text":
        to_text(doc, file)
        return
    text = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[fmt](doc)
    file.write(text if text.endswith("\n") else text + "\n")
