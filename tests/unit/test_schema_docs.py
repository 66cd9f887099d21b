"""docs/schema.md documents every table, view and column of cltrace/store/schema.sql, and nothing that is not there.

Each table or view has a level-2 heading naming it (## `launch_rows`, ## `launches` (view)); the first markdown
table under it whose header starts with "column" has one row per column, the column name in backquotes in the
first cell. A view's columns are the output names of its SELECT list.
"""
import os
import re
import sqlite3

import pytest

from cltrace.store import db as store_db
from cltrace.store.abi import STATUS_NAMES
from cltrace.store.ingest import NOTE_KIND

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


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"--[^\n]*", "", text)


def parse_schema(text):
    """{table or view: [column, ...]} from the CREATE TABLE and CREATE VIEW statements, in declaration order."""
    return {**parse_tables(text), **parse_views(text)}


def parse_views(text):
    """{view: [output column, ...]} from CREATE VIEW ... AS SELECT ... FROM: each select item's alias (AS name),
    else its bare column name (`l.seq` -> seq)."""
    text = _strip_comments(text)
    views = {}
    for m in re.finditer(r"CREATE\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+AS\s+SELECT\s+(.*?)\s+FROM\s+[^;]*;",
                         text, re.S | re.I):
        cols = []
        for item in _split_top_level(m.group(2)):
            alias = re.search(r"\bAS\s+[\"`\[]?(\w+)[\"`\]]?\s*$", item, re.I)
            bare = re.fullmatch(r"(?:\w+\.)?[\"`\[]?(\w+)[\"`\]]?", item.strip())
            assert alias or bare, f"view {m.group(1)}: cannot name the column of select item {item!r}"
            cols.append(alias.group(1) if alias else bare.group(1))
        views[m.group(1)] = cols
    return views


def parse_tables(text):
    """{table: [column, ...]} from the CREATE TABLE statements, in declaration order."""
    text = _strip_comments(text)
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
        return parse_schema(f.read())  # tables and the launches view


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


@pytest.fixture(scope="module")
def schema_text():
    with open(SCHEMA_SQL) as f:
        return f.read()


def test_parser_sees_the_whole_schema(schema, schema_text):
    assert set(parse_tables(schema_text)) == {"meta", "runs", "sweeps", "run_tags", "processes", "devices", "queues",
                                              "programs", "kernels", "regions", "dispatches", "launch_rows", "notes"}
    assert set(parse_views(schema_text)) == {"launches"}
    assert set(schema) == set(parse_tables(schema_text)) | {"launches"}
    assert schema["run_tags"] == ["run_id", "key", "value"]
    # several columns on one line, and a REFERENCES clause with parentheses
    assert {"offset0", "offset1", "offset2", "local2"} <= set(schema["dispatches"])
    assert schema["processes"][:3] == ["process_id", "run_id", "pid"]
    # view columns: bare (l.seq), aliased expressions, and a CASE ... END AS
    L = schema["launches"]
    assert L[:4] == ["launch_id", "run_id", "process_id", "seq"]
    assert {"offset0", "local2", "host_enqueue_ns", "host_return_ns", "queued_ns", "end_ns", "duration_ns"} <= set(L)
    assert L[-2:] == ["times_status", "region_id"]


def test_view_parser_handles_aliases_and_expressions():
    text = """CREATE VIEW IF NOT EXISTS v AS
              SELECT a.x, b.y AS "why", a.p + coalesce(a.q, 0) AS pq, -- a comment, with a comma
                     CASE a.s WHEN 0 THEN 'ok' ELSE 'no' END AS s, z
              FROM t a JOIN u b ON b.k = a.k;"""
    assert parse_views(text) == {"v": ["x", "why", "pq", "s", "z"]}
    assert parse_tables(text) == {}


def test_parser_agrees_with_sqlite(schema, tmp_path):
    conn = store_db.create_db(tmp_path / "t.db")
    try:
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"))
        assert set(kinds) == set(schema)
        assert [n for n, k in kinds.items() if k == "view"] == ["launches"]
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
    kinds = set(NOTE_KIND.values()) | {"truncated", "no-capture", "unreadable-capture", "region", "stderr-tail",
                                          "stabiliser", "provenance", "adaptive-round"}
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
