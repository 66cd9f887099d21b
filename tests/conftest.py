"""Shared test set-up: one PoCL kernel cache for the whole suite (first compiles are slow), and the order in which
`./dev test` hands the modules to its pytest-xdist workers (README: Two commands)."""
import hashlib
import os
import shutil
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One cache for every test, every xdist worker and every process they start (PoCL writes its entries atomically).
os.environ.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
os.makedirs(os.environ["POCL_CACHE_DIR"], exist_ok=True)
# `cltrace sweep` sets CPU/GPU governors to performance where sysfs is writable (restoring them after):
# never from the test suite. An empty system root makes every sweep of the tests leave sysfs alone.
_SYSROOT = os.path.join(ROOT, ".pocl-cache", "empty-system-root")
os.makedirs(_SYSROOT, exist_ok=True)
os.environ.setdefault("CLTRACE_SYSTEM_ROOT", _SYSROOT)

# Each test process (each xdist worker, and the controller) has a TMPDIR of its own: `cltrace run` names the captures
# of unfinished runs it finds in TMPDIR, and those a test leaves for a moment (test_faults kills a cltrace on purpose)
# must not show up in a test on the other worker, nor those of another checkout's tests in this one's.
_TMP = os.path.join(tempfile.gettempdir(), "tests-cltrace-%s-%s" % (hashlib.sha1(ROOT.encode()).hexdigest()[:12],
                                                                     os.environ.get("PYTEST_XDIST_WORKER", "main")))
os.makedirs(_TMP, exist_ok=True)
os.environ["TMPDIR"] = tempfile.tempdir = _TMP


def _remove_leftover_captures():
    """The captures a killed run of an earlier session left in this TMPDIR (their cltrace is gone)."""
    from cltrace.capture.leftovers import find_leftovers
    for left in find_leftovers(_TMP):
        shutil.rmtree(left["dir"], ignore_errors=True)


_remove_leftover_captures()

# Modules that take longest (pyopencl's test subset run twice, real-timing sweeps, sweeps under qemu, a wheel build,
# the demo), handed to the workers first so that none of them is left running alone at the end of a parallel run.
# Each worker is handed a second module while its first runs: the third here is a short one, which waits behind the
# longest. test_acl's ACL tests wait for the ACL set-up that `./dev test` runs beside the first tests.
LONG_FIRST = ("test_peer_pyopencl", "test_staircase_pocl", "test_cli_errors", "test_acl", "test_portability",
              "test_readme_commands", "test_demo", "test_soak", "test_doc_snippets", "test_cluster_sweep",
              "test_network", "test_cluster_tls", "test_sweep_records", "test_faults")


def pytest_collection_modifyitems(config, items):
    """The long modules first, the rest in collection order (`./dev test` hands whole modules to the xdist workers,
    --dist loadscope, in this order: --no-loadscope-reorder)."""
    def rank(item):
        name = os.path.splitext(os.path.basename(item.nodeid.split("::")[0]))[0]
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)
    items[:] = sorted(items, key=rank)
