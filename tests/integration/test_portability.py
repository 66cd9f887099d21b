"""Portability of the native shim.

* AArch64: scripts/cross_build.sh (setup.py's BuildNative run with aarch64-linux-gnu-gcc) gives three
  AArch64 shared objects that need only libc, never reference libpython, and export the OpenCL entry points
  (the shadow libOpenCL.so.1 with the OPENCL_1.0 ... OPENCL_3.0 symbol versions). Arm boards with Mali GPUs
  are the primary targets; ./dev installs gcc-aarch64-linux-gnu, so CI runs this.
* Host: the same checks on the build in cltrace/_native, and the AArch64 exports equal the host's.
* Wheel: `pip wheel .` gives one platform wheel carrying the libraries; installed into a fresh venv, its
  `cltrace` works and traces a C program with its own shim (about 15 s).
"""
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST_NATIVE = os.path.join(ROOT, "cltrace", "_native")
CROSS_BUILD = os.path.join(ROOT, "scripts", "cross_build.sh")
CROSS_CC = "aarch64-linux-gnu-gcc"

LAYER, PRELOAD, SHADOW = "libcltrace_layer.so", "libcltrace_preload.so", "shadow/libOpenCL.so.1"
LIBS = (LAYER, PRELOAD, SHADOW)
SHIPPED = ("cltrace_format.h", "cltrace_options.def", "cltrace.h")
HOST_SHIPPED = ("cltrace_store.h", "cltrace_scan.h")   # read by the Python side only, never cross-built
OPENCL_VERSIONS = ["OPENCL_1.0", "OPENCL_1.1", "OPENCL_1.2", "OPENCL_2.0", "OPENCL_2.1", "OPENCL_2.2",
                   "OPENCL_3.0"]
LD_SO = re.compile(r"^ld-linux[-\w.]*\.so\.\d+$")        # ld-linux-aarch64.so.1, ld-linux-x86-64.so.2
HOST_MACHINES = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}


# ---------------------------------------------------------------------------------------------- readelf

def _readelf_tool(prefer_cross=False):
    names = (["aarch64-linux-gnu-readelf"] if prefer_cross else []) + ["readelf"]
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("readelf (binutils) is not installed")


class Elf:
    """What `readelf -h -d --dyn-syms -V -W` says about one shared object."""

    def __init__(self, path, readelf):
        self.path = path
        out = subprocess.run([readelf, "-h", "-d", "--dyn-syms", "-V", "-W", path], check=True,
                             capture_output=True, text=True).stdout
        self.text = out
        self.machine = None
        self.needed, self.soname, self.flags = [], None, ""
        self.symbols = []            # (name, version or None, default version?, bind, type, ndx)
        self.verdefs = []            # version definitions except the BASE (soname) one
        section = None
        for line in out.splitlines():
            if line.startswith("Symbol table '.dynsym'"):
                section = "dynsym"
                continue
            if line.startswith("Version definition section"):
                section = "verdef"
                continue
            if line.startswith(("Version symbols section", "Version needs section", "Dynamic section")):
                section = None
            m = re.match(r"^\s*Machine:\s*(.+?)\s*$", line)
            if m:
                self.machine = m.group(1)
            m = re.search(r"\(NEEDED\)\s+Shared library: \[(.+)\]", line)
            if m:
                self.needed.append(m.group(1))
            m = re.search(r"\(SONAME\)\s+Library soname: \[(.+)\]", line)
            if m:
                self.soname = m.group(1)
            m = re.search(r"\(FLAGS(?:_1)?\)\s+(?:Flags: )?(.+)$", line)
            if m:
                self.flags += " " + m.group(1)
            if section == "dynsym":
                m = re.match(r"^\s*\d+:\s+[0-9a-fA-F]+\s+\S+\s+(\w+)\s+(\w+)\s+(\w+)\s+(\S+)\s+(\S+)", line)
                if m:
                    typ, bind, _vis, ndx, full = m.groups()
                    name, sep, ver = full.partition("@")
                    default = ver.startswith("@")
                    self.symbols.append((name, ver.lstrip("@") or None, default, bind, typ, ndx))
            elif section == "verdef":
                m = re.search(r"Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)", line)
                if m and m.group(1) != "BASE":
                    self.verdefs.append(m.group(2))

    @property
    def exports(self):
        """{name: version (None when unversioned)} of the defined global functions and objects."""
        return {name: ver for name, ver, _d, bind, typ, ndx in self.symbols
                if ndx not in ("UND", "ABS") and bind in ("GLOBAL", "WEAK") and typ in ("FUNC", "OBJECT")}

    def default_version(self, symbol):
        for name, ver, default, _b, _t, ndx in self.symbols:
            if name == symbol and ndx != "UND" and default:
                return ver
        return None

    @property
    def python_symbols(self):
        return sorted({s[0] for s in self.symbols if s[0].startswith(("Py", "_Py"))})


def check_shim(directory, machine, readelf):
    """The checks every build of the shim must pass; returns {lib: Elf}."""
    elves = {}
    for lib in LIBS:
        path = os.path.join(directory, lib)
        assert os.path.isfile(path), f"{path} was not built"
        e = elves[lib] = Elf(path, readelf)
        assert e.machine == machine, f"{lib}: Machine is {e.machine!r}, expected {machine!r}"
        assert "libc.so.6" in e.needed, f"{lib}: NEEDED {e.needed}"
        extra = [n for n in e.needed if n != "libc.so.6" and not LD_SO.match(n)]
        assert not extra, f"{lib} needs more than libc: {extra} (NEEDED {e.needed})"
        assert not e.python_symbols, f"{lib} references Python symbols: {e.python_symbols[:10]}"
        assert "BIND_NOW" in e.flags, f"{lib} is not linked with -z now (flags:{e.flags})"
        assert e.exports, f"{lib} exports nothing"

    layer = elves[LAYER]
    assert {"clGetLayerInfo", "clInitLayer", "cltrace_region_begin_impl"} <= set(layer.exports), \
        sorted(layer.exports)
    assert not any(n.startswith("clEnqueue") for n in layer.exports), \
        "the layer must not interpose OpenCL entry points by name"

    preload = elves[PRELOAD]
    assert preload.soname is None, f"the preload library has a SONAME {preload.soname!r}"
    assert {"clEnqueueNDRangeKernel", "cltrace_region_begin_impl"} <= set(preload.exports)

    shadow = elves[SHADOW]
    assert shadow.soname == "libOpenCL.so.1"
    assert [v for v in shadow.verdefs if v.startswith("OPENCL_")] == OPENCL_VERSIONS, shadow.verdefs
    assert shadow.default_version("clEnqueueNDRangeKernel") == "OPENCL_1.0"
    assert shadow.default_version("clCreateBufferWithProperties") == "OPENCL_3.0"
    unversioned = sorted(n for n, v in shadow.exports.items() if n.startswith("cl") and v is None)
    assert not unversioned, f"shadow entry points without a symbol version: {unversioned[:10]}"
    return elves


# ---------------------------------------------------------------------------------------------- AArch64

def _current_guest_build():
    """cltrace/_native/aarch64 when the build (setup.py runs scripts/cross_build.sh there) is newer than every
    source it comes from, else None."""
    guest = os.path.join(HOST_NATIVE, "aarch64")
    try:
        built = min(os.path.getmtime(os.path.join(guest, lib)) for lib in LIBS)
    except OSError:
        return None
    sources = [CROSS_BUILD, os.path.join(ROOT, "setup.py")] + [
        os.path.join(d, f) for d, _, files in os.walk(os.path.join(ROOT, "native")) for f in files]
    return guest if all(os.path.getmtime(p) <= built for p in sources) else None


@pytest.fixture(scope="module")
def aarch64_build(tmp_path_factory):
    if shutil.which(CROSS_CC) is None:
        pytest.skip(f"{CROSS_CC} is not installed (apt-get install gcc-aarch64-linux-gnu "
                    "libc6-dev-arm64-cross; ./dev setup installs it)")
    # the set-up's build already ran cross_build.sh: check its output rather than build it a second time
    current = _current_guest_build()
    if current:
        return current
    out = tmp_path_factory.mktemp("aarch64")
    p = subprocess.run(["bash", CROSS_BUILD, str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"cross_build.sh failed:\n{p.stdout}\n{p.stderr}"
    return str(out)


def test_aarch64_cross_build(aarch64_build):
    elves = check_shim(aarch64_build, "AArch64", _readelf_tool(prefer_cross=True))
    for lib, e in elves.items():
        assert e.needed[0] == "libc.so.6" and all(n == "libc.so.6" or n.startswith("ld-linux-aarch64")
                                                   for n in e.needed), (lib, e.needed)
    for h in SHIPPED:
        assert os.path.isfile(os.path.join(aarch64_build, h)), f"{h} is not next to the libraries"


def test_aarch64_exports_match_host(aarch64_build):
    """Same sources and flags: each AArch64 library exports exactly what the host build exports."""
    readelf = _readelf_tool(prefer_cross=True)
    for lib in LIBS:
        cross = Elf(os.path.join(aarch64_build, lib), readelf).exports
        host = Elf(os.path.join(HOST_NATIVE, lib), readelf).exports
        assert cross == host, (f"{lib}: only in aarch64 {sorted(set(cross) - set(host))}, only on host "
                               f"{sorted(set(host) - set(cross))} (is cltrace/_native stale? ./dev build)")


def test_cross_build_without_compiler_fails_clearly(tmp_path):
    env = dict(os.environ, CROSS_CC="cltrace-no-such-aarch64-gcc")
    p = subprocess.run(["bash", CROSS_BUILD, str(tmp_path / "out")], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode != 0
    assert "cross compiler 'cltrace-no-such-aarch64-gcc' was not found" in p.stderr
    assert "gcc-aarch64-linux-gnu" in p.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------- host

def test_host_build():
    machine = HOST_MACHINES.get(platform.machine())
    if machine is None:
        pytest.skip(f"no readelf Machine name known for {platform.machine()}")
    check_shim(HOST_NATIVE, machine, _readelf_tool())


# ---------------------------------------------------------------------------------------------- wheel

def _source_copy(dest):
    """The files a clean clone has (tracked plus untracked-but-not-ignored): no cltrace/_native, no build/."""
    try:
        names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                               capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        names = None
    if names is None:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "_native", "*.egg-info", "__pycache__", ".pocl-cache", "*.so*",
            "*.o", "bin", "out"))
        return
    for name in filter(None, names):
        src = os.path.join(ROOT, name)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name))


def _run(argv, **kw):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300, **kw)
    assert p.returncode == 0, f"{' '.join(map(str, argv))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_wheel_installs_into_fresh_venv(tmp_path, programs):
    # Build from a copy of the source tree, as a clean clone would: the wheel cannot pick up the
    # in-place cltrace/_native or a stale build/ directory, and a parallel ./dev build is left alone.
    src, dist = tmp_path / "src", tmp_path / "dist"
    _source_copy(src)
    assert not (src / "cltrace" / "_native").exists()
    # CLTRACE_GUEST_SHIMS=0: no aarch64 shim in this wheel (the cross build is test_aarch64_cross_build's, and
    # nothing below reads it): the host build alone is what is checked here
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, "."],
         cwd=src, env=dict(os.environ, CLTRACE_GUEST_SHIMS="0"))
    wheels = sorted(os.listdir(dist))
    assert len(wheels) == 1 and wheels[0].endswith(".whl"), wheels
    name, version, py_tag, abi_tag, plat_tag = wheels[0][:-len(".whl")].split("-")
    assert name == "cltrace"
    host_plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert plat_tag == host_plat and plat_tag != "any", f"{wheels[0]} is not a {host_plat} platform wheel"

    whl = dist / wheels[0]
    with zipfile.ZipFile(whl) as z:
        members = set(z.namelist())
        wheel_meta = z.read(f"cltrace-{version}.dist-info/WHEEL").decode()
        entry_points = z.read(f"cltrace-{version}.dist-info/entry_points.txt").decode()
        for item in LIBS + SHIPPED + HOST_SHIPPED:
            assert f"cltrace/_native/{item}" in members, f"{item} is not in {wheels[0]}"
        assert any(m.startswith("cltrace/store/") and m.endswith(".sql") for m in members)
        z.extractall(tmp_path / "unpacked", [m for m in members if m.startswith("cltrace/_native/")])
    assert "Root-Is-Purelib: false" in wheel_meta
    assert re.search(r"^cltrace\s*=\s*cltrace\.cli\.main:main", entry_points, re.M), entry_points
    machine = HOST_MACHINES.get(platform.machine())
    if machine:
        check_shim(tmp_path / "unpacked" / "cltrace" / "_native", machine, _readelf_tool())

    # A fresh venv holding only the wheel. Its dependencies (numpy, pyopencl, ...) come from this
    # test's own environment through a .pth path line -- offline and fast; a plain path line does not run
    # the .pth files there, so the editable cltrace of the project venv stays out of sight.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    vpy = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", vpy, "install", "-q", "--no-deps", "--no-index", whl])
    site = _run([vpy, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    with open(os.path.join(site, "_cltrace_test_deps.pth"), "w") as f:
        f.write("\n".join(sorted(deps)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    run = dict(cwd=tmp_path, env=env)       # not ROOT: `import cltrace` must not find the source tree

    _run([vpy, "-m", "pip", "check"], **run)      # the wheel's Requires-Dist are met
    from cltrace import __version__
    assert _run([venv / "bin" / "cltrace", "--version"], **run).split() == ["cltrace", __version__]
    where = json.loads(_run([vpy, "-c", "import json, cltrace, cltrace.native as n; print(json.dumps("
                                        "[cltrace.__file__, n.library(n.LAYER_LIB), n.shadow_dir()]))"], **run))
    for path in where:
        assert os.path.realpath(path).startswith(os.path.realpath(site) + os.sep), (path, site)

    linked = programs("linked")
    for mode in ("layer", "preload"):
        db = tmp_path / f"{mode}.db"
        _run([venv / "bin" / "cltrace", "run", "-q", "--mode", mode, "-o", db, "--", linked, "10"], **run)
        got = json.loads(_run([vpy, "-c", "import json, sys, cltrace\n"
                                          "t = cltrace.open(sys.argv[1])\n"
                                          "print(json.dumps([len(t.launches), t.runs['mode'][0],"
                                          " json.loads(t.runs['env'][0])]))", db], **run))
        n, recorded_mode, run_env = got
        assert (n, recorded_mode) == (10, mode)
        shim = run_env["CLTRACE_SHIM"]
        assert os.path.realpath(shim).startswith(os.path.realpath(site) + os.sep), shim
