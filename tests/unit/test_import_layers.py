"""The package's layers (docs/architecture.md): import-linter's contracts in .importlinter hold (every module
imports only downwards; no circle between the modules of any package), grimp's module graph has no import
circle at all, and nothing inside the package imports the package facade (cltrace/__init__.py).

The graph counts imports at any depth of a file (function-level ones included), as import-linter does."""
import configparser
import os
import re
import subprocess
import sys

import grimp
import pytest
from importlinter import configuration as importlinter_configuration
from importlinter.application import use_cases

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, ".importlinter")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("cltrace", include_external_packages=False, cache_dir=None)


def _layers():
    """The contract's layers, top first, each a set of independent top-level modules."""
    cp = configparser.ConfigParser()
    cp.read(CONFIG)
    lines = [ln.strip() for ln in cp["importlinter:contract:layers"]["layers"].splitlines() if ln.strip()]
    return [{m.strip() for m in ln.split("|")} for ln in lines]


def _circles(g):
    """Strongly connected components of more than one module (Tarjan, iterative), each sorted."""
    adj = {m: sorted(g.find_modules_directly_imported_by(m)) for m in sorted(g.modules)}
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in adj:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on.add(v)
            for j in range(i, len(adj[v])):
                w = adj[v][j]
                if w not in index:
                    work += [(v, j + 1), (w, 0)]
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
    return sorted(out)


def test_the_graph_sees_the_package_and_resolves_relative_imports(graph):
    assert {"cltrace.cli.sweep", "cltrace.sweep.engine", "cltrace.record.session", "cltrace.store.db"} <= graph.modules
    assert "cltrace.sweep.engine" in graph.find_modules_directly_imported_by("cltrace.cli.sweep")
    assert "cltrace.store.migrate" in graph.find_modules_directly_imported_by("cltrace.store.db")
    # a function-level import counts: trace.py imports the analysis inside its methods only
    assert "cltrace.analysis.samples" in graph.find_modules_directly_imported_by("cltrace.trace")


def test_import_linter_contracts_hold(capsys):
    """Both contracts of .importlinter: the layer order (exhaustive: every top-level module is placed) and no
    circle between siblings at any depth."""
    importlinter_configuration.configure()            # what its command line does first (no logging set-up)
    passed = use_cases.lint_imports(config_filename=CONFIG, cache_dir=None, no_logo=True)
    out = capsys.readouterr().out
    assert passed, out
    assert "Contracts: 2 kept, 0 broken." in out


def test_the_layers_are_the_documented_ones():
    """docs/architecture.md's table lists the contract's layers, in the contract's order."""
    with open(os.path.join(ROOT, "docs", "architecture.md")) as f:
        doc = f.read()
    rows = [ln for ln in doc.splitlines() if ln.startswith("| `cltrace/")]
    documented = []
    for row in rows:
        first_cell = row[2:].split(" | ")[0]                 # `a` \| `b` (extra words): one layer
        spans = [re.search(r"`([^`]+)`", part).group(1) for part in first_cell.split("\\|")]
        documented.append({os.path.basename(s).removesuffix(".py") for s in spans})
    assert documented == _layers()


def test_no_import_circle_anywhere(graph):
    assert _circles(graph) == []


def test_the_circle_check_finds_a_circle(graph):
    """The check is real: one back-import (migrate -> db, as it was) is found as a circle."""
    graph.add_import(importer="cltrace.store.migrate", imported="cltrace.store.db")
    try:
        assert ["cltrace.store.db", "cltrace.store.migrate"] in _circles(graph)
    finally:
        graph.remove_import(importer="cltrace.store.migrate", imported="cltrace.store.db")


def test_the_layer_check_finds_a_back_arrow(graph):
    """The layer order is real: a store module importing the analysis (launch_layout.py did) is illegal."""
    layers = [grimp.Layer(*sorted(layer), independent=True) for layer in _layers()]
    assert graph.find_illegal_dependencies_for_layers(layers=layers, containers={"cltrace"}) == set()
    graph.add_import(importer="cltrace.store.launch_layout", imported="cltrace.analysis.launch_codes")
    try:
        illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"cltrace"})
        assert {(d.importer, d.imported) for d in illegal} == {("cltrace.store", "cltrace.analysis")}
    finally:
        graph.remove_import(importer="cltrace.store.launch_layout", imported="cltrace.analysis.launch_codes")


def test_nothing_inside_imports_the_package_facade(graph):
    """cltrace/__init__.py is the public API (cltrace.open, cltrace.region); a module that needs the version
    imports cltrace._version, so no layer loads the facade (and, through it, cltrace.trace)."""
    assert sorted(graph.find_modules_that_directly_import("cltrace")) == []


def test_the_cli_parser_loads_no_pandas():
    """Every command builds the whole parser first (cltrace run, cltrace --version): the layers it reaches then
    (the sweep engine, record, store, capture) must stay light, pandas and the analysis proper left for later."""
    code = ("import sys\nfrom cltrace.cli.main import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib', 'cltrace.trace', 'cltrace.analysis.samples')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
