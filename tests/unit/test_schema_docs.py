"""docs/schema.md documents every table and column of cltrace/store/schema.sql, and nothing that is not there.

Each table has a level-2 heading naming it (## `launches`); the first markdown table under it whose header
starts with "column" has one row per column, the column name in backquotes in the first cell.
"""
import os
import re
import sqlite3

import pytest

from cltrace.store import db as store_db
from cltrace.store.ingest import NOTE_KIND, STATUS_NAMES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_SQL = os.path.join(ROOT, "cltrace", "store", "schema.sql")
SCHEMA_MD = os.path.join(ROOT, "docs", "schema.md")

_CONSTRAINTS = ("PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "CONSTRAINT")


def _split_top_level(body):
    parts, depth, cur = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_schema(text):
    """{table: [column, ...]} from the CREATE TABLE statements, in declaration order."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"--[^\n]*", "", text)
    tables = {}
    for m in re.finditer(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*?)\)\s*;", text, re.S | re.I):
        cols = []
        for item in _split_top_level(m.group(2)):
            first = item.split()[0]
            if first.upper() not in _CONSTRAINTS:
                cols.append(first.strip('"`[]'))
        tables[m.group(1)] = cols
    return tables


def doc_sections(text):
    """{heading text: body} for every level-2 heading."""
    sections, current, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("## "):
            if current is not None:
                sections[current] = "\n".join(lines)
            current, lines = line[3:].strip(), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines)
    return sections


def column_rows(section):
    """Column names documented in the first 'column' table of a section (first cell, in backquotes)."""
    rows, in_table = [], False
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else None
        if cells is None:
            if in_table:
                break
            continue
        if not in_table:
            if cells[0].lower() == "column":
                in_table = True
            continue
        if set(cells[0]) <= set("-: "):
            continue
        m = re.fullmatch(r"`(\w+)`", cells[0])
        assert m, f"first cell of a column row is not a `name`: {line!r}"
        rows.append(m.group(1))
    return rows


@pytest.fixture(scope="module")
def schema():
    with open(SCHEMA_SQL) as f:
        return parse_schema(f.read())


@pytest.fixture(scope="module")
def doc():
    with open(SCHEMA_MD) as f:
        return f.read()


def _section_for(doc, table):
    sections = doc_sections(doc)
    named = [h for h in sections if re.search(r"`%s`" % re.escape(table), h)]
    assert named, f"docs/schema.md has no '## `{table}`' heading"
    assert len(named) == 1, f"several headings name `{table}`: {named}"
    return sections[named[0]]


def test_parser_sees_the_whole_schema(schema):
    assert set(schema) == {"meta", "runs", "run_tags", "processes", "devices", "queues", "programs", "kernels",
                           "regions", "launches", "notes"}
    assert schema["run_tags"] == ["run_id", "key", "value"]
    # several columns on one line, and a REFERENCES clause with parentheses
    assert {"offset0", "offset1", "offset2", "local2", "queued_ns", "end_ns"} <= set(schema["launches"])
    assert schema["processes"][:3] == ["process_id", "run_id", "pid"]


def test_parser_agrees_with_sqlite(schema, tmp_path):
    conn = store_db.create_db(tmp_path / "t.db")
    try:
        for table, cols in schema.items():
            assert [r[1] for r in conn.execute(f"PRAGMA table_info({table})")] == cols, table
    finally:
        conn.close()


def test_every_table_and_column_is_documented_in_its_section(schema, doc):
    problems = []
    for table, cols in schema.items():
        documented = column_rows(_section_for(doc, table))
        missing = [c for c in cols if c not in documented]
        extra = [c for c in documented if c not in cols]
        dupes = sorted({c for c in documented if documented.count(c) > 1})
        if missing:
            problems.append(f"{table}: undocumented column(s) {', '.join(missing)}")
        if extra:
            problems.append(f"{table}: documented column(s) not in schema.sql: {', '.join(extra)}")
        if dupes:
            problems.append(f"{table}: column(s) documented twice: {', '.join(dupes)}")
    assert not problems, "docs/schema.md is out of step with schema.sql:\n" + "\n".join(problems)


def test_schema_version_is_the_documented_one(doc):
    assert f"schema version **{store_db.SCHEMA_VERSION}**" in doc


def test_times_status_values_and_note_kinds_are_documented(doc):
    status = _section_for(doc, "launches")
    for value in STATUS_NAMES:
        assert f"| `{value}` |" in status, f"times_status value '{value}' is not documented"
    notes = _section_for(doc, "notes")
    kinds = set(NOTE_KIND.values()) | {"truncated", "no-capture", "unreadable-capture", "region", "stderr-tail"}
    for kind in kinds:
        assert f"| `{kind}` |" in notes, f"note kind '{kind}' is not documented"


def test_sql_examples_run_on_an_empty_trace(doc, tmp_path):
    conn = store_db.create_db(tmp_path / "t.db")
    try:
        blocks = re.findall(r"```sql\n(.*?)```", doc, re.S)
        assert blocks
        for block in blocks:
            for stmt in (s for s in block.split(";") if s.strip()):
                try:
                    conn.execute(stmt).fetchall()
                except sqlite3.Error as e:
                    pytest.fail(f"example query fails ({e}):\n{stmt}")
    finally:
        conn.close()
