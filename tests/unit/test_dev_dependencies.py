"""./dev installs the Python dependencies setup.py declares, and holds no list of its own."""
import os
import re
import subprocess
import sys
from unittest import mock

import setuptools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _declared():
    """install_requires + the test extra, as setup.py's own setup() call passes them (setup() not run)."""
    seen = {}
    with mock.patch.object(setuptools, "setup", lambda **kw: seen.update(kw)):
        code = compile(open(os.path.join(ROOT, "setup.py")).read(), "setup.py", "exec")
        exec(code, {"__file__": os.path.join(ROOT, "setup.py"), "__name__": "setup_under_test"})
    return seen["install_requires"] + seen["extras_require"]["test"]


def test_dev_reads_the_dependencies_from_setup_py():
    function = re.search(r"^python_dependencies\(\) \{\n.*?^\}\n", open(os.path.join(ROOT, "dev")).read(),
                         re.S | re.M).group(0)
    out = subprocess.run(["bash", "-c", function + "python_dependencies"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, PY=sys.executable), check=True).stdout
    assert out.splitlines() == _declared()
    assert "import-linter" in out.splitlines()          # tests/unit/test_import_layers.py needs it


def test_dev_names_no_dependency_itself():
    """Every `pip install` line of ./dev installs the build tools, the list read from setup.py, or the package."""
    with open(os.path.join(ROOT, "dev")) as f:
        installs = [ln.strip() for ln in f if "pip install" in ln and not ln.lstrip().startswith("#")
                    and "say " not in ln]
    assert installs == ['"$PY" -m pip install "${PIP[@]}" --upgrade pip setuptools wheel',
                        '"$PY" -m pip install "${PIP[@]}" "${reqs[@]}" &',
                        '"$PY" -m pip install "${PIP[@]}" --no-build-isolation --no-deps -e .']
    # the options every install shares name no package, and keep pip's compiling of .pyc files (with
    # PYTHONDONTWRITEBYTECODE set, nothing else writes them: every process would compile its imports again)
    assert re.search(r"^PIP=\((.*)\)$", open(os.path.join(ROOT, "dev")).read(), re.M).group(1).split() == ["-q"]
