"""Render a Document as text (rich), markdown, csv or json. Reporters only format; they never analyse."""
import io
import json
import sys

import pandas as pd

from .cells import cell, jsonable
from .document import Document
from .safe_text import escape_controls, escape_frame
from .text_render import TextRenderer


def to_json(doc: Document) -> str:
    """The document's own JSON object when it has one (the report: docs/report-json.md), else its sections
    keyed by their stable names."""
    if doc.json is not None:
        obj = doc.json() if callable(doc.json) else doc.json
        return json.dumps(jsonable(obj), indent=2, allow_nan=False)
    out = {"title": doc.title, "sections": []}
    for s in doc.sections:
        item = {"key": s.key or s.title, "title": s.title, "kind": s.kind}
        if s.kind == "fields":
            item["fields"] = jsonable(s.fields)
        elif s.kind == "table":
            item["rows"] = jsonable(s.table if s.table is not None else pd.DataFrame())
        else:
            item["lines"] = list(s.lines)
        if s.data is not None:
            item["data"] = jsonable(s.data)
        out["sections"].append(item)
    return json.dumps(out, indent=2, allow_nan=False)


def to_csv(doc: Document) -> str:
    """Each table (fields as key,value tables) as a CSV block headed by '# <section key>'; names whole,
    control characters written out (safe_text)."""
    buf = io.StringIO()
    for s in doc.sections:
        if s.kind == "fields":
            frame = pd.DataFrame({"key": list(s.fields), "value": [cell(v) for v in s.fields.values()]})
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
            out += [f"- **{_md(k)}**: {_md(cell(v))}" for k, v in s.fields.items()]
        elif s.kind == "table":
            t = s.table if s.table is not None else pd.DataFrame()
            if t.empty:
                out.append("(none)")
            else:
                out.append("| " + " | ".join(_md(c) for c in t.columns) + " |")
                out.append("|" + "---|" * len(t.columns))
                for row in t.itertuples(index=False):
                    out.append("| " + " | ".join(_md(cell(v)) for v in row) + " |")
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
    file = file or sys.stdout
    TextRenderer(file, width).document(doc)


def render(doc: Document, fmt: str, file=None) -> None:
    file = file or sys.stdout
    if fmt == "text":
        to_text(doc, file)
        return
    text = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[fmt](doc)
    file.write(text if text.endswith("\n") else text + "\n")
