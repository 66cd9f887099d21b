"""Render a Document as text (rich), markdown, csv or json. Reporters only format; they never analyse."""
import io
import json
import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from .document import Document

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
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, pd.DataFrame):
        return [_jsonable(r) for r in v.to_dict("records")]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def to_json(doc: Document) -> str:
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
    return json.dumps(out, indent=2)


def to_csv(doc: Document) -> str:
    """Each table (fields as key,value tables) as a CSV block headed by '# <section key>'."""
    buf = io.StringIO()
    for s in doc.sections:
        if s.kind == "fields":
            frame = pd.DataFrame({"key": list(s.fields), "value": [_cell(v) for v in s.fields.values()]})
        elif s.kind == "table":
            frame = s.table if s.table is not None else pd.DataFrame()
        else:
            frame = pd.DataFrame({"line": s.lines})
        buf.write(f"# {s.key or s.title}\n")
        frame.to_csv(buf, index=False, lineterminator="\n")
        buf.write("\n")
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        if s.kind == "fields":
            out += [f"- **{k}**: {_md_escape(_cell(v))}" for k, v in s.fields.items()]
        elif s.kind == "table":
            t = s.table if s.table is not None else pd.DataFrame()
            if t.empty:
                out.append("(none)")
            else:
                out.append("| " + " | ".join(map(str, t.columns)) + " |")
                out.append("|" + "---|" * len(t.columns))
                for row in t.itertuples(index=False):
                    out.append("| " + " | ".join(_md_escape(_cell(v)) for v in row) + " |")
        else:
            out += [f"- {_md_escape(line)}" for line in s.lines] or ["(none)"]
        out.append("")
    return "\n".join(out)


def to_text(doc: Document, file=None) -> None:
    """rich tables on a terminal; the same layout without colour or box lines when piped."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    file = file or sys.stdout
    terminal = file.isatty() if hasattr(file, "isatty") else False
    console = Console(file=file, width=None if terminal else 200, no_color=not terminal,
                      highlight=False, emoji=False)
    console.print(f"[bold]{doc.title}[/]" if terminal else doc.title)
    for s in doc.sections:
        console.print()
        console.print(f"[bold cyan]{s.title}[/]" if terminal else f"== {s.title} ==")
        if s.kind == "fields":
            for k, v in s.fields.items():
                console.print(f"  {k:<18} {_cell(v)}", markup=False)
        elif s.kind == "table":
            t = s.table if s.table is not None else pd.DataFrame()
            if t.empty:
                console.print("  (none)")
                continue
            table = Table(box=box.SIMPLE_HEAD if terminal else box.ASCII2, show_edge=terminal, pad_edge=False)
            for col in t.columns:
                numeric = pd.api.types.is_numeric_dtype(t[col])
                table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
            for row in t.itertuples(index=False):
                table.add_row(*[_cell(v) for v in row])
            console.print(table)
        else:
            for line in s.lines or ["(none)"]:
                console.print(f"  {line}", markup=False)


def render(doc: Document, fmt: str, file=None) -> None:
    file = file or sys.stdout
    if fmt == "text":
        to_text(doc, file)
        return
    text = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[fmt](doc)
    file.write(text if text.endswith("\n") else text + "\n")
