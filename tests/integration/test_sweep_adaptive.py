"""cltrace sweep --adaptive: rounds, budgets, --resume, --dry-run, failing configurations.

The sweeps are real (tests/programs/loop under the shim on PoCL, analysed by the real staircase analysis). Most
tests replace the verdict policy, cltrace.analysis.adaptive, by a scripted one (monkeypatched into sys.modules,
so the sweep runs in this process) to steer the rounds; test_adaptive_sweep_with_the_real_policy uses the real
module."""
import json
import os
import sqlite3
import subprocess
import sys
import types

import pytest

import cltrace
from cltrace.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _bare_system(tmp_path_factory, monkeypatch):
    """No governor read or written: tests never touch the real sysfs."""
    monkeypatch.setenv("CLTRACE_SYSTEM_ROOT", str(tmp_path_factory.mktemp("bare-system")))


class ScriptedPolicy(types.ModuleType):
    """Stands in for cltrace.analysis.adaptive: round k re-runs script[k] (values of the swept parameter,
    taken from the analysis' own configuration table when it has them, so they come as the analysis types
    them); nothing once the script is used up."""

    def __init__(self, script):
        super().__init__("cltrace.analysis.adaptive")
        self.script = [list(x) for x in script]
        self.results = []

    def configs_to_rerun(self, result):
        self.results.append(result)
        wanted = self.script.pop(0) if self.script else []
        known = {int(v): v for v in result.configs[result.param]} if len(result.configs) else {}
        return [{result.param: known.get(v, v)} for v in wanted]

    def undecided_summary(self, result):
        left = self.script[0] if self.script else []
        return f"{len(left)} candidate steps undecided"


@pytest.fixture
def policy(monkeypatch):
    def install(*script):
        fake = ScriptedPolicy(script)
        monkeypatch.setitem(sys.modules, "cltrace.analysis.adaptive", fake)
        return fake
    return install


@pytest.fixture
def sweep(programs, tmp_path, capsys):
    """sweep(*options, command=None) -> (exit code, stderr lines) of an in-process `cltrace sweep -q`."""
    loop = programs("loop")

    def run(*options, command=None):
        capsys.readouterr()
        rc = main(["sweep", "-q", "--order", "interleave", "-o", str(tmp_path / "a.db"), *map(str, options), "--",
                   *(command or [loop, "{c}", "2"])])
        out = capsys.readouterr()
        return rc, out.err.splitlines(), out.out
    return run


def table(tmp_path):
    with cltrace.open(str(tmp_path / "a.db")) as t:
        runs, params, notes = t.runs, t.params, t.notes
    rounds = notes[notes.kind == "adaptive-round"].set_index("run_id")["value"]
    return [(int(params.loc[r, "c"]), int(i), int(k), int(rounds.get(r, 0)))
            for r, i, k in zip(runs.run_id, runs.sweep_index, runs.repeat_index)]


def test_rounds_until_every_verdict_is_decided(sweep, policy, tmp_path):
    fake = policy([2], [2, 3])
    rc, err, _ = sweep("-p", "c=1:3", "--repeat", "1", "--adaptive")
    assert rc == 0, err
    assert err[1:] == [
        "cltrace: adaptive round 1: 2 candidate steps undecided; re-running 1 configuration",
        "cltrace: adaptive round 2: 0 candidate steps undecided; re-running 2 configurations",
        "cltrace: adaptive: stopped after 2 rounds (+1, +2 runs): every verdict is decided",
        f"cltrace: 6/6 runs recorded in {tmp_path / 'a.db'}"]
    # (c, sweep_index, repeat_index, round): re-runs continue the numbering, in plan order within a round
    assert table(tmp_path) == [(1, 0, 0, 0), (2, 1, 0, 0), (3, 2, 0, 0), (2, 3, 1, 1), (2, 4, 2, 2), (3, 5, 1, 2)]
    assert len(fake.results) == 3 and all(r.param == "c" for r in fake.results)
    # each round's analysis saw the runs committed before it
    assert [sorted(set(r.configs["c"])) for r in fake.results] == [[1, 2, 3]] * 3
    assert [int(r.configs.set_index("c").loc[2, "n"]) for r in fake.results][1:] > \
        [int(fake.results[0].configs.set_index("c").loc[2, "n"])] * 2


def test_the_run_budget_stops_it_and_resume_goes_on(sweep, policy, tmp_path):
    policy(*[[1, 2]] * 10)
    rc, err, _ = sweep("-p", "c=1:2", "--repeat", "1", "--adaptive", "--max-runs", "5")
    assert rc == 0, err
    assert err[1:] == [
        "cltrace: adaptive round 1: 2 candidate steps undecided; re-running 2 configurations",
        "cltrace: adaptive round 2: 2 candidate steps undecided; re-running 1 configuration",
        "cltrace: adaptive: stopped after 2 rounds (+2, +1 runs): the run budget is spent (5 runs, --max-runs); "
        "left: 2 candidate steps undecided",
        f"cltrace: 5/5 runs recorded in {tmp_path / 'a.db'}"]
    assert [c for c, *_ in table(tmp_path)] == [1, 2, 1, 2, 1]
    # --resume: the stored plan is complete (adaptive runs never count for it), so the rounds go on, numbered on,
    # at positions past the plan and past the earlier rounds
    policy([2], [])
    rc, err, _ = sweep("-p", "c=1:2", "--repeat", "1", "--adaptive", "--max-runs", "8", "--resume")
    assert rc == 0, err
    assert err[0] == "cltrace: resume: 2 runs already done, 0 to go"
    assert err[2:] == [
        "cltrace: adaptive round 3: 0 candidate steps undecided; re-running 1 configuration",
        "cltrace: adaptive: stopped after 1 round (+1 runs): every verdict is decided",
        f"cltrace: 1/1 runs recorded in {tmp_path / 'a.db'}"]
    rows = table(tmp_path)
    assert rows[5:] == [(2, 5, 2, 3)]
    with cltrace.open(str(tmp_path / "a.db")) as t:
        assert t.sweeps["status"].tolist() == ["complete"] and set(t.runs["sweep_id"]) == {1}


def test_the_time_budget_stops_it(sweep, policy, tmp_path):
    policy([1])
    rc, err, _ = sweep("-p", "c=1:2", "--repeat", "1", "--adaptive", "--max-minutes", "0.000001")
    assert rc == 0
    assert err[1:] == [
        "cltrace: adaptive: no re-runs: the time budget is spent (1e-06 min, --max-minutes); left: 0 candidate "
        "steps undecided",
        f"cltrace: 2/2 runs recorded in {tmp_path / 'a.db'}"]


def test_decided_after_the_first_pass(sweep, policy, tmp_path):
    policy()
    rc, err, _ = sweep("-p", "c=1:2", "--repeat", "1", "--adaptive")
    assert rc == 0
    assert err[1:] == ["cltrace: adaptive: no re-runs: every verdict is decided",
                       f"cltrace: 2/2 runs recorded in {tmp_path / 'a.db'}"]


def test_failing_configurations_are_not_re_run_and_unknown_ones_are_said(sweep, policy, tmp_path, programs):
    policy([2, 3, 99], [3])
    # c=3 fails; 99 is not in the plan
    command = ["sh", "-c", f'test "$1" -ne 3 && exec {programs("loop")} "$1" 2', "sh", "{c}"]
    rc, err, _ = sweep("-p", "c=1:3", "--repeat", "1", "--adaptive", command=command)
    assert rc == 1
    assert err[1:5] == [
        "cltrace: adaptive: 1 configuration the analysis asked for is not in this sweep's plan (left out)",
        "cltrace: adaptive round 1: 1 candidate steps undecided; re-running 1 configuration",
        "cltrace: adaptive: stopped after 1 round (+1 runs): the configurations still undecided failed on their "
        "last run (fix them, then --resume); left: 0 candidate steps undecided",
        f"cltrace: 4/4 runs recorded in {tmp_path / 'a.db'}; 1 failed"]
    assert err[5].startswith("cltrace:   failed: c=3 (exit 1)")
    assert [c for c, *_ in table(tmp_path)] == [1, 2, 3, 2]


def test_dry_run_lists_the_first_pass(sweep, policy, tmp_path):
    policy()
    rc, err, out = sweep("-p", "c=1:2", "--repeat", "2", "--adaptive", "--dry-run")
    assert rc == 0
    assert len(out.splitlines()) == 4 and out.splitlines()[0].startswith("[1/4] ")
    assert err == ["cltrace: --adaptive: further runs (up to 12 in all) depend on the results; the first pass "
                   "is listed"]
    assert not (tmp_path / "a.db").exists()


def test_without_the_policy_module_it_says_so(sweep, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "cltrace.analysis.adaptive", None)      # import fails
    rc, err, _ = sweep("-p", "c=1:2", "--adaptive")
    assert rc == 1
    assert err[0].startswith("cltrace: --adaptive needs cltrace.analysis.adaptive, which this cltrace lacks (")
    assert not (tmp_path / "a.db").exists()


def test_adaptive_sweep_with_the_real_policy(programs, tmp_path):
    """The real cltrace.analysis.adaptive, end to end in a subprocess. One process per configuration leaves
    every verdict open (a test needs two), so there is at least one round; whatever it decides then, the sweep
    stops within its budget, says why, and every re-run is recorded as one."""
    pytest.importorskip("cltrace.analysis.adaptive")
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "sweep", "-q", "-p", "c=1:4", "--repeat", "1",
                        "--adaptive", "--max-runs", "10", "-o", "r.db", "--", programs("loop"), "{c}", "3"],
                       cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    stop = [line for line in p.stderr.splitlines() if line.startswith("cltrace: adaptive: ")]
    assert len(stop) == 1, p.stderr
    rounds = [line for line in p.stderr.splitlines() if line.startswith("cltrace: adaptive round ")]
    with sqlite3.connect(tmp_path / "r.db") as c:
        n_runs = c.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        rerun = c.execute("SELECT COUNT(*) FROM notes WHERE kind = 'adaptive-round'").fetchone()[0]
    assert 5 <= n_runs <= 10 and rerun == n_runs - 4
    assert rounds and rounds[0].startswith("cltrace: adaptive round 1: ")
    if "every verdict is decided" not in stop[0]:
        assert "budget is spent" in stop[0] or "failed on their last run" in stop[0], stop[0]
    report = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "report", "r.db", "--format", "json"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr
    json.loads(report.stdout)


TINY = ["--input", "12x12x8", "--kernel", "3", "--pad", "1", "--iters", "2", "--warmup", "1", "--method", "tiled"]


def _blocked_table(path):
    """(run_id, sorted counts the run measured, plan positions, round, counts of its block-configs note or None)."""
    with sqlite3.connect(path) as c:
        notes = {}
        for run_id, kind, message, value in c.execute("SELECT run_id, kind, message, value FROM notes WHERE kind IN "
                                                      "('block', 'block-configs', 'adaptive-round')"):
            notes.setdefault(run_id, {})[kind] = (message, value)
        regions = {}
        for run_id, tags in c.execute("SELECT run_id, tags FROM regions"):
            regions.setdefault(run_id, set()).add(int(json.loads(tags)["channels"]))
        runs = c.execute("SELECT run_id, sweep_index, repeat_index FROM runs ORDER BY run_id").fetchall()
    out = []
    for run_id, index, _ in runs:
        n = notes.get(run_id, {})
        configs = n.get("block-configs")
        out.append((sorted(regions.get(run_id, ())), json.loads(n["block"][0]), n.get("adaptive-round", (0, 0))[1],
                    None if configs is None else sorted(int(x["channels"]) for x in json.loads(configs[0]))))
        assert index == min(json.loads(n["block"][0]))
    return out


def test_blocked_rounds_are_processes_of_the_undecided_configurations_and_their_neighbours(sweep, policy,
                                                                                          tmp_path, conv_bench):
    """--block 4 --adaptive: the first pass is 2 processes of 4 counts; round 1 (the policy leaves 2 and 3 open)
    is one new process measuring 2, 3 and their neighbours 1 and 4, each in its tagged region, with the
    adaptive-round and block-configs notes; round 2 (5 open) one process of 5 and its neighbours 4 and 6."""
    fake = policy([2, 3], [5], [])
    rc, err, _ = sweep("-p", "channels=1:6", "--repeat", "2", "--block", "4", "--seed", "7", "--adaptive",
                       command=[conv_bench, *TINY, "--out-channels", "{channels}"])
    assert rc == 0, err
    assert err[1:] == [
        "cltrace: adaptive round 1: 1 candidate steps undecided; re-running 4 configurations in 1 process "
        "(--block 4)",
        "cltrace: adaptive round 2: 0 candidate steps undecided; re-running 3 configurations in 1 process "
        "(--block 4)",
        "cltrace: adaptive: stopped after 2 rounds (+4, +3 runs): every verdict is decided",
        f"cltrace: 19/19 runs recorded in {tmp_path / 'a.db'}"]
    rows = _blocked_table(tmp_path / "a.db")
    assert len(rows) == 6                                   # 12 planned runs in 4 processes, then 2 rounds
    first = rows[:4]
    assert all(k == 0 and cfg is None for _, _, k, cfg in first)
    assert sorted(c for counts, *_ in first for c in counts) == sorted(list(range(1, 7)) * 2)
    assert sorted(i for _, pos, *_ in first for i in pos) == list(range(12))
    assert rows[4] == ([1, 2, 3, 4], [12, 13, 14, 15], 1, [1, 2, 3, 4])
    assert rows[5] == ([4, 5, 6], [16, 17, 18], 2, [4, 5, 6])
    # the analysis of round 2 saw round 1's process: 2 and 3 each in 3 units (configuration, process)
    n = fake.results[1].configs.set_index("channels")["n_processes"]
    assert [int(n[c]) for c in range(1, 7)] == [3, 3, 3, 3, 2, 2]
    # --resume: the plan is done, the rounds go on numbered on, past every position a block measured
    policy([1], [])
    rc, err, _ = sweep("-p", "channels=1:6", "--repeat", "2", "--resume", "--adaptive",
                       command=[conv_bench, *TINY, "--out-channels", "{channels}"])
    assert rc == 0, err
    assert err[0] == "cltrace: resume: 12 runs already done, 0 to go"
    assert err[2] == ("cltrace: adaptive round 3: 0 candidate steps undecided; re-running 2 configurations in "
                      "1 process (--block 4)")
    assert _blocked_table(tmp_path / "a.db")[6] == ([1, 2], [19, 20], 3, [1, 2])


def test_blocked_rounds_keep_to_the_run_budget(sweep, policy, tmp_path, conv_bench):
    """--max-runs 15 after a first pass of 12: round 1 wants 2..5 with neighbours (6 configurations) and gets
    the 3 the budget leaves, the undecided ones first; then no room for a process of 2."""
    policy([2, 3, 4, 5], [2, 3, 4, 5])
    rc, err, _ = sweep("-p", "channels=1:6", "--repeat", "2", "--block", "6", "--seed", "7", "--adaptive",
                       "--max-runs", "15", command=[conv_bench, *TINY, "--out-channels", "{channels}"])
    assert rc == 0, err
    assert err[1:] == [
        "cltrace: adaptive round 1: 4 candidate steps undecided; re-running 3 configurations in 1 process "
        "(--block 6)",
        "cltrace: adaptive: stopped after 1 round (+3 runs): the run budget is spent (15 runs, --max-runs); "
        "left: 0 candidate steps undecided",
        f"cltrace: 15/15 runs recorded in {tmp_path / 'a.db'}"]
    assert _blocked_table(tmp_path / "a.db")[-1][0] == [2, 3, 4]
    # round 1 takes 1 and its neighbour 2; the 1 run left cannot make a process of 2 configurations
    policy([1], [3])
    rc, err, _ = sweep("-f", "-p", "channels=1:6", "--repeat", "2", "--block", "6", "--seed", "7", "--adaptive",
                       "--max-runs", "15", command=[conv_bench, *TINY, "--out-channels", "{channels}"])
    assert rc == 0, err
    assert err[1:] == [
        "cltrace: adaptive round 1: 1 candidate steps undecided; re-running 2 configurations in 1 process "
        "(--block 6)",
        "cltrace: adaptive: stopped after 1 round (+2 runs): the run budget is spent (15 runs, --max-runs: 1 run "
        "left, too few for a process of 2 configurations); left: 0 candidate steps undecided",
        f"cltrace: 14/14 runs recorded in {tmp_path / 'a.db'}"]


def test_blocked_adaptive_sweep_with_the_real_policy(tmp_path, conv_bench):
    """The real policy on a blocked sweep, in a subprocess: whatever it decides, every run is a block (its
    regions tagged with the counts it measured), every re-run is a process of 2 or more counts, and the sweep
    stops within its budget and says why."""
    pytest.importorskip("cltrace.analysis.adaptive")
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "sweep", "-q", "-p", "channels=1:4", "--repeat",
                        "2", "--block", "4", "--adaptive", "--max-runs", "16", "-o", "r.db", "--", conv_bench, *TINY,
                        "--out-channels", "{channels}"],
                       cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    stop = [line for line in p.stderr.splitlines() if line.startswith("cltrace: adaptive: ")]
    assert len(stop) == 1, p.stderr
    rows = _blocked_table(tmp_path / "r.db")
    assert sum(len(pos) for _, pos, *_ in rows) <= 16
    for counts, pos, round_no, cfg in rows:
        assert len(counts) == len(pos) >= 2
        assert cfg is None if round_no == 0 else cfg == counts
