import argparse
import ast
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


# Modules that read a CLTRACE_* variable without the options module, each with its reason
RAW_READERS = {
    "region.py": "a leaf a traced Python program loads on its own: it imports nothing of cltrace",
    "capture/modes.py CLTRACE_REAL_LIBOPENCL": "asks whether `cltrace run --real-libopencl` was given (its flag "
                                               "settings), not the environment",
}


def _cltrace_constants(trees) -> dict:
    """NAME -> "CLTRACE_..." for every module-level NAME = "CLTRACE_..." of the package (by bare name, so that
    an imported constant such as emulation.SHIM_DIR_ENV resolves too)."""
    out = {}
    for tree in trees.values():
        for node in tree.body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str) and node.value.value.startswith("CLTRACE_")):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        out[t.id] = node.value.value
    return out


def raw_cltrace_reads(trees) -> list:
    """`file:line NAME` for every read of a CLTRACE_* variable from a mapping (os.environ, an env argument) or
    os.getenv that does not go through options.env_value / env_on: X.get(K), X[K] read, K in X, os.getenv(K),
    where K is a "CLTRACE_..." literal or a constant holding one. Writes (child_env[K] = ...) are no reads."""
    names = _cltrace_constants(trees)

    def key(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("CLTRACE_"):
            return node.value
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute):
            return names.get(node.attr)
        return None

    found = []
    for rel, tree in trees.items():
        for node in ast.walk(tree):
            k = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                if node.func.attr in ("get", "getenv", "pop", "setdefault") and not (
                        isinstance(node.func.value, ast.Name) and node.func.value.id in ("options", "self")):
                    k = key(node.args[0])
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                k = key(node.slice)
            elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                k = key(node.left)
            if k:
                found.append(f"{rel}:{node.lineno} {k}")
    return found


def _package_trees() -> dict:
    trees = {}
    for d, _, files in os.walk(PACKAGE_DIR):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                with open(path) as fh:
                    trees[os.path.relpath(path, PACKAGE_DIR)] = ast.parse(fh.read(), path)
    return trees


def test_no_module_outside_options_reads_a_cltrace_variable_itself():
    """Every CLTRACE_* read goes through options.env_value / env_on (the declared default, and a KeyError for an
    undeclared name), not os.environ.get or an env mapping's get."""
    trees = _package_trees()
    raw = [r for r in raw_cltrace_reads(trees) if r.split(":")[0] not in ("options.py", *RAW_READERS)
           and f"{r.split(':')[0]} {r.split(' ')[1]}" not in RAW_READERS]
    assert raw == []


def test_the_read_check_finds_each_way_of_reading():
    planted = ast.parse('import os\nX_ENV = "CLTRACE_PLANTED"\n'
                        'a = os.environ.get("CLTRACE_A")\nb = env.get(X_ENV)\nc = os.environ["CLTRACE_C"]\n'
                        'd = "CLTRACE_D" in os.environ\ne = os.getenv(mod.X_ENV)\nchild["CLTRACE_W"] = "written"\n')
    assert raw_cltrace_reads({"planted.py": planted}) == [
        "planted.py:3 CLTRACE_A", "planted.py:4 CLTRACE_PLANTED", "planted.py:5 CLTRACE_C", "planted.py:6 CLTRACE_D",
        "planted.py:7 CLTRACE_PLANTED"]
