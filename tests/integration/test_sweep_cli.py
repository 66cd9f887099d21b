"""cltrace sweep: tagging, failures recorded and skipped over, --resume, Ctrl-C keeps finished runs, the noise
stabilisers and their provenance, bad input.

Every sweep here reads a fake system tree (CLTRACE_SYSTEM_ROOT), never the real /sys: tests must not change
a machine's CPU governor."""
import json
import re
import os
import signal
import subprocess

import pytest

import cltrace

from sweep_helpers import PROG, PY, bare_system, runs_recorded, wait_for_runs

_bare_system = pytest.fixture(autouse=True)(bare_system)


def fake_system(root, governor="schedutil", loadavg=None, stat=True):
    """Two cpufreq policies, /proc/loadavg and (optionally) /proc/stat below `root`, and an ICD vendors
    directory naming PoCL in root/vendors (for OCL_ICD_VENDORS)."""
    for i in range(2):
        d = root / "sys" / "devices" / "system" / "cpu" / f"cpu{i}" / "cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_governor").write_text(governor + "\n")
        (d / "scaling_available_governors").write_text("performance schedutil powersave\n")
    (root / "vendors").mkdir()
    (root / "vendors" / "pocl.icd").write_text("libpocl.so.2\n")
    (root / "proc").mkdir()
    if loadavg is not None:
        (root / "proc" / "loadavg").write_text(f"{loadavg} 0.40 0.30 1/100 1234\n")
    if stat:
        (root / "proc" / "stat").write_text("cpu  100 0 50 1000 0 0 0 0 0 0\n")
    return root


def governors(root):
    return [(root / "sys" / "devices" / "system" / "cpu" / f"cpu{i}" / "cpufreq" / "scaling_governor")
            .read_text().strip() for i in range(2)]


def test_sweep_tags_runs_and_goes_on_after_a_failure(tmp_path, cli):
    p = cli("sweep", "-q", "-p", "c=1:4", "-p", "m=a,b", "--repeat", "2", "-o", "s.db", "--",
            PY, "-c", PROG, "{c}", "0", "{m}", cwd=tmp_path)
    assert p.returncode == 1                      # a run failed
    lines = p.stderr.splitlines()
    assert lines[0].startswith("cltrace: stabilisers: ")
    seed = re.fullmatch(r"cltrace: order: shuffled, seed (\d+) \(--seed (\d+) runs the same order\)", lines[1])
    assert seed and seed.group(1) == seed.group(2)            # the default order, and how to run it again
    assert lines[2] == "cltrace: 16/16 runs recorded in s.db; 4 failed"
    assert re.match(r"cltrace:   failed: c=3 m=[ab] \(exit 5\)", lines[3])
    t = cltrace.open(str(tmp_path / "s.db"))
    assert len(t.runs) == 16
    params = t.params
    assert sorted(params.columns) == ["c", "m"]
    failed = t.runs[t.runs.status == "failed"]
    assert set(params.loc[failed.run_id, "c"]) == {3} and set(failed.exit_status) == {5}
    assert sorted(t.runs.repeat_index.unique()) == [0, 1]
    assert (t.notes.kind == "stderr-tail").sum() == 4


def test_resume_skips_completed_configurations(tmp_path, cli):
    args = ["sweep", "-q", "-p", "c=1:2", "--repeat", "2", "-o", "r.db", "--", PY, "-c", PROG, "{c}", "0"]
    assert cli(*args, cwd=tmp_path).returncode == 0
    p = cli(*args[:-6], "--resume", *args[-6:], cwd=tmp_path)
    assert p.returncode == 0
    assert "cltrace: resume: 4 runs already done, 0 to go" in p.stderr
    assert len(cltrace.open(str(tmp_path / "r.db")).runs) == 4
    # --resume completes the stored plan exactly: a larger --repeat is another sweep
    p = cli(*args[:4], "--repeat", "3", "-o", "r.db", "--resume", "--", PY, "-c", PROG, "{c}", "0", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr == (
        "cltrace: --resume completes the stored plan of sweep 1 (1,2 x2) exactly, and this command line plans "
        "another sweep: --repeat 3 instead of 2. Leave out -p, --repeat, --tag and the command to resume sweep 1 "
        "as stored, or start a new sweep with --append\n")
    assert len(cltrace.open(str(tmp_path / "r.db")).runs) == 4


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_cleanly_keeps_finished_runs_and_sets_the_governor_back(tmp_path, signum):
    root = fake_system(tmp_path / "sys-root")
    cmd = [PY, "-m", "cltrace.cli.main", "sweep", "-q", "-p", "c=1:50", "--repeat", "1", "-o", "i.db", "--",
           PY, "-c", PROG, "{c}", "0.3"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, CLTRACE_SYSTEM_ROOT=str(root)))
    wait_for_runs(tmp_path / "i.db", 2, proc)
    assert governors(root) == ["performance", "performance"]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert governors(root) == ["schedutil", "schedutil"]
    t = cltrace.open(str(tmp_path / "i.db"))
    # finished runs: ok, or failed for c=3 (PROG exits 5 there), which the shuffled order may put first
    done = t.runs[t.runs.status.isin(["ok", "failed"])]
    assert 2 <= len(done) < 50
    assert set(t.runs.status) <= {"ok", "failed", "interrupted"}
    assert (t.runs.status == "failed").sum() <= 1


def test_dry_run_prints_the_plan(tmp_path, cli):
    p = cli("sweep", "--dry-run", "--order", "interleave", "-p", "c=2:1", "-p", "m=x", "--", "prog", "--c={c}",
            "{m}", cwd=tmp_path)
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.splitlines()[:2] == ["[1/6] prog --c=2 x", "[2/6] prog --c=1 x"]


def test_default_order_is_a_fresh_shuffle_that_its_seed_repeats(tmp_path, cli):
    """Each pass over the values in a random order (the step test's randomisation), a new seed per sweep,
    printed; --seed runs that order again."""
    args = ["sweep", "--dry-run", "--repeat", "3", "-p", "c=1:12", "--", "prog", "{c}"]
    p = cli(*args, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    seed = re.fullmatch(r"cltrace: order: shuffled, seed (\d+) \(--seed \d+ runs the same order\)\n", p.stderr)
    assert seed
    plan = [int(line.split()[-1]) for line in p.stdout.splitlines()]
    passes = [plan[i:i + 12] for i in (0, 12, 24)]
    assert all(sorted(x) == list(range(1, 13)) for x in passes)      # every pass visits every value once
    assert any(x != sorted(x) for x in passes)                       # in a shuffled order (1 in 12!^3 fails)
    again = cli(*args[:2], "--seed", seed.group(1), *args[2:], cwd=tmp_path)
    assert again.stdout == p.stdout and again.stderr == p.stderr


def test_resume_dry_run_lists_only_the_runs_still_to_do(tmp_path, cli):
    args = ["-p", "c=2:4", "-o", "r.db", "--order", "interleave", "--", PY, "-c", PROG, "{c}", "0"]
    assert cli("sweep", "-q", "--repeat", "2", *args, cwd=tmp_path).returncode == 1      # c=3 fails twice
    p = cli("sweep", "--dry-run", "--resume", "--repeat", "2", *args, cwd=tmp_path)
    assert p.returncode == 0
    assert p.stderr == "cltrace: resume: 4 runs already done, 2 to go\n"
    assert [line.split(" ")[0] + " " + line.split(" ")[-2] for line in p.stdout.splitlines()] == \
        ["[1/2] 3", "[2/2] 3"]
    p = cli("sweep", "--dry-run", "--resume", "-o", "r.db", cwd=tmp_path)     # the stored plan alone
    assert p.returncode == 0 and p.stderr == "cltrace: resume: 4 runs already done, 2 to go\n"
    assert len(p.stdout.splitlines()) == 2
    assert runs_recorded(tmp_path / "r.db") == 6              # a dry run writes nothing
    p = cli("sweep", "--dry-run", "--resume", "--repeat", "1", *args[:2], "-o", "new.db", *args[4:], cwd=tmp_path)
    assert p.stderr == "cltrace: resume: 0 runs already done, 3 to go\n" and len(p.stdout.splitlines()) == 3
    assert not (tmp_path / "new.db").exists()


def test_stabilisers_reach_the_program_only_and_are_recorded(tmp_path, cli):
    root = fake_system(tmp_path / "sys-root", loadavg="0.25")
    gov = root / "sys" / "devices" / "system" / "cpu" / "cpu0" / "cpufreq" / "scaling_governor"
    probe = ("import os, sys; open(sys.argv[1], 'a').write(os.environ.get('POCL_AFFINITY', '-') + ' ' + "
             "open(sys.argv[2]).read().strip() + chr(10))")
    env = {"CLTRACE_SYSTEM_ROOT": str(root), "OCL_ICD_VENDORS": str(root / "vendors")}
    p = cli("sweep", "-q", "-p", "c=1:2", "--repeat", "1", "--allow-unused-param", "-o", "s.db", "--",
            PY, "-c", probe, "seen.txt", gov, cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == (
        "cltrace: stabilisers: POCL_AFFINITY=1 (PoCL thread affinity: set by cltrace for the traced program); "
        "cpu-governor=performance (2 cpufreq policies: set by cltrace, was schedutil, restored after the sweep)")
    assert (tmp_path / "seen.txt").read_text() == "1 performance\n" * 2
    assert governors(root) == ["schedutil", "schedutil"]
    with cltrace.open(str(tmp_path / "s.db")) as t:
        notes, runs = t.notes, t.runs
    assert all(json.loads(e)["POCL_AFFINITY"] == "1" for e in runs["env"])
    for run_id in runs["run_id"]:
        mine = notes[notes.run_id == run_id]
        stab = mine[mine.kind == "stabiliser"]
        assert list(stab["value"]) == [1, 1]
        assert list(stab["message"])[0] == \
            "POCL_AFFINITY=1 (PoCL thread affinity: set by cltrace for the traced program)"
        prov = json.loads(mine[mine.kind == "provenance"]["message"].iloc[0])
        assert prov["drivers"] == ["pocl"] and prov["stabilise"] is True and prov["cpus"] == os.cpu_count()
        assert prov["before"]["load"] == [0.25, 0.4, 0.3] and prov["after"]["load"] == [0.25, 0.4, 0.3]
        assert prov["before"]["cpu_governor"] == "performance" and prov["others_busy_cpus"] == 0
    # the user's own setting wins; --no-stabilise leaves everything as it is
    (tmp_path / "seen.txt").unlink()
    p = cli("sweep", "-q", "-f", "-p", "c=1", "--repeat", "1", "--allow-unused-param", "-o", "s.db", "--",
            PY, "-c", probe, "seen.txt", gov, cwd=tmp_path, env=dict(env, POCL_AFFINITY="0"))
    assert "POCL_AFFINITY=0 (PoCL thread affinity: yours, kept)" in p.stderr
    p = cli("sweep", "-q", "-f", "-p", "c=1", "--repeat", "1", "--no-stabilise", "--allow-unused-param", "-o",
            "s.db", "--", PY, "-c", probe, "seen.txt", gov, cwd=tmp_path, env=env)
    assert p.returncode == 0
    assert (tmp_path / "seen.txt").read_text() == "0 performance\n- schedutil\n"
    assert governors(root) == ["schedutil", "schedutil"]


LOAD_WARNING = ("warning: the machine was busy (load average 1000.0 on {} CPUs before the first "
                "run): latencies may be noisier; stop other work and sweep again")


def test_report_warns_when_the_machine_was_loaded(tmp_path, cli, programs):
    loop = programs("loop")
    for name, load in (("busy", "1000.00"), ("idle", "0.00")):
        root = fake_system(tmp_path / name, loadavg=load, stat=False)     # no /proc/stat: the load average
        p = cli("sweep", "-q", "-p", "c=1:2", "--repeat", "1", "-o", f"{name}.db", "--", loop, "{c}", "2",
                cwd=tmp_path, env={"CLTRACE_SYSTEM_ROOT": str(root)})
        assert p.returncode == 0, p.stderr
    busy = cli("report", "busy.db", "--no-staircase", cwd=tmp_path)
    assert busy.returncode == 0
    lines = busy.stdout.splitlines()
    assert lines[lines.index("== Measurement conditions ==") + 1].strip() == LOAD_WARNING.format(os.cpu_count())
    doc = json.loads(cli("report", "busy.db", "--format", "json", "--no-staircase", cwd=tmp_path).stdout)
    assert doc["conditions"]["warning"] == LOAD_WARNING.format(os.cpu_count())
    assert {"kind": "conditions", "text": LOAD_WARNING.format(os.cpu_count())} in doc["notes"]
    idle = cli("report", "idle.db", "--no-staircase", cwd=tmp_path)
    assert idle.returncode == 0 and "Measurement conditions" not in idle.stdout and "warning" not in idle.stdout


# ----------------------------------------------------------------------------- bad input: exact message, exit 2

def _usage_error(cli, tmp_path, *args):
    p = cli("sweep", *args, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    return p.stderr


def test_a_parameter_missing_from_the_command_is_an_error(tmp_path, cli):
    assert _usage_error(cli, tmp_path, "-p", "c=1:2", "-p", "m=a,b", "--", "echo", "{c}") == (
        "cltrace: the command does not mention {m}: the runs of different m values would be identical; put {m} in "
        "the command (e.g. --m={m}), or give --allow-unused-param if the program gets the value some other way\n")
    assert _usage_error(cli, tmp_path, "-p", "c=1:2", "-p", "m=a,b", "--", "echo") == (
        "cltrace: the command does not mention {c}, {m}: the runs of different c, m values would be identical; put "
        "{c}, {m} in the command (e.g. --c={c}), or give --allow-unused-param if the program gets the value some "
        "other way\n")
    p = cli("sweep", "--dry-run", "--allow-unused-param", "-p", "c=1:2", "-p", "m=a,b", "--", "echo", "{c}",
            cwd=tmp_path)
    assert p.returncode == 0 and p.stderr.startswith("cltrace: order: shuffled") and len(p.stdout.splitlines()) == 4 * 3


def test_a_step_against_the_range_is_an_error(tmp_path, cli):
    assert _usage_error(cli, tmp_path, "--dry-run", "-p", "c=5:10:-1", "--", "echo", "{c}") == (
        "cltrace: -p c=5:10:-1: the step -1 counts down but 5:10 counts up; write c=5:10:1 to count up or "
        "c=10:5:1 to count down\n")
    p = cli("sweep", "--dry-run", "--order", "interleave", "--repeat", "1", "-p", "c=10:5:-2", "--", "echo", "{c}",
            cwd=tmp_path)
    assert p.stdout.splitlines() == ["[1/3] echo 10", "[2/3] echo 8", "[3/3] echo 6"]


@pytest.mark.parametrize("args, message", [
    (["--max-runs", "10"], "--max-runs is a budget of --adaptive: give --adaptive too, or leave --max-runs out"),
    (["--max-minutes", "5"],
     "--max-minutes is a budget of --adaptive: give --adaptive too, or leave --max-minutes out"),
    (["--adaptive", "-p", "m=a,b"], "--adaptive compares neighbouring values of a numeric parameter, and no -p "
                                     "parameter has two or more numeric values (e.g. -p channels=64:128)"),
    (["--adaptive", "-p", "m=3"], "--adaptive compares neighbouring values of a numeric parameter, and no -p "
                                   "parameter has two or more numeric values (e.g. -p channels=64:128)"),
    (["--adaptive", "-p", "c=1:4", "--max-runs", "11"],
     "--max-runs 11 is less than the first pass (12 runs): give at least 12"),
    (["--adaptive", "-p", "c=1:4", "--max-minutes", "0"], "--max-minutes must be positive, not 0"),
    (["--adaptive", "-p", "c=1:4", "--max-minutes", "-1.5"], "--max-minutes must be positive, not -1.5"),
])
def test_adaptive_usage_errors(tmp_path, cli, args, message):
    if "-p" not in args:
        args = args + ["-p", "c=1:2"]
    names = [a.split("=")[0] for a in args[args.index("-p") + 1:args.index("-p") + 2]]
    command = ["--", "echo"] + ["{" + n + "}" for n in names]
    assert _usage_error(cli, tmp_path, "--dry-run", *args, *command) == f"cltrace: {message}\n"


def test_progress_in_a_log_is_plain_lines_and_a_summary(tmp_path, cli):
    """stderr captured (not a terminal): no bar cut off at an unknown width (`sweep ━━━━━ 102/1… 0:00…`), but
    whole `cltrace: sweep N/M runs` lines, one per tenth of the runs at most here, and a summary line."""
    p = cli("sweep", "-p", "c=1:4", "--repeat", "3", "--order", "sequential", "-o", "s.db", "--",
            PY, "-c", PROG, "{c}", "0", cwd=tmp_path)
    assert p.returncode == 1                      # c=3 fails, 3 times
    assert "\u2501" not in p.stderr and "\u2026" not in p.stderr
    lines = p.stderr.splitlines()
    progress = [ln for ln in lines if ln.startswith("cltrace: sweep ") and " runs (" in ln]
    assert [ln.split(",")[0] for ln in progress] == [f"cltrace: sweep {n}/12 runs ({100 * n // 12}%)"
                                                      for n in (2, 3, 4, 5, 6, 8, 9, 10, 11, 12)]   # tenths
    assert all(re.fullmatch(r"cltrace: sweep \d+/12 runs \(\d+%\), \d:\d\d:\d\d elapsed, eta \d:\d\d:\d\d; "
                            r"last: c=\d -> no device time", ln) for ln in progress), progress
    assert sum(ln.startswith("cltrace: failed c=3 (exit 5)") for ln in lines) == 3
    assert re.fullmatch(r"cltrace: sweep finished: 12/12 runs in \d:\d\d:\d\d, 3 failed", lines[-5]), lines
    assert lines[-4] == "cltrace: 12/12 runs recorded in s.db; 3 failed"
