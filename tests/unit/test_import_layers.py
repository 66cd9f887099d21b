"""The package's layers, read from the AST of every module: nothing below the CLI imports cltrace.cli (the
entry point cltrace/__main__.py aside), and cltrace.sweep (plan, point, engine, executors) and cltrace.cli form
no import circle."""
import ast
import os

import cltrace

PKG_DIR = os.path.dirname(os.path.abspath(cltrace.__file__))
ENTRY_POINTS = {"cltrace.__main__"}         # `python -m cltrace` is the CLI itself


def _modules():
    """module name -> path, for every .py file of the package."""
    out = {}
    for root, dirs, files in os.walk(PKG_DIR):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                rel = os.path.relpath(path, os.path.dirname(PKG_DIR))[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join(rel)] = path
    return out


def _imports(name, path, known):
    """The cltrace modules `name` imports (at any depth of the file: functions included)."""
    is_pkg = path.endswith("__init__.py")
    package = name if is_pkg else name.rpartition(".")[0]
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            if t == "cltrace" or t.startswith("cltrace."):
                while t and t not in known:          # `from .x import name`: the module is x
                    t = t.rpartition(".")[0]
                if t and t != name:
                    found.add(t)
    return found


MODULES = _modules()
GRAPH = {name: _imports(name, path, MODULES) for name, path in MODULES.items()}


def _in(name, package):
    return name == package or name.startswith(package + ".")


def test_the_walk_sees_the_package():
    assert "cltrace.cli.sweep" in GRAPH and "cltrace.sweep.engine" in GRAPH and "cltrace.sweep.farm" in GRAPH
    assert "cltrace.sweep.engine" in GRAPH["cltrace.cli.sweep"]        # the walk resolves relative imports


def test_nothing_below_the_cli_imports_the_cli():
    offenders = sorted(f"{name} imports {dep}" for name, deps in GRAPH.items() for dep in deps
                       if _in(dep, "cltrace.cli") and not _in(name, "cltrace.cli") and name not in ENTRY_POINTS)
    assert offenders == []


def test_no_import_circle_between_sweep_and_cli():
    """No module of cltrace.sweep reaches cltrace.cli through any chain of imports (so cli -> sweep is one way)."""
    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for dep in GRAPH.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    circles = sorted(f"{name} -> {dep}" for name in GRAPH if _in(name, "cltrace.sweep")
                     for dep in reach(name) if _in(dep, "cltrace.cli"))
    assert circles == []
    assert not any(_in(name, "cltrace.cluster") for name in GRAPH)     # the farm lives in cltrace.sweep now
