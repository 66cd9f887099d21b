import argparse
import os
import re

import pytest

from cltrace.cli.shim_options import add_shim_options, shim_settings
from cltrace.native import PACKAGE_DIR, shipped_file
from cltrace.options import PYTHON, SHIM, all_options, by_env, env_on, env_value


def test_every_entry_of_the_def_file_is_parsed():
    lines = [line for line in open(shipped_file("cltrace_options.def")) if line.startswith("CLT_OPTION(")]
    py_lines = [line for line in open(shipped_file("cltrace_options.def")) if line.startswith("CLT_PY_OPTION(")]
    assert len([o for o in all_options() if o.reader == SHIM]) == len(lines) >= 5
    assert len([o for o in all_options() if o.reader == PYTHON]) == len(py_lines) >= 2
    assert all(re.match(r"CLTRACE_[A-Z0-9_]+$", o.env) for o in all_options())
    assert len({o.env for o in all_options()}) == len(all_options())
    assert all(not o.user_facing for o in all_options() if o.reader == PYTHON)


def _names_in_the_package():
    """Every full CLTRACE_* name a Python file of cltrace/ spells out (a prefix such as "CLTRACE_" is not one)."""
    found = {}
    for d, _, files in os.walk(PACKAGE_DIR):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                with open(path) as fh:
                    for name in re.findall(r"\bCLTRACE_[A-Z0-9_]*[A-Z0-9]\b", fh.read()):
                        found.setdefault(name, os.path.relpath(path, PACKAGE_DIR))
    return found


def test_every_variable_cltrace_names_is_declared_once_in_the_def_file():
    declared = {o.env for o in all_options()}
    undeclared = {n: where for n, where in _names_in_the_package().items() if n not in declared}
    assert not undeclared, f"CLTRACE_* variables missing from native/cltrace_options.def: {undeclared}"


def test_every_python_entry_is_used():
    used = _names_in_the_package()
    assert [o.env for o in all_options() if o.reader == PYTHON and o.env not in used] == []


def test_python_variables_read_with_their_declared_default_and_the_shims_bool_rule():
    assert by_env("CLTRACE_NATIVE_STORE").default == "1"
    assert env_on("CLTRACE_NATIVE_STORE", {}) is True
    assert env_on("CLTRACE_NATIVE_STORE", {"CLTRACE_NATIVE_STORE": ""}) is True
    for off in ("0", "false", "No", "OFF"):
        assert env_on("CLTRACE_NATIVE_SCAN", {"CLTRACE_NATIVE_SCAN": off}) is False
    assert env_on("CLTRACE_NATIVE_SCAN", {"CLTRACE_NATIVE_SCAN": "1"}) is True
    assert env_value("CLTRACE_SYSTEM_ROOT", {}) == ""
    assert env_value("CLTRACE_SYSTEM_ROOT", {"CLTRACE_SYSTEM_ROOT": "/tmp/x"}) == "/tmp/x"
    with pytest.raises(KeyError, match="CLTRACE_NOT_DECLARED"):
        env_value("CLTRACE_NOT_DECLARED", {})


def test_python_variables_are_no_capture_flags():
    p = argparse.ArgumentParser()
    add_shim_options(p)
    text = p.format_help()
    assert "CLTRACE_NATIVE_STORE" not in text and "CLTRACE_TIMING" in text
    assert "CLTRACE_NATIVE_STORE" not in shim_settings(p.parse_args([]))


def test_flags_map_to_environment():
    p = argparse.ArgumentParser()
    add_shim_options(p)
    assert shim_settings(p.parse_args([])) == {}
    s = shim_settings(p.parse_args(["--no-timing", "--chunk-kb", "64", "--debug"]))
    assert s == {"CLTRACE_TIMING": "0", "CLTRACE_CHUNK_KB": "64", "CLTRACE_DEBUG": "1"}


def test_help_comes_from_the_table():
    p = argparse.ArgumentParser()
    add_shim_options(p)
    text = p.format_help()
    for o in all_options():
        if o.user_facing:
            assert o.env in text
