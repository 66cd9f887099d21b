"""cltrace sweep --block K: one process measures K configurations (sweep/blocks.py); the analysis treats the
process as a block (analysis/blocks.py). A real blocked sweep on PoCL, --resume of blocks, bad input."""
import json
import os
import sqlite3
import sys

import pytest

import cltrace
from cltrace.analysis import analyse

PY = sys.executable
# Marks each configuration of its list with a region tagged c=<value>; fails (exit 5) when FAIL_ON is in its list.
PROG = """
import os, sys
from cltrace import region
cs = sys.argv[1].split(",")
for c in cs:
    with region("p", c=c):
        pass
sys.exit(5 if os.environ.get("FAIL_ON") in cs else 0)
"""
# Measures its list without a single region.
NO_REGIONS = "import sys; sys.argv[1].split(',')"
TINY = ["--input", "12x12x8", "--kernel", "3", "--pad", "1", "--iters", "3", "--warmup", "1"]


@pytest.fixture(autouse=True)
def _bare_system(tmp_path_factory, monkeypatch):
    """An empty system tree (no cpufreq, no /proc): no governor is read or written."""
    monkeypatch.setenv("CLTRACE_SYSTEM_ROOT", str(tmp_path_factory.mktemp("bare-system")))
    monkeypatch.delenv("POCL_AFFINITY", raising=False)


def _db(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_blocked_sweep_of_conv_bench_on_pocl(tmp_path, cli, conv_bench):
    """channels 1..6, 2 repetitions, blocks of 3: 4 processes, each measuring 3 counts in a random order,
    each count in regions tagged with it; every configuration has 2 units; the analysis says it is blocked."""
    p = cli("sweep", "-q", "-p", "channels=1:6", "--repeat", "2", "--block", "3", "--seed", "11", "-o", "b.db",
            "--", conv_bench, *TINY, "--method", "tiled", "--out-channels", "{channels}", cwd=tmp_path,
            env={"POCL_CACHE_DIR": os.path.join(os.path.dirname(os.path.dirname(conv_bench)), "..", ".pocl-cache")})
    assert p.returncode == 0, p.stderr
    assert "cltrace: 12/12 runs recorded in b.db" in p.stderr
    with _db(tmp_path / "b.db") as c:
        runs = c.execute("SELECT run_id, status, sweep_index, repeat_index, argv FROM runs ORDER BY run_id").fetchall()
        notes = dict(c.execute("SELECT run_id, message FROM notes WHERE kind = 'block'").fetchall())
        regions = c.execute("SELECT run_id, tags FROM regions").fetchall()
        status, plan = c.execute("SELECT status, plan FROM sweeps").fetchone()
    assert len(runs) == 4 and all(r[1] == "ok" for r in runs)
    assert [r[3] for r in runs] == [0, 0, 1, 1]
    assert status == "complete" and json.loads(plan)["block"] == 3 and len(json.loads(plan)["runs"]) == 12
    measured = {}
    for run_id, _, index, _, argv in runs:
        indexes = json.loads(notes[run_id])
        assert len(indexes) == 3 and index == min(indexes)
        counts = json.loads(argv)[json.loads(argv).index("--out-channels") + 1].split(",")
        assert len(counts) == 3
        tagged = [json.loads(t)["channels"] for r, t in regions if r == run_id]
        assert sorted(set(tagged)) == sorted(counts) and len(tagged) == 9     # 3 iterations each
        for ch in counts:
            measured[ch] = measured.get(ch, 0) + 1
    assert measured == {str(c): 2 for c in range(1, 7)}
    t = cltrace.open(str(tmp_path / "b.db"))
    result = analyse(t.samples(), "channels")
    assert sorted(result.units.groupby("config_id")["unit"].nunique().tolist()) == [2] * 6
    assert result.units["unit"].nunique() == 4
    assert any(n.startswith("blocked design (method=tiled) ") or n.startswith("blocked design (all): 4 processes "
                                                                              "measured 3 configurations each")
               for n in result.notes), result.notes
    # --resume: nothing left; the same blocks when shown again
    p = cli("sweep", "-o", "b.db", "--resume", "--dry-run", cwd=tmp_path)
    assert p.returncode == 0 and "cltrace: resume: 12 runs already done, 0 to go" in p.stderr


def test_dry_run_lists_one_command_per_block(tmp_path, cli):
    p = cli("sweep", "-p", "c=1:5", "-p", "m=x", "--repeat", "2", "--block", "2", "--seed", "4", "--dry-run",
            "--", "prog", "{c}", "{m}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 4                            # 5 configurations in blocks of 2 + 3, twice
    lists = [line.split()[2].split(",") for line in lines]
    assert sorted(len(x) for x in lists) == [2, 2, 3, 3]
    assert all(line.split()[3] == "x" for line in lines)          # a parameter shared by the block stays one value
    assert sorted(lists[0] + lists[1]) == sorted(lists[2] + lists[3]) == ["1", "2", "3", "4", "5"]
    again = cli("sweep", "-p", "c=1:5", "-p", "m=x", "--repeat", "2", "--block", "2", "--seed", "4", "--dry-run",
                "--", "prog", "{c}", "{m}", cwd=tmp_path)
    assert again.stdout == p.stdout


def test_resume_runs_the_unfinished_blocks_again(tmp_path, cli):
    prog = tmp_path / "prog.py"
    prog.write_text(PROG)
    args = ["sweep", "-q", "-p", "c=1:4", "--repeat", "2", "--block", "2", "--seed", "3", "-o", "r.db", "--",
            PY, str(prog), "{c}"]
    p = cli(*args, cwd=tmp_path, env={"FAIL_ON": "3"})
    assert p.returncode == 1
    assert "cltrace: 8/8 runs recorded in r.db; 4 failed" in p.stderr
    with _db(tmp_path / "r.db") as c:
        first = c.execute("SELECT r.status, n.message FROM runs r JOIN notes n ON n.run_id = r.run_id "
                          "AND n.kind = 'block' ORDER BY r.run_id").fetchall()
        assert c.execute("SELECT status FROM sweeps").fetchone()[0] == "failed-runs"
    failed = sorted(m for s, m in first if s == "failed")
    assert len(failed) == 2
    p = cli("sweep", "-q", "-o", "r.db", "--resume", cwd=tmp_path, env={"FAIL_ON": "none"})
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 4 runs already done, 4 to go" in p.stderr
    with _db(tmp_path / "r.db") as c:
        again = c.execute("SELECT r.status, n.message FROM runs r JOIN notes n ON n.run_id = r.run_id "
                          "AND n.kind = 'block' WHERE r.run_id > 4 ORDER BY r.run_id").fetchall()
        assert c.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
    assert sorted(m for _, m in again) == failed and all(s == "ok" for s, _ in again)   # the same blocks
    p = cli("sweep", "-q", "-o", "r.db", "--resume", "--block", "3", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: --resume completes sweep 1, which ran --block 2: leave out --block 3\n"


def test_a_program_that_writes_no_regions_stops_the_sweep(tmp_path, cli):
    p = cli("sweep", "-q", "-p", "c=1:4", "--block", "4", "--repeat", "2", "--seed", "1", "-o", "n.db", "--",
            PY, "-c", NO_REGIONS, "{c}", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.splitlines()[-1] == (
        "cltrace: --block: run 1 measured 4 configurations in one process, but no region of it is tagged "
        "c=4, c=3, c=2 and 1 more: a blocked run must mark each configuration's launches with a cltrace region "
        "tagged with its values (cltrace_region_begin(name, \"c=...\"), as conv_bench does), or the analysis "
        "cannot tell its configurations apart; the sweep stops (run it without --block)")
    with _db(tmp_path / "n.db") as c:
        assert c.execute("SELECT run_id, status, sweep_index FROM runs").fetchall() == [(1, "ok", None)]
        assert c.execute("SELECT COUNT(*) FROM notes WHERE kind = 'block'").fetchone()[0] == 0
        assert c.execute("SELECT status FROM sweeps").fetchone()[0] == "failed-runs"


@pytest.mark.parametrize("args,message", [
    (["--block", "0"], "--block 0: a block is the number of configurations one process measures (at least 1; "
                       "1 is one process per configuration)"),
    (["--block", "-2"], "--block -2: a block is the number of configurations one process measures (at least 1; "
                        "1 is one process per configuration)"),
    (["--block", "5"], "--block 5 is larger than the plan's 4 configurations: a process measures each "
                       "configuration at most once, so give --block 4 or less"),
    (["--block", "2", "--adaptive", "--max-runs", "13"],
     "--max-runs leaves room for 1 re-run after the first pass, and a blocked adaptive round measures at least 2 "
     "configurations in each process (--block 2): give --max-runs 2 or more above the first pass, or leave out "
     "--block"),
    (["--block", "5", "--cluster", "tcp://127.0.0.1:9", "--board", "a", "--board", "b"],
     "--block 5 is larger than the plan's 4 configurations per board (a block runs on one board): a process "
     "measures each configuration at most once, so give --block 4 or less"),
    (["--block", "x"], None),
])
def test_block_usage_errors(tmp_path, cli, args, message):
    p = cli("sweep", "--dry-run", "-p", "c=1:4", *args, "--", "echo", "{c}", cwd=tmp_path)
    assert p.returncode == 2 and p.stdout == ""
    if message is None:           # argparse's own line
        assert p.stderr.splitlines()[-1] == "cltrace: sweep: argument --block: invalid int value: 'x'"
    else:
        assert p.stderr == f"cltrace: {message}\n"
    assert not (tmp_path / "sweep.db").exists()


def test_dry_run_of_blocked_adaptive_and_farm_sweeps(tmp_path, cli):
    """--block with --adaptive lists the first pass's processes; with --cluster each process is on one board."""
    p = cli("sweep", "-p", "c=1:4", "--repeat", "2", "--block", "4", "--seed", "2", "--adaptive", "--dry-run",
            "--", "prog", "{c}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 2
    assert p.stderr.splitlines()[-1] == ("cltrace: --adaptive: further blocks (up to 24 runs in all) depend on the "
                                         "results; the first pass is listed")
    p = cli("sweep", "-p", "c=1:4", "--repeat", "1", "--block", "2", "--seed", "2", "--dry-run", "--cluster",
            "tcp://127.0.0.1:9", "--board", "a", "--board", "b", "--", "prog", "{c}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 4
    on = {}
    for line in lines:
        words = line.split()
        assert words[1] == "prog" and words[3:5] == ["(on", "board"] and len(words) == 6
        on.setdefault(words[-1].rstrip(")"), []).extend(words[2].split(","))
    assert sorted(on) == ["a", "b"] and all(sorted(v) == ["1", "2", "3", "4"] for v in on.values())
    assert not (tmp_path / "sweep.db").exists()
