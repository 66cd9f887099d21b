"""Integration tests: real processes under the real shim on PoCL."""
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROGRAMS = os.path.join(ROOT, "tests", "programs")
CLTRACE = [sys.executable, "-m", "cltrace.cli.main"]


@contextlib.contextmanager
def checkout_lock(name):
    """Serialise one step over the xdist workers (and concurrent runs) of this checkout: a `make` that two workers
    would otherwise run into the same output files at once."""
    tag = hashlib.sha1(ROOT.encode()).hexdigest()[:12]
    with open(os.path.join(tempfile.gettempdir(), f"cltrace-tests-{tag}-{name}.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def programs():
    """Path maker for the C test programs (built once per session)."""
    with checkout_lock("make-programs"):
        subprocess.run(["make", "-s", "-C", PROGRAMS], check=True)
    return lambda name: os.path.join(PROGRAMS, "bin", name)


@pytest.fixture(scope="session", autouse=True)
def _shim_built():
    from cltrace import native
    native.library(native.LAYER_LIB)   # raises with the build instructions when missing


def run_cli(*args, cwd=None, env=None, timeout=600):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(CLTRACE + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                       env=full_env, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.fixture(scope="session")
def cli():
    """cli(*args, cwd=, env=) -> CompletedProcess of `cltrace ARGS` (asserting no traceback)."""
    return run_cli


@pytest.fixture(scope="session")
def conv_bench():
    """examples/bin/conv_bench, built once per session."""
    if not shutil.which("make") or not shutil.which("cc"):
        pytest.skip("make and a C compiler are needed to build the examples")
    examples = os.path.join(ROOT, "examples")
    with checkout_lock("make-examples"):
        proc = subprocess.run(["make", "-C", examples], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return os.path.join(examples, "bin", "conv_bench")
