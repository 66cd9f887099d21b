"""Sweeps are records of the trace, through the real CLI: a sweep appended to another, one interrupted by SIGINT
and then resumed, and one with failed runs each report their true state (text and JSON); bad --resume input
gets its exact message.

The program never touches OpenCL (the sweep's bookkeeping is under test); the system tree is a bare fake one."""
import json
import os
import signal
import sqlite3
import subprocess

import pytest

import cltrace

from sweep_helpers import PROG, PY, bare_system, wait_for_runs

_bare_system = pytest.fixture(autouse=True)(bare_system)


def _sweeps(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as c:
        return c.execute("SELECT sweep_id, runs_planned, repeat, status, ended_at IS NOT NULL FROM sweeps "
                         "ORDER BY sweep_id").fetchall()


def _report(cli, path, cwd):
    text = cli("report", "--no-staircase", str(path), cwd=cwd)
    assert text.returncode == 0, text.stderr
    doc = cli("report", "--no-staircase", "--format", "json", str(path), cwd=cwd)
    assert doc.returncode == 0, doc.stderr
    return text.stdout, json.loads(doc.stdout)


def _section(text, title):
    lines = text.splitlines()
    i = lines.index(f"== {title} ==")
    out = []
    for line in lines[i + 1:]:
        if not line.strip() or line.startswith("=="):
            break
        out.append(line.strip())
    return " ".join(out)


def test_a_sweep_appended_to_another_is_a_sweep_of_its_own_and_both_are_complete(tmp_path, cli):
    common = ["--order", "interleave", "-o", "t.db", "--", PY, "-c", PROG, "{c}", "0", "{m}"]
    assert cli("sweep", "-q", "-p", "c=4:6", "-p", "m=tiled", "--repeat", "2", *common, cwd=tmp_path).returncode == 0
    p = cli("sweep", "-q", "--append", "-p", "c=10:11", "-p", "m=clblast", "--repeat", "1", *common, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert _sweeps(tmp_path / "t.db") == [(1, 6, 2, "complete", 1), (2, 2, 1, "complete", 1)]
    with cltrace.open(str(tmp_path / "t.db")) as t:
        assert t.runs["sweep_id"].tolist() == [1] * 6 + [2] * 2
        assert t.runs["sweep_index"].tolist() == [0, 1, 2, 3, 4, 5, 0, 1]
    text, doc = _report(cli, tmp_path / "t.db", tmp_path)
    assert _section(text, "Sweeps") == "2 sweeps: tiled 4..6 x2, complete; clblast 10,11 x1, complete"
    assert "unfinished" not in text and "Sweep progress" not in text
    assert doc["progress"] is None and doc["sweeps"]["text"] == _section(text, "Sweeps")
    # an appended sweep is new, whatever it shares with the first: --resume has nothing left to run
    p = cli("sweep", "--resume", "-o", "t.db", cwd=tmp_path)
    assert p.returncode == 0 and "resume: sweep 2 of 2 (clblast 10,11 x1): 2 runs already done, 0 to go" in p.stderr


def test_an_interrupted_sweep_says_so_and_resume_completes_its_stored_plan(tmp_path, cli):
    db = tmp_path / "i.db"
    cmd = [PY, "-m", "cltrace.cli.main", "sweep", "-q", "-p", "c=4:13", "--repeat", "1", "--seed", "7",
           "--mode", "preload", "-o", str(db), "--", PY, "-c", PROG, "{c}", "0.3"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    wait_for_runs(db, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "cltrace: interrupted: finished runs are kept; continue with --resume"
    [(sid, planned, repeat, status, ended)] = _sweeps(db)
    assert (sid, planned, repeat, status, ended) == (1, 10, 1, "interrupted", 1)
    with cltrace.open(str(db)) as t:
        done = int((t.runs["status"] == "ok").sum())
    assert 2 <= done < 10
    text, doc = _report(cli, db, tmp_path)
    assert _section(text, "Sweeps") == f"1 sweep: 4..13 x1, interrupted ({10 - done} of 10 planned runs to go)"
    progress = _section(text, "Sweep progress")
    assert progress.startswith(f"sweep 1 (4..13 x1) is unfinished: {10 - done} of 10 planned runs are missing or "
                               f"failed")
    assert progress.endswith(f"It was interrupted: the verdicts below may change. Complete it with cltrace sweep "
                             f"--resume 1 -o {db}.")
    assert doc["progress"]["sweep_ids"] == [1] and doc["progress"]["inferred"] is False
    assert doc["sweeps"]["sweeps"][0]["status"] == "interrupted"
    # --resume alone: the stored plan (command, parameters, order), exactly the runs still missing
    p = cli("sweep", "-q", "--resume", "-o", "i.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == f"cltrace: resume: {done} runs already done, {10 - done} to go"
    assert _sweeps(db) == [(1, 10, 1, "complete", 1)]
    with cltrace.open(str(db)) as t:
        ok = t.runs[t.runs["status"] == "ok"]
        assert sorted(ok["sweep_index"].tolist()) == list(range(10))          # each planned position once
        assert set(t.runs["sweep_id"]) == {1}
        assert set(t.runs["mode"]) == {"preload"}              # no capture option given: the stored ones
    text, doc = _report(cli, db, tmp_path)
    assert _section(text, "Sweeps") == "1 sweep: 4..13 x1, complete"
    assert "Sweep progress" not in text and doc["progress"] is None


def test_a_sweep_with_failed_runs_says_so_and_bad_resume_input_is_refused(tmp_path, cli):
    args = ["-q", "-p", "c=2:4", "--repeat", "2", "--order", "interleave", "-o", "f.db", "--", PY, "-c", PROG, "{c}",
            "0"]
    p = cli("sweep", *args, cwd=tmp_path)
    assert p.returncode == 1
    assert _sweeps(tmp_path / "f.db") == [(1, 6, 2, "failed-runs", 1)]
    text, doc = _report(cli, tmp_path / "f.db", tmp_path)
    assert _section(text, "Sweeps") == "1 sweep: 2..4 x2, 2 failed runs (2 of 6 planned runs to go)"
    assert _section(text, "Sweep progress") == (
        "sweep 1 (2..4 x2) is unfinished: 2 of 6 planned runs are missing or failed (1 of 3 configurations have "
        "fewer than 2 successful runs, 1 none yet: c=3 (0)). Runs failed: the verdicts below lack them. Fix them, "
        f"then run them again with cltrace sweep --resume 1 -o {tmp_path / 'f.db'}.")
    s = doc["sweeps"]["sweeps"][0]
    assert (s["ok_runs"], s["failed_runs"], s["missing_runs"], s["status"]) == (4, 2, 2, "failed-runs")
    # bad --resume input: exact messages, nothing run
    bad = [
        (["--resume", "2", "-o", "f.db"], 1, "cltrace: --resume 2: f.db has no sweep 2 (its sweep is 1)\n"),
        (["--resume", "two", "-o", "f.db"], 2, "cltrace: --resume two: a sweep is named by its number (1, 2, ...; "
                                               "cltrace report lists them), or give --resume alone for the last "
                                               "unfinished one\n"),
        (["--resume", "--append", "-o", "f.db"], 2, "cltrace: --resume continues a sweep of the trace and --append "
                                                    "starts a new one: give one of them\n"),
        (["--resume", "1", "-o", "none.db"], 1, "cltrace: --resume 1: none.db does not exist\n"),
        (["--resume", "-p", "c=2:5", "-o", "f.db"], 2,
         "cltrace: --resume completes the stored plan of sweep 1 (2..4 x2) exactly, and this command line plans "
         "another sweep: -p c=2,3,4,5 instead of c=2,3,4. Leave out -p, --repeat, --tag and the command to resume "
         "sweep 1 as stored, or start a new sweep with --append\n"),
    ]
    for extra, code, message in bad:
        p = cli("sweep", "-q", *extra, cwd=tmp_path)
        assert (p.returncode, p.stderr) == (code, message), extra
    with cltrace.open(str(tmp_path / "f.db")) as t:
        assert len(t.runs) == 6
    # resumed (the failing configuration fails again): still failed-runs, its two positions re-run
    p = cli("sweep", "-q", "--resume", "1", "-o", "f.db", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr.splitlines()[0] == "cltrace: resume: 4 runs already done, 2 to go"
    assert _sweeps(tmp_path / "f.db") == [(1, 6, 2, "failed-runs", 1)]
    with cltrace.open(str(tmp_path / "f.db")) as t:
        assert t.runs["sweep_index"].tolist()[6:] == [1, 4]


def test_resume_of_a_trace_older_than_stored_sweeps_adopts_its_runs(tmp_path, cli):
    """A schema-3 trace: the plan comes from the command line, its successful runs count as done and join the
    new sweep, which is then stored and complete."""
    schema_v3 = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit", "data",
                             "schema_v3.sql")
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    with open(schema_v3) as f:
        conn.executescript(f.read())
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "3"), ("cltrace_version", "0.3.0")])
    conn.execute("INSERT INTO runs (run_id, command, argv, status, sweep_index, repeat_index) "
                 "VALUES (1, 'x', '[]', 'ok', 0, 0)")
    conn.execute("INSERT INTO run_tags VALUES (1, 'c', '1')")
    conn.commit()
    conn.close()
    text, doc = _report(cli, db, tmp_path)
    assert doc["progress"] is None and doc["sweeps"] is None      # c=1 x1: nothing missing, nothing stored
    p = cli("sweep", "-q", "--resume", "-p", "c=1:2", "--repeat", "1", "-o", "old.db", "--", PY, "-c", PROG, "{c}",
            "0", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == "cltrace: resume: 1 runs already done, 1 to go"
    assert _sweeps(db) == [(1, 2, 1, "complete", 1)]
    with cltrace.open(str(db)) as t:
        assert t.runs["sweep_id"].tolist() == [1, 1]
    text, doc = _report(cli, db, tmp_path)
    assert _section(text, "Sweeps") == "1 sweep: 1,2 x1, complete"
