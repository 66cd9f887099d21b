"""pytest fixtures for testing OpenCL dispatch (registered through the `pytest11` entry point).

    def test_my_kernel(cl_queue):            # pyopencl CommandQueue on the PoCL CPU device
        ...

    def test_dispatch(cltrace_run):
        trace = cltrace_run(["./my_prog", "--n", "64"])
        assert list(trace.launches.kernel_name) == ["scale"] * 64

Choose another platform with `--cltrace-platform SUBSTRING` or CLTRACE_TEST_PLATFORM.
"""
import os
import sys
from typing import Optional, Sequence

import pytest

from .options import env_value

DEFAULT_PLATFORM = "Portable Computing Language"


def pytest_addoption(parser):
    group = parser.getgroup("cltrace")
    group.addoption("--cltrace-platform", default=None,
                    help=f"OpenCL platform name substring for cl_device (default: {DEFAULT_PLATFORM!r})")


def _wanted_platform(config) -> str:
    return config.getoption("--cltrace-platform") or env_value("CLTRACE_TEST_PLATFORM") or DEFAULT_PLATFORM


def find_device(platform_substring: str):
    """(device, reason): the first CPU (else any) device of the first matching platform."""
    try:
        import pyopencl as cl
    except ImportError as e:
        return None, f"pyopencl is not importable: {e}"
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        return None, "no OpenCL platform found (install an ICD such as Debian's pocl-opencl-icd)"
    matching = [p for p in platforms if platform_substring.lower() in p.name.lower()]
    if not matching:
        names = ", ".join(p.name for p in platforms) or "none"
        return None, f"no OpenCL platform matching {platform_substring!r} (platforms: {names})"
    for p in matching:
        for kind in (cl.device_type.CPU, cl.device_type.ALL):
            try:
                devices = p.get_devices(device_type=kind)
            except cl.Error:
                continue
            if devices:
                return devices[0], ""
    return None, f"platform {platform_substring!r} has no devices"


@pytest.fixture(scope="session")
def cl_device(pytestconfig):
    """A pyopencl Device on the PoCL CPU platform; the test is skipped, with the reason, when none."""
    device, reason = find_device(_wanted_platform(pytestconfig))
    if device is None:
        pytest.skip(reason)
    return device


@pytest.fixture(scope="session")
def cl_context(cl_device):
    import pyopencl as cl
    return cl.Context([cl_device])


@pytest.fixture
def cl_queue(cl_context):
    """A fresh in-order queue with profiling enabled."""
    import pyopencl as cl
    queue = cl.CommandQueue(cl_context, properties=cl.command_queue_properties.PROFILING_ENABLE)
    yield queue
    queue.finish()


class CltraceRunner:
    """Callable behind the `cltrace_run` fixture; keeps every trace it made in one temp dir."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    def __call__(self, cmd: Sequence[str], mode: str = "auto", tags: Optional[dict] = None,
                 env: Optional[dict] = None, settings: Optional[dict] = None, cwd: Optional[str] = None,
                 expect_exit: Optional[int] = 0, output: Optional[str] = None):
        """Run cmd under the shim; return its Trace. `trace.exit_status` holds the program's status.
        expect_exit (default 0) is asserted unless None."""
        from .record.session import trace_into
        from .store.db import create_db
        from .trace import open as open_trace

        if isinstance(cmd, str):
            cmd = [cmd]
        self.count += 1
        path = output or os.path.join(str(self.directory), f"trace{self.count}.db")
        conn = create_db(path)
        try:
            full_env = dict(os.environ)
            full_env.update(env or {})
            traced = trace_into(conn, list(cmd), mode=mode, settings=settings, tags=tags, env=full_env, cwd=cwd)
        finally:
            conn.close()
        if expect_exit is not None:
            assert traced.child.exit_status == expect_exit, (
                f"{cmd!r} exited with {traced.child.exit_status}, expected {expect_exit}")
        trace = open_trace(path)
        trace.exit_status = traced.child.exit_status
        trace.ingest_stats = traced.stats
        return trace


@pytest.fixture
def cltrace_run(tmp_path):
    """Run a command under the cltrace shim in a temp dir and get its Trace back."""
    return CltraceRunner(tmp_path)


def python_command(code: str) -> list:
    """argv running `code` with this interpreter (handy with cltrace_run)."""
    return [sys.executable, "-c", code]
