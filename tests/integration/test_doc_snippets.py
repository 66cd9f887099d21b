"""Every code snippet in docs/*.md that is meant to be run runs, on traces this test makes (issue 26: the export
snippets mixed gemm and direct rows and queried a column only farm traces have).

A snippet is a fenced block tagged `python`, `sql` or `sh` (untagged fences are program output, not code). An HTML
comment on the line before a block can say how to run it:

    <!-- snippet: skip: REASON -->      not run, and why (a placeholder program, a board, a sweep of minutes ...)
    <!-- snippet: args ARGS -->         a python block run as a script with these arguments
    <!-- snippet: sqlite FILE -->       an sql block run by SQLite on FILE (default trace.db)

An sql block whose first line is `-- duckdb` runs in DuckDB. Every other tagged block runs: each document's blocks in
order, in a directory of its own holding the traces the docs name (below), where `cltrace` and `python` are this
checkout's and `examples` links to the repository's examples. Sizes are those of a test (a quarter-scale layer, 7
channel counts, 2 processes each), the commands are the docs' own.
"""
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")
# documents this test leaves to others, and why
NOT_HERE = {"cli.md": "generated from the parser; tests/unit/test_docs_current.py keeps it current"}
MARK = re.compile(r"<!--\s*snippet:\s*(skip|args|sqlite)\b:?\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")

# the traces the docs name, made once: (paths, cltrace sweep arguments)
STAIRS = ["trace.db", "l16.db", "sweep.db", "T.db", "out/tut/stairs2.db", "out/tut/gemm3.db"]
STAIRS_SWEEP = ["-p", "channels=91:97", "-p", "method=gemm,direct", "--repeat", "2", "--", "{bench}", "--layer",
                "resnet50.L15", "--scale", "0.25", "--out-channels", "{channels}", "--method", "{method}",
                "--iters", "3", "--warmup", "1"]
LWS = ["out/tut/lws2.db"]
LWS_SWEEP = ["-p", "channels=91:92", "-p", "local=null,auto", "--repeat", "2", "--", "{bench}", "--layer",
             "resnet50.L3", "--scale", "0.25", "--out-channels", "{channels}", "--method", "direct", "--local",
             "{local}", "--iters", "3", "--warmup", "1"]


class Snippet:
    def __init__(self, doc, line, lang, text, mark, mark_arg):
        self.doc, self.line, self.lang, self.text, self.mark, self.mark_arg = doc, line, lang, text, mark, mark_arg

    def __repr__(self):
        return f"{self.doc}:{self.line} ({self.lang})"


def snippets(doc):
    """The tagged code blocks of docs/DOC, with the snippet mark before each (if any)."""
    with open(os.path.join(DOCS, doc), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        mark = MARK.search(prev)
        if m.group(1) in ("python", "sql", "sh"):
            out.append(Snippet(doc, i + 1, m.group(1), "\n".join(lines[i + 1:end]) + "\n",
                               mark.group(1) if mark else None, mark.group(2) if mark else ""))
        i = end + 1
    return out


def all_docs():
    return sorted(f for f in os.listdir(DOCS) if f.endswith(".md"))


def test_every_skip_says_why_and_every_mark_is_known():
    for doc in all_docs():
        text = open(os.path.join(DOCS, doc), encoding="utf-8").read()
        for m in re.finditer(r"<!--\s*snippet:(.*?)-->", text):
            assert MARK.search(m.group(0)), (doc, m.group(0))
        for s in snippets(doc):
            if s.mark == "skip":
                assert len(s.mark_arg) > 10, (s, "a skip must say why")


def _wrappers(bindir):
    bindir.mkdir(exist_ok=True)
    for name, args in (("cltrace", ' -m cltrace.cli.main "$@"'), ("python", ' "$@"'), ("python3", ' "$@"')):
        (bindir / name).write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)}{args}\n")
        (bindir / name).chmod(0o755)
    return bindir


def _env(bindir):
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", COLUMNS="160")
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    return env


@pytest.fixture(scope="module")
def traces(tmp_path_factory, conv_bench):
    """A directory with the traces the docs name (and report.json of trace.db), and docs/tutorial for the plot the
    tutorial writes there."""
    base = tmp_path_factory.mktemp("doc-traces")
    (base / "docs" / "tutorial").mkdir(parents=True)
    env = _env(_wrappers(base / "bin"))
    for paths, args in ((STAIRS, STAIRS_SWEEP), (LWS, LWS_SWEEP)):
        first = base / paths[0]
        first.parent.mkdir(parents=True, exist_ok=True)
        p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "sweep", "-q", "-o", str(first)]
                           + [a.replace("{bench}", conv_bench) for a in args],
                           capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stderr
        for other in paths[1:]:
            (base / other).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(first, base / other)
    with open(base / "report.json", "w") as fh:
        subprocess.run([sys.executable, "-m", "cltrace.cli.main", "report", str(base / "trace.db"), "--format",
                        "json"], stdout=fh, check=True, env=env, timeout=600)
    return base


def _workdir(traces, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(traces, work, symlinks=True, ignore=shutil.ignore_patterns("bin", "examples"))
    (work / "examples").symlink_to(os.path.join(ROOT, "examples"))
    return work, _env(_wrappers(tmp_path / "bin"))


def run_snippet(s, work, env):
    if s.lang == "sh":
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", s.text], cwd=work, env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, (s, p.stdout[-3000:], p.stderr[-3000:])
        assert "Traceback" not in p.stderr, (s, p.stderr)
        return p.stdout
    if s.lang == "python":
        script = work / f"_snippet_{s.line}.py"
        script.write_text(s.text)
        args = shlex.split(s.mark_arg) if s.mark == "args" else []
        p = subprocess.run([sys.executable, str(script), *args], cwd=work, env=env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, (s, p.stdout[-3000:], p.stderr[-3000:])
        return p.stdout
    statements = [q.strip() for q in s.text.split(";") if q.strip() and not
                  all(ln.strip().startswith("--") for ln in q.strip().splitlines())]
    if s.text.lstrip().startswith("-- duckdb"):
        import duckdb
        con = duckdb.connect()
        cwd = os.getcwd()
        os.chdir(work)
        try:
            rows = [con.execute(q).fetchall() for q in statements]
        finally:
            os.chdir(cwd)
    else:
        con = sqlite3.connect(work / (s.mark_arg if s.mark == "sqlite" else "trace.db"))
        try:
            rows = [con.execute(q).fetchall() for q in statements]
        finally:
            con.close()
    for q, r in zip(statements, rows):
        assert r, (s, "no rows", q)
    return rows


@pytest.mark.parametrize("doc", [d for d in all_docs() if d not in NOT_HERE])
def test_doc_snippets_run(doc, traces, tmp_path):
    todo = [s for s in snippets(doc) if s.mark != "skip"]
    if not todo:
        pytest.skip(f"{doc}: no runnable snippet")
    work, env = _workdir(traces, tmp_path)
    for s in todo:
        run_snippet(s, work, env)


def _exports_snippet(start):
    return next(s for s in snippets("exports.md") if s.text.startswith(start))


@pytest.fixture(scope="module")
def exported(traces, tmp_path_factory):
    """The traces with the files exports.md's `cltrace export` block writes (lookup.csv, the Parquet DIR, ...), made
    once for the tests that read them (test_doc_snippets_run[exports.md] runs the block itself)."""
    work, env = _workdir(traces, tmp_path_factory.mktemp("doc-exports"))
    run_snippet(_exports_snippet("cltrace export"), work, env)
    return work


def test_lookup_snippets_have_one_row_per_channel_count(exported, tmp_path):
    """The lookup snippet selects one method: its index (channels) has no duplicate."""
    work, env = _workdir(exported, tmp_path)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        for start, name in (('import pandas as pd\nlut = pd.read_csv("lookup.csv")', "latency"),):
            ns = {}
            exec(_exports_snippet(start).text, ns)
            series = ns[name]
            assert list(series.index) == list(range(91, 98)) and series.index.is_unique, (name, series)
    finally:
        os.chdir(cwd)


def test_duckdb_query_runs_on_a_trace_made_without_a_farm(exported, tmp_path):
    work, env = _workdir(exported, tmp_path)
    q = _exports_snippet("-- duckdb")
    query = [ln for ln in q.text.splitlines() if not ln.lstrip().startswith("--")]
    assert not any("tag_board" in ln for ln in query)          # the query itself (a comment may name it)
    rows = run_snippet(q, work, env)[0]
    assert sorted({r[0] for r in rows}) == list(range(91, 98))
