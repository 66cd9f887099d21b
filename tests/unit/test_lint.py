"""The code's habits, checked with the suite (so by `./dev test` and CI): ruff over the repository's Python
(ruff.toml) and mypy over cltrace/analysis and cltrace/store (mypy.ini). A finding fails the test
with the tool's own report (file:line: code message) in the assertion. `./dev lint` runs the same two commands.
Both tools come with setup.py's test extra; a missing one fails here rather than skipping, so CI cannot go
green without the checks."""
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUFF = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise"]
MYPY = [sys.executable, "-m", "mypy", "--cache-dir", os.path.join(ROOT, ".mypy_cache")]
LINTED = ["."]                  # the repository, less ruff.toml's extend-exclude (.venv, .sanitize, ...)
TYPED = ["cltrace/analysis", "cltrace/store"]


def _run(cmd, cwd=ROOT):
    tool = cmd[2]
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed: pip install -e '.[test]' (./dev test installs it)")
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    p = _run(RUFF + LINTED)
    assert p.returncode == 0, f"ruff check {' '.join(LINTED)}: {p.returncode}\n{p.stdout}{p.stderr}"


def test_mypy_is_clean_on_analysis_and_store():
    p = _run(MYPY + TYPED)
    assert p.returncode == 0, f"mypy {' '.join(TYPED)}: {p.returncode}\n{p.stdout}{p.stderr}"


def test_the_checks_report_a_finding(tmp_path):
    """The configurations are the ones read (ruff.toml's rules, mypy.ini), and a finding is a failure."""
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f(x: int) -> str:\n    return x\n")
    r = _run(RUFF + ["--config", os.path.join(ROOT, "ruff.toml"), str(bad)])
    assert r.returncode == 1
    assert f"{bad}:1:8: F401 [*] `os` imported but unused" in r.stdout
    # a cache of its own: under pytest-xdist the tree's mypy run may be writing .mypy_cache at the same time
    m = _run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache"),
              "--config-file", os.path.join(ROOT, "mypy.ini"), str(bad)])
    assert m.returncode == 1
    assert (f'{bad}:5: error: Incompatible return value type (got "int", expected "str")  [return-value]'
            in m.stdout)
