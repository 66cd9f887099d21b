"""Shared test set-up: one PoCL kernel cache for the whole suite (first compiles are slow), and the grouping that
lets `./dev test` run the suite on parallel pytest-xdist workers (docs/testing.md)."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One cache for every test, every xdist worker and every process they start (PoCL writes its entries atomically).
os.environ.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
os.makedirs(os.environ["POCL_CACHE_DIR"], exist_ok=True)
# `cltrace sweep` sets CPU/GPU governors to performance where sysfs is writable (restoring them after):
# never from the test suite. An empty system root makes every sweep of the tests leave sysfs alone.
_SYSROOT = os.path.join(ROOT, ".pocl-cache", "empty-system-root")
os.makedirs(_SYSROOT, exist_ok=True)
os.environ.setdefault("CLTRACE_SYSTEM_ROOT", _SYSROOT)

# Modules that take longest (pyopencl's test subset run twice, real-timing sweeps, a wheel build, the demo, sweeps
# under qemu), handed to the workers first so that none of them is left running alone at the end of a parallel run.
# test_acl comes third: its first test is short (each worker starts with two units of work, and the first one is
# long), and its ACL tests wait for the ACL set-up that `./dev test` runs beside the first tests.
LONG_FIRST = ("test_peer_pyopencl", "test_staircase_pocl", "test_acl", "test_portability", "test_readme_commands",
              "test_demo", "test_soak", "test_doc_snippets", "test_cluster_sweep", "test_network", "test_cluster_tls",
              "test_sweep_records", "test_faults")


def pytest_configure(config):
    # defined by pytest-xdist; declared here too so that a run without xdist knows the mark
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker, one after another")


def _shares_module_state(item):
    """True when the test uses a fixture that lives longer than one test but not the session (module or class
    scope): under `--dist loadgroup` the tests of that module must stay on one worker, or each worker would build
    the fixture again."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope in ("module", "class", "package") for defs in info.name2fixturedefs.values())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Group each module whose tests share a module-scoped fixture (one xdist worker runs them in order, the
    fixture once); other tests spread one by one. Then put the long modules first (stable otherwise)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _shares_module_state(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))

    def rank(item):
        name = os.path.splitext(os.path.basename(item.nodeid.split("::")[0]))[0]
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)
    items[:] = sorted(items, key=rank)
