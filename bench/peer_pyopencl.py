"""Transparency under a peer's test suite: pyopencl's own tests, untraced vs under `cltrace run`.

    python bench/peer_pyopencl.py [--subset] [--mode layer|preload|both] [--workdir DIR]
                                  [-k EXPR] [--timeout S] [--json PATH] [--keep-going]

What it does:
  1. Fetches the sdist of the *installed* pyopencl version into the work dir (once; reruns are
     offline):  pip download --no-deps --no-binary pyopencl pyopencl==VERSION -d WORKDIR
     (`--no-binary :all:` would also force pip to build pyopencl's build dependencies -- numpy --
     from source just to read the sdist's metadata, which takes minutes and fails here.)
  2. Extracts only the sdist's test/ directory (WORKDIR/pyopencl-VERSION-test/test), so the sdist's
     pyopencl/ source tree is nowhere near sys.path: pytest runs from the extracted test dir and must
     import the INSTALLED pyopencl (checked: pyopencl.__file__ is printed and must not lie in WORKDIR).
  3. The suite's test-only dependency Mako (pyopencl[test]) is pip-installed into WORKDIR/site-pyX.Y
     when the interpreter lacks it and put on PYTHONPATH (the project venv is left alone).
  4. Runs  python -m pytest -p no:cacheprovider -q --junitxml=... test_*.py  once plainly and once
     per mode as  cltrace run --mode M -q -f -o WORKDIR/trace-M.db -- python -m pytest ...
     with PYOPENCL_TEST=portable (pyopencl.tools.pytest_generate_tests_for_pyopencl parametrizes
     every test over the platforms/devices matching PYOPENCL_TEST; "portable" matches
     "Portable Computing Language", i.e. PoCL). An existing PYOPENCL_TEST is kept.
  5. Parses each JUnit XML into {test id: passed|failed|error|skipped|xfailed}, prints the counts,
     wall times, launches recorded per traced run, and every test whose outcome differs (or that is
     skipped/xfailed for a different reason), with the traced failure text.

Exit status: 0 all outcomes identical; 1 some test differs; 2 a run could not be compared
(pytest crashed or timed out, no JUnit XML, or a traced run recorded no launch, which would make
the comparison vacuous); 3 the sdist or the test dependencies could not be fetched (no network).

--subset runs a representative slice for CI (~65 s for both runs on 2 cores with a cold PoCL kernel cache,
78 tests, 168 launches traced): test_wrapper.py, test_enqueue_copy.py, test_arrays_in_structs.py,
test_clrandom.py and part of test_algorithm.py. The capture paths it exercises: API wrappers and get_info,
buffer/rect/SVM copies, coarse and fine-grain SVM arguments, events, user events and callbacks, a threaded event
nanny, out-of-order queues, compile/link and program binaries, global offsets and empty NDRanges, struct
arguments, element-wise kernels, reductions (plain, struct, not-first-argument), one multi-kernel scan (inclusive
int32) and RNG. It leaves out the slowest test functions (bitonic sorts, segmented scan, list builders) and
further variants of the paths it keeps (the other scan kinds and types, the scan-built unique/copy_if/partition/
scan_with_vectorargs, min/max reductions, take_put), and test_array.py / test_clmath.py. Chosen from per-test
JUnit times of a full run.
"""
import argparse
import collections
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_WORKDIR = os.path.join(ROOT, ".venv", "peer-cache")

EXIT_OK, EXIT_DIFF, EXIT_BROKEN, EXIT_FETCH = 0, 1, 2, 3

# Files (relative to the sdist's test/) and -k expression of --subset (see the module docstring).
# Alphabetical, like the full run: the suite is order-dependent (test_array.py registers the
# struct dtype of test_algorithm.py::test_struct_reduce as "mmc_type" first, and that test then fails
# to build with "unknown type name 'mmc_type'").
SUBSET_FILES = ["test_algorithm.py", "test_arrays_in_structs.py", "test_clrandom.py", "test_enqueue_copy.py",
                "test_wrapper.py"]
SUBSET_K = ("not (bitonic or absrealimag or mix_complex or segmented_scan or bitwise"
            " or if_positive_with_scalars or key_value_sorter or list_builder or divide_scalar"
            " or test_dot or test_sort or dtype_conversions or divide_inplace_array or comparisons"
            " or index_preservation"
            # more variants of paths the subset keeps (one scan, the plain reductions): scans with other
            # types/kinds and the scan-built algorithms, min/max reductions, take_put
            " or ExclusiveScanKernel or InclusiveScanKernel-int64 or scan_with_vectorargs or unique or copy_if"
            " or partition or minmax or take_put)")

OUTCOMES = ["passed", "failed", "error", "skipped", "xfailed"]


def log(msg):
    print(msg, flush=True)


def installed_version(python):
    out = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.version('pyopencl'))"],
                         capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        sys.exit(f"pyopencl is not installed for {python}:\n{out.stderr}")
    return out.stdout.strip()


def fetch_sdist(python, version, workdir):
    """Path of pyopencl-VERSION.tar.gz in workdir, downloading it once. None if it cannot be had."""
    name = f"pyopencl-{version}.tar.gz"
    path = os.path.join(workdir, name)
    if os.path.exists(path):
        return path
    log(f"[peer] downloading the pyopencl {version} sdist into {workdir}")
    cmd = [python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", "pyopencl",
           f"pyopencl=={version}", "-d", workdir]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        log("[peer] pip download timed out")
        return None
    if p.returncode != 0 or not os.path.exists(path):
        log(f"[peer] {' '.join(cmd)} failed (rc {p.returncode}):\n{(p.stdout + p.stderr)[-3000:]}")
        return None
    return path


def extract_tests(sdist, version, workdir):
    """Extract only <sdist>/test/ to WORKDIR/pyopencl-VERSION-test/test; return that dir."""
    base = os.path.join(workdir, f"pyopencl-{version}-test")
    testdir = os.path.join(base, "test")
    stamp = os.path.join(base, ".complete")
    if os.path.exists(stamp):
        return testdir
    shutil.rmtree(base, ignore_errors=True)
    prefix = f"pyopencl-{version}/test/"
    with tarfile.open(sdist) as tf:
        members = []
        for m in tf.getmembers():
            if not m.name.startswith(prefix) or not (m.isfile() or m.isdir()):
                continue
            rel = m.name[len(prefix):]
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                continue
            m.name = "test/" + rel
            members.append(m)
        if not any(m.name.endswith(".py") for m in members):
            sys.exit(f"{sdist} has no {prefix}*.py")
        tf.extractall(base, members=members)
    open(stamp, "w").close()
    return testdir


def test_deps_path(python, workdir):
    """PYTHONPATH entry giving the suite's test-only deps (Mako), or '' if the interpreter has them.
    None if they are missing and cannot be installed."""
    have = subprocess.run([python, "-c", "import mako"], capture_output=True, cwd="/").returncode == 0
    if have:
        return ""
    pyver = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                           capture_output=True, text=True).stdout.strip()
    site = os.path.join(workdir, f"site-py{pyver}")
    if not os.path.exists(os.path.join(site, "mako")):
        log(f"[peer] installing Mako (pyopencl[test] dependency) into {site}")
        p = subprocess.run([python, "-m", "pip", "install", "-q", "--target", site, "mako"],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            log(f"[peer] pip install --target {site} mako failed:\n{(p.stdout + p.stderr)[-3000:]}")
            shutil.rmtree(site, ignore_errors=True)
            return None
    return site


def base_env(deps_path):
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    os.makedirs(env["POCL_CACHE_DIR"], exist_ok=True)
    env.setdefault("PYOPENCL_TEST", "portable")
    # Nothing of ours (and nothing of the sdist) on the path: only the test-deps dir if needed.
    env.pop("PYTHONPATH", None)
    if deps_path:
        env["PYTHONPATH"] = deps_path
    env.pop("PYTEST_ADDOPTS", None)
    for k in [k for k in env if k.startswith("CLTRACE_")]:
        env.pop(k)
    env.pop("OPENCL_LAYERS", None)
    return env


def check_import(python, testdir, workdir, env):
    code = ("import pyopencl, pyopencl.tools as t; print(pyopencl.__file__); "
            "print(pyopencl.VERSION_TEXT); "
            "print('; '.join(p.name + ': ' + ', '.join(d.name for d in ds) "
            "for p, ds in t.get_test_platforms_and_devices()))")
    p = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=testdir, env=env)
    if p.returncode != 0:
        sys.exit(f"importing pyopencl from {testdir} failed:\n{p.stderr}")
    path, vtext, devices = p.stdout.strip().splitlines()[:3]
    real = os.path.realpath(path)
    if real.startswith(os.path.realpath(workdir) + os.sep):
        sys.exit(f"pytest would import pyopencl from the sdist ({path}), not the installed package")
    return path, vtext, devices


def pytest_cmd(python, testdir, junit, targets, kexpr):
    cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", "--tb=short",
           "--rootdir", testdir, "-o", "markers=bitonic: tests involving bitonic sort",
           f"--junitxml={junit}"]
    if kexpr:
        cmd += ["-k", kexpr]
    return cmd + targets


def run_suite(label, cmd, cwd, env, timeout, logpath):
    log(f"[peer] {label}: {' '.join(cmd)}")
    t0 = time.monotonic()
    with open(logpath, "w") as lf:
        try:
            p = subprocess.run(cmd, cwd=cwd, env=env, stdout=lf, stderr=subprocess.STDOUT,
                               timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.monotonic() - t0
    with open(logpath) as lf:
        tail = lf.read()[-600:].strip().splitlines()
    summary = tail[-1] if tail else ""
    log(f"[peer] {label}: rc {rc}, {wall:.1f} s, {summary}")
    return rc, wall


def parse_junit(path):
    """{test id: (outcome, message)} from a pytest JUnit XML file."""
    results = {}
    root = ET.parse(path).getroot()
    for tc in root.iter("testcase"):
        cls, name = tc.get("classname", ""), tc.get("name", "")
        tid = f"{cls.replace('.', '/')}.py::{name}" if cls else name
        kinds = {child.tag: child for child in tc}
        msg = ""
        if "error" in kinds and "failure" in kinds:
            outcome, el = "failed+error", kinds["failure"]
        elif "error" in kinds:
            outcome, el = "error", kinds["error"]
        elif "failure" in kinds:
            outcome, el = "failed", kinds["failure"]
        elif "skipped" in kinds:
            el = kinds["skipped"]
            outcome = "xfailed" if el.get("type") == "pytest.xfail" else "skipped"
        else:
            outcome, el = "passed", None
        if el is not None:
            msg = (el.get("message") or "") + "\n" + (el.text or "")
        key, n = tid, 1
        while key in results:          # never silently merge two testcases
            n += 1
            key = f"{tid}#{n}"
        results[key] = (outcome, msg.strip())
    return results


def count(results):
    c = collections.Counter(o for o, _ in results.values())
    return {k: c.get(k, 0) for k in OUTCOMES + sorted(set(c) - set(OUTCOMES))}


def trace_summary(db):
    """(launches, capture modes, processes, processes without a clean shim exit) of a trace."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            n = con.execute("SELECT COUNT(*) FROM launches").fetchone()[0]
            modes = sorted({r[0] for r in con.execute("SELECT mode FROM processes") if r[0]})
            nproc, unclean = con.execute(
                "SELECT COUNT(*), SUM(COALESCE(clean_exit, 0) = 0) FROM processes").fetchone()
            return n, modes, nproc, unclean or 0
        finally:
            con.close()
    except sqlite3.Error as e:
        log(f"[peer] cannot read {db}: {e}")
        return None, [], 0, 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", action="store_true", help="a representative subset (a few minutes)")
    ap.add_argument("--mode", choices=["layer", "preload", "both"], default="both")
    ap.add_argument("--workdir", default=DEFAULT_WORKDIR,
                    help=f"sdist cache, extracted tests, JUnit files, traces (default {DEFAULT_WORKDIR})")
    ap.add_argument("-k", dest="kexpr", default=None, help="pytest -k expression (replaces the subset's)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per pytest run (default 3600)")
    ap.add_argument("--json", default=None, help="also write the results here as JSON")
    ap.add_argument("--python", default=sys.executable, help="interpreter with the installed pyopencl")
    ap.add_argument("files", nargs="*", help="test files/ids relative to the sdist's test/ (default: all)")
    args = ap.parse_args(argv)

    python = args.python
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    version = installed_version(python)
    sdist = fetch_sdist(python, version, workdir)
    if sdist is None:
        log("[peer] FETCH FAILED: the pyopencl sdist could not be downloaded (no network?)")
        return EXIT_FETCH
    testdir = extract_tests(sdist, version, workdir)
    deps = test_deps_path(python, workdir)
    if deps is None:
        log("[peer] FETCH FAILED: Mako (a pyopencl test dependency) could not be installed")
        return EXIT_FETCH
    env = base_env(deps)
    pyo_path, vtext, devices = check_import(python, testdir, workdir, env)
    log(f"[peer] pyopencl {version} ({vtext}) imported from {pyo_path}")
    log(f"[peer] PYOPENCL_TEST={env['PYOPENCL_TEST']} -> {devices}")

    if args.files:
        targets = list(args.files)
    elif args.subset:
        targets = list(SUBSET_FILES)
    else:
        targets = sorted(f for f in os.listdir(testdir) if f.startswith("test_") and f.endswith(".py"))
    kexpr = args.kexpr if args.kexpr is not None else (SUBSET_K if args.subset and not args.files else None)
    modes = ["layer", "preload"] if args.mode == "both" else [args.mode]
    selected = bool(args.files or args.kexpr)   # a hand-picked selection may launch no kernel
    tag = "custom" if selected else "subset" if args.subset else "full"
    cltrace_cmd = [python, "-m", "cltrace.cli.main"]
    cl_env = dict(env)
    # cltrace itself must be importable by `python -m cltrace.cli.main` (installed or from ROOT);
    # the traced pytest child then gets the same PYTHONPATH, which only adds our own package.
    if subprocess.run([python, "-c", "import cltrace"], capture_output=True, cwd="/").returncode != 0:
        cl_env["PYTHONPATH"] = os.pathsep.join(p for p in [deps, ROOT] if p)

    runs = []   # (label, rc, wall, junit, db)
    junit = os.path.join(workdir, f"junit-{tag}-plain.xml")
    for f in [junit]:
        if os.path.exists(f):
            os.remove(f)
    rc, wall = run_suite("plain", pytest_cmd(python, testdir, junit, targets, kexpr), testdir, env,
                         args.timeout, os.path.join(workdir, f"log-{tag}-plain.txt"))
    runs.append(("plain", rc, wall, junit, None))
    for mode in modes:
        junit = os.path.join(workdir, f"junit-{tag}-{mode}.xml")
        db = os.path.join(workdir, f"trace-{tag}-{mode}.db")
        if os.path.exists(junit):
            os.remove(junit)
        cmd = cltrace_cmd + ["run", "--mode", mode, "-q", "-f", "-o", db, "--"] + \
            pytest_cmd(python, testdir, junit, targets, kexpr)
        rc, wall = run_suite(mode, cmd, testdir, cl_env, args.timeout,
                             os.path.join(workdir, f"log-{tag}-{mode}.txt"))
        runs.append((mode, rc, wall, junit, db))

    broken = []
    parsed = {}
    report = {"pyopencl": version, "imported_from": pyo_path, "devices": devices,
              "targets": targets, "k": kexpr, "runs": {}, "diffs": {}}
    for label, rc, wall, junit, db in runs:
        entry = {"rc": rc, "wall_s": round(wall, 1)}
        # pytest exit codes 0 (all passed) and 1 (some failed) give a complete result; 2-5 do not.
        if rc not in (0, 1) or not os.path.exists(junit):
            broken.append(f"{label}: pytest rc {rc}" + ("" if os.path.exists(junit) else ", no JUnit XML"))
        if os.path.exists(junit):
            parsed[label] = parse_junit(junit)
            entry["counts"] = count(parsed[label])
            entry["total"] = len(parsed[label])
        if db:
            n, cmodes, nproc, unclean = trace_summary(db) if os.path.exists(db) else (None, [], 0, 0)
            entry.update(launches_recorded=n, capture_modes=cmodes, processes=nproc,
                         processes_unclean_exit=unclean)
            if not nproc:
                broken.append(f"{label}: the trace {db} holds no captured process (was the shim loaded?)")
            elif not n and not selected:
                broken.append(f"{label}: the trace {db} holds no launch (was the shim active?)")
            elif cmodes != [label]:
                broken.append(f"{label}: the trace says capture mode {cmodes}, not {label}")
        report["runs"][label] = entry

    # -- print ---------------------------------------------------------------------------------
    cols = sorted({k for e in report["runs"].values() for k in e.get("counts", {})},
                  key=lambda k: (OUTCOMES + [k]).index(k))
    log("")
    log(f"pyopencl {version} test suite ({tag}: {' '.join(targets)}{' -k ' + repr(kexpr) if kexpr else ''})"
        f" on {devices}")
    head = ["run", "total"] + cols + ["wall s", "pytest rc", "launches", "processes"]
    rows = [[label, e.get("total", "-")] + [e.get("counts", {}).get(c, "-") for c in cols] +
            [f"{e['wall_s']:.1f}", e["rc"], e.get("launches_recorded", ""), e.get("processes", "")]
            for label, e in report["runs"].items()]
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        log("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))

    ndiff = 0
    plain = parsed.get("plain", {})
    for mode in modes:
        traced = parsed.get(mode)
        if traced is None:
            continue
        diffs = []
        for tid in sorted(set(plain) | set(traced)):
            a = plain.get(tid, ("absent", ""))
            b = traced.get(tid, ("absent", ""))
            if a[0] != b[0]:
                diffs.append((tid, a, b))
            elif a[0] in ("skipped", "xfailed") and a[1].splitlines()[:1] != b[1].splitlines()[:1]:
                # same outcome for another reason (e.g. a capability the shim hid): a difference too
                diffs.append((tid, (a[0] + " (reason: " + a[1].splitlines()[0][:120] + ")", a[1]),
                              (b[0] + " (reason: " + (b[1].splitlines() or [""])[0][:120] + ")", b[1])))
        report["diffs"][mode] = [{"test": t, "plain": a[0], mode: b[0], "plain_msg": a[1][-2000:],
                                  "traced_msg": b[1][-2000:]} for t, a, b in diffs]
        ndiff += len(diffs)
        log("")
        log(f"plain vs {mode}: {len(diffs)} test(s) differ"
            f" (of {len(set(plain) | set(traced))})")
        for tid, a, b in diffs:
            log(f"  {tid}: plain {a[0]} -> {mode} {b[0]}")
            msg = b[1] if b[0] not in ("passed", "absent") else a[1]
            for line in msg.splitlines()[-12:]:
                log(f"      | {line}")
    report["differing_tests"] = ndiff
    report["broken"] = broken
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    log("")
    for b in broken:
        log(f"[peer] NOT COMPARABLE: {b}")
    log(f"[peer] logs, JUnit XML and traces under {workdir}")
    if broken:
        return EXIT_BROKEN
    if ndiff:
        return EXIT_DIFF
    log("[peer] OK: every test has the same outcome traced and untraced")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
