"""Bad input: one clear line on stderr and a documented exit code, never a traceback."""
import os
import sqlite3
import subprocess
import sys

import pytest

CLTRACE = [sys.executable, "-m", "cltrace.cli.main"]


def cltrace(*args, cwd=None, env=None):
    p = subprocess.run(CLTRACE + list(args), capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def test_run_without_command(tmp_path):
    p = cltrace("run", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: no command given (usage: cltrace run [options] -- COMMAND [ARGS...])\n"


def test_run_without_double_dash(tmp_path):
    p = cltrace("run", "true", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: put '--' before the command to trace, e.g. cltrace run -- true\n"


def test_run_nothing_after_double_dash(tmp_path):
    p = cltrace("run", "--", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: no command given after '--' (usage: cltrace run [options] -- COMMAND [ARGS...])\n"


def test_run_command_not_found(tmp_path):
    p = cltrace("run", "--", "no-such-program-xyz", cwd=tmp_path)
    assert p.returncode == 127
    assert p.stderr == "cltrace: no-such-program-xyz: command not found\n"


def test_run_refuses_to_overwrite(tmp_path):
    (tmp_path / "trace.db").write_text("keep me")
    p = cltrace("run", "--", "true", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == "cltrace: trace.db already exists: use -f to overwrite it or --append to add to it\n"
    assert (tmp_path / "trace.db").read_text() == "keep me"


def test_run_output_not_writable(tmp_path):
    p = cltrace("run", "-o", str(tmp_path / "missing" / "t.db"), "--", "true", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == (f"cltrace: cannot write {tmp_path / 'missing' / 't.db'}: "
                        f"directory {tmp_path / 'missing'} does not exist\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_run_output_permission_denied(tmp_path):
    d = tmp_path / "ro"
    d.mkdir(mode=0o500)
    p = cltrace("run", "-o", str(d / "t.db"), "--", "true", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == f"cltrace: cannot write {d / 't.db'}: permission denied\n"


def test_report_missing_file(tmp_path):
    p = cltrace("report", "nope.db", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == "cltrace: nope.db: no such trace file\n"


def test_report_not_sqlite(tmp_path):
    (tmp_path / "x.db").write_text("hello, I am text\n" * 20)
    p = cltrace("report", "x.db", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == "cltrace: x.db is not a SQLite database\n"


def test_report_sqlite_but_not_cltrace(tmp_path):
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE t (a)")
    conn.commit()
    conn.close()
    p = cltrace("report", "other.db", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == "cltrace: other.db is a SQLite database but not a cltrace trace\n"


def test_report_newer_schema(tmp_path):
    from cltrace.store.db import create_db
    conn = create_db(str(tmp_path / "new.db"))
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    p = cltrace("report", "new.db", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == "cltrace: new.db was written by a newer cltrace (schema 99, this cltrace reads up to 4)\n"


def test_unknown_command_is_usage_error(tmp_path):
    p = cltrace("frobnicate", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("cltrace: argument COMMAND: invalid choice: 'frobnicate'")


def test_mistyped_command_and_option_get_a_suggestion(tmp_path):
    p = cltrace("reprot", "t.db", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == ("cltrace: argument COMMAND: invalid choice: 'reprot' (choose from 'run', 'sweep', 'report', "
                        "'plot', 'diff', 'export', 'devices', 'ingest', 'farm', 'network', 'network-map', "
                        "'network-predict'); did you mean 'report'?\n")
    p = cltrace("report", "t.db", "--budgte-ms", "3", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: unrecognized arguments: --budgte-ms 3; did you mean --budget-ms?\n"


def test_plot_into_a_missing_directory_is_one_line(tmp_path):
    from cltrace.store.db import create_db
    create_db(str(tmp_path / "t.db")).close()
    p = cltrace("plot", "t.db", "-o", str(tmp_path / "no" / "p.png"), cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == (f"cltrace: cannot write {tmp_path / 'no' / 'p.png'}: "
                        f"directory {tmp_path / 'no'} does not exist\n")


def test_sweep_without_params(tmp_path):
    p = cltrace("sweep", "--", "true", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: give at least one parameter with -p NAME=VALUES (e.g. -p channels=64:128)\n"


def test_sweep_unknown_placeholder(tmp_path):
    p = cltrace("sweep", "-p", "c=1:2", "--", "echo", "{d}", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: the command uses {d}, which is not a parameter (parameters: c)\n"


def test_bad_tag(tmp_path):
    p = cltrace("run", "--tag", "novalue", "--", "true", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == "cltrace: --tag expects key=value, got 'novalue'\n"


def test_devices_without_any_platform_says_so(tmp_path):
    import json
    import re
    env = dict(os.environ, OCL_ICD_VENDORS=str(tmp_path / "no-vendors"))
    p = cltrace("devices", env=env)
    assert p.returncode == 1
    # the loader's own words (call and error code) sit in the brackets: e.g. PLATFORM_NOT_FOUND_KHR
    first = " ".join(p.stdout.split("ICD loader:")[0].split())
    assert re.fullmatch(r"no OpenCL platform found \(clGetPlatformIDs failed: [A-Z_]+\): check that an ICD is "
                        r"installed \(Debian: apt-get install pocl-opencl-icd\) and listed in "
                        + re.escape(str(tmp_path / "no-vendors")), first), first
    j = cltrace("devices", "--format", "json", env=env)
    assert j.returncode == 1
    doc = json.loads(j.stdout)
    assert doc["platforms"] == [] and re.fullmatch(r"no OpenCL platform found \(clGetPlatformIDs failed: [A-Z_]+\)",
                                                   doc["problem"]), doc


@pytest.mark.parametrize("args, message", [
    (["--budget-ms", "nan"], "cltrace: --budget-ms must be a positive number of milliseconds, not nan\n"),
    (["--budget-ms", "inf"], "cltrace: --budget-ms must be a positive number of milliseconds, not inf\n"),
    (["--budget-ms", "-3"], "cltrace: --budget-ms must be a positive number of milliseconds, not -3\n"),
    (["--min", "nan"], "cltrace: --min must be a finite number, not nan\n"),
])
def test_report_refuses_budgets_that_are_not_numbers(tmp_path, args, message):
    p = cltrace("report", "t.db", *args, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == message
