"""Shared test set-up: one PoCL kernel cache for the whole suite (first compiles are slow), and the order in which
`./dev test` hands the modules to its pytest-xdist workers (README: Two commands)."""
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

# An xdist worker starts with COLUMNS=80 (and LINES) in its environment, a serial run with neither: tests compare
# text that `cltrace report` lays out to $COLUMNS, so the workers' tests must see what a serial run's see.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


@pytest.fixture(scope="session", autouse=True)
def _own_tmpdir(tmp_path_factory):
    """A TMPDIR of this test process's own (each xdist worker's) for the processes the tests start: `cltrace run`
    names the captures of unfinished runs it finds in TMPDIR, and those a test leaves for a moment (test_faults kills
    a cltrace on purpose) must not show up in the exact output a test compares on the other worker, nor those of
    another checkout's tests (a killed run anywhere on the machine) in this one's."""
    tmp = tmp_path_factory.mktemp("tmpdir", numbered=False)
    old = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp)
    yield
    if old is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = old


# Modules that take longest, longest first (by their durations in a whole `./dev test` run: pyopencl's test subset
# run twice, real-timing sweeps, sweeps under qemu, the doc snippets' traces, the fault injections, ...), handed to
# the workers first so that none of them is left running alone at the end of a parallel run; the many short ones
# after them fill the end. Each worker is handed a second module while its first runs. test_acl's and
# test_network_acl's ACL tests wait for the ACL set-up that `./dev test` runs beside the first tests (about a minute
# on a fresh clone): they are not first.
LONG_FIRST = ("test_peer_pyopencl", "test_staircase_pocl", "test_doc_snippets", "test_acl", "test_faults",
              "test_network_acl", "test_network_opencv", "test_report_chunks", "test_analysis_staircase",
              "test_readme_commands", "test_sweep_cli", "test_sweep_records", "test_network", "test_cluster_sweep",
              "test_examples_traced", "test_demo", "test_soak", "test_fuzz_inputs", "test_portability",
              "test_device_level", "test_capture_robustness", "test_cluster_tls", "test_sweep_adaptive",
              "test_hardening", "test_lint", "test_sweep_block", "test_report_json", "test_cli_errors")


# Modules whose tests are long each (sweeps under qemu): their tests go to the workers one by one rather than as one
# module, except those of a group of TOGETHER, which go to one worker together, one after the other (in file order),
# as tests that share a module-scoped fixture must, or that run the same configurations (the second finds PoCL's
# kernels in its cache: under qemu, a cold compile is most of an ACL run).
ONE_BY_ONE = ("test_acl",)
TOGETHER = {"test_acl": [("test_acl_gemm_decisions_per_channel_count_and_target",
                          "test_acl_job_changes_named_at_every_pair_where_they_happen")]}


def _scope_of(nodeid):
    """The scheduling scope of a test in a ONE_BY_ONE module (`./dev test`'s --dist loadscope): the test itself or its
    TOGETHER group; None for the others (loadscope's own: their module, or class)."""
    path, _, test = nodeid.partition("::")
    module = os.path.splitext(os.path.basename(path))[0]
    if module not in ONE_BY_ONE:
        return None
    name = test.split("[", 1)[0]
    group = next((g for g in TOGETHER.get(module, ()) if name in g), None)
    return f"{path}::{group[0]}" if group else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadscope (what `./dev test` runs): whole modules to a worker, but ONE_BY_ONE's tests one by one."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return _scope_of(nodeid) or super()._split_scope(nodeid)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """The long modules first, the rest in collection order (`./dev test` hands whole modules to the xdist workers,
    --dist loadscope, in this order: --no-loadscope-reorder)."""
    def rank(item):
        name = os.path.splitext(os.path.basename(item.nodeid.split("::")[0]))[0]
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)
    items[:] = sorted(items, key=rank)
