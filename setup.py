"""Build and install cltrace.

The native shim is not a Python extension: it is loaded into arbitrary
processes (C programs built with -z now, run with LD_BIND_NOW=1), so it must
not reference libpython. build_ext therefore compiles native/*.c into plain
shared objects with the setuptools compiler and drops them, together with the
headers the Python side reads, into cltrace/_native/.
"""
import os
import platform
import shutil
import subprocess
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join(HERE, "native")

COMMON_CFLAGS = ["-O2", "-g", "-fPIC", "-fvisibility=hidden", "-std=gnu11", "-Wall", "-Wextra",
                 "-Wno-unused-parameter", "-Wno-deprecated-declarations", "-pthread",
                 "-DCL_TARGET_OPENCL_VERSION=300", "-DCL_USE_DEPRECATED_OPENCL_1_2_APIS"]

# (output path inside cltrace/_native, sources, extra cflags, extra link flags[, extra libraries])
CORE = ["core.c", "capture.c", "hooks.c", "records.c", "options.c", "pending.c", "objects.c"]
TARGETS = [
    ("libcltrace_layer.so", CORE + ["layer.c"], ["-DCLT_MODE_LAYER"], []),
    ("libcltrace_preload.so", CORE + ["preload.c"], ["-DCLT_MODE_PRELOAD"], []),
    ("shadow/libOpenCL.so.1", ["shadow.c"], ["-DCLT_MODE_SHADOW"],
     ["-Wl,-soname,libOpenCL.so.1", "-Wl,--version-script=" + os.path.join(NATIVE, "shadow.map")]),
    # not a shim: loaded by the Python side only (bulk ingest / column scans on the trace's connection)
    ("libcltrace_store.so", ["ingest_sqlite.c", "ingest_launches.c", "column_collect.c"], [], [], ["sqlite3"]),
    # not a shim either: the capture-file record walk for the Python reader (libc only)
    ("libcltrace_scan.so", ["capture_scan.c"], [], []),
]
# more names of a built library: the shadow loader also answers dlopen("libOpenCL.so"), the name OpenCV's
# OpenCL runtime opens first (before libOpenCL.so.1): without it a system libOpenCL.so (ocl-icd-opencl-dev)
# is found instead and every launch bypasses the preload shim
ALIASES = [("shadow/libOpenCL.so", "libOpenCL.so.1")]
# accelerators, skipped when they cannot be built (e.g. no sqlite3 headers in a cross build): cltrace then
# uses its pure-Python paths (numpy capture scan, executemany ingest), only slower
OPTIONAL_TARGETS = {"libcltrace_store.so", "libcltrace_scan.so"}
# programs, not libraries: cltrace-exec starts a traced program with the parent-death signal set, so that the
# Python side spawns with vfork (no preexec_fn); without it capture/launcher.py falls back to a preexec_fn
EXECUTABLES = [("cltrace-exec", ["spawn.c"])]
SHIPPED_HEADERS = ["cltrace_format.h", "cltrace_store.h", "cltrace_scan.h", "cltrace_options.def", "include/cltrace.h"]


class BuildNative(build_ext):
    """Compile the shim libraries (no libpython) next to the package."""

    def run(self):
        super().run()
        from distutils.ccompiler import new_compiler
        from distutils.sysconfig import customize_compiler

        cc = new_compiler(force=self.force)
        customize_compiler(cc)
        # customize_compiler copies Python's own CFLAGS/LDSHARED; keep only the compiler.
        if cc.compiler_type == "unix":
            cc.set_executables(linker_so=[cc.compiler[0], "-shared"])
        out_root = self._package_dir()
        tmp = os.path.join(self.build_temp, "native")
        for out, sources, cflags, ldflags, *libs in TARGETS:
            srcs = [os.path.join("native", s) for s in sources]
            missing = [s for s in srcs if not os.path.exists(os.path.join(HERE, s))]
            if missing:
                raise SystemExit("cltrace build: missing native sources: %s" % ", ".join(missing))
            dest = os.path.join(out_root, out)
            try:
                objs = cc.compile(srcs, output_dir=os.path.join(tmp, out.replace("/", "_")),
                                  include_dirs=[NATIVE, os.path.join(NATIVE, "include")],
                                  extra_preargs=COMMON_CFLAGS + cflags)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                cc.link_shared_object(objs, dest, libraries=["dl", "pthread"] + (libs[0] if libs else []),
                                      extra_preargs=["-pthread", "-Wl,-z,now", "-Wl,-z,defs"] + ldflags)
            except Exception as e:  # CompileError / LinkError
                if out not in OPTIONAL_TARGETS:
                    raise
                # an accelerator only (e.g. no sqlite3 headers for a cross build): Python falls back
                print(f"cltrace build: skipping optional {out}: {e}", file=sys.stderr)
                if os.path.exists(dest):
                    os.remove(dest)
        for out, sources in EXECUTABLES:
            dest = os.path.join(out_root, out)
            try:
                objs = cc.compile([os.path.join("native", s) for s in sources],
                                  output_dir=os.path.join(tmp, out), extra_preargs=COMMON_CFLAGS)
                try:        # static: no dynamic loader work before the program's exec (where libc.a exists)
                    cc.link_executable(objs, out, output_dir=out_root, extra_preargs=["-static"])
                except Exception:  # noqa: BLE001  (LinkError: no static libc)
                    cc.link_executable(objs, out, output_dir=out_root)
            except Exception as e:  # noqa: BLE001  (CompileError / LinkError: the slower preexec_fn path is used)
                print(f"cltrace build: skipping optional {out}: {e}", file=sys.stderr)
                if os.path.exists(dest):
                    os.remove(dest)
        for alias, target in ALIASES:
            dest = os.path.join(out_root, alias)
            if os.path.lexists(dest):
                os.remove(dest)
            os.symlink(target, dest)
        for h in SHIPPED_HEADERS:
            dest = os.path.join(out_root, os.path.basename(h))
            shutil.copyfile(os.path.join(NATIVE, h), dest)
        self._build_guest_shim(out_root)

    def _build_guest_shim(self, out_root):
        """The aarch64 shim, for programs run under qemu-user (cltrace/capture/emulation.py), when the cross
        compiler is there; CLTRACE_GUEST_SHIMS=0 skips it (scripts/cross_build.sh sets it for its own build)."""
        cross = os.environ.get("CROSS_CC", "aarch64-linux-gnu-gcc")
        if os.environ.get("CLTRACE_GUEST_SHIMS", "1") == "0" or platform.machine() in ("aarch64", "arm64") \
                or not shutil.which(cross) or not os.path.exists(os.path.join(HERE, "scripts", "cross_build.sh")):
            return
        env = dict(os.environ, CLTRACE_GUEST_SHIMS="0", PYTHON=sys.executable)
        r = subprocess.run(["bash", os.path.join(HERE, "scripts", "cross_build.sh"), os.path.join(out_root, "aarch64")],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print("cltrace build: no aarch64 shim, emulated programs cannot be traced: "
                  + (r.stderr.strip().splitlines() or ["cross build failed"])[-1], file=sys.stderr)

    def _package_dir(self):
        if self.inplace or getattr(self, "editable_mode", False):
            return os.path.join(HERE, "cltrace", "_native")
        return os.path.join(self.build_lib, "cltrace", "_native")

    def get_outputs(self):
        root = self._package_dir()
        return [os.path.join(root, t[0]) for t in TARGETS
                if t[0] not in OPTIONAL_TARGETS or os.path.exists(os.path.join(root, t[0]))] + \
            [os.path.join(root, out) for out, _ in EXECUTABLES if os.path.exists(os.path.join(root, out))] + \
            [os.path.join(root, alias) for alias, _ in ALIASES] + \
            [os.path.join(root, os.path.basename(h)) for h in SHIPPED_HEADERS] + \
            [os.path.join(d, f) for d, _, files in os.walk(os.path.join(root, "aarch64")) for f in files]


class BinaryDistribution(Distribution):
    """The wheel carries a native library: it is a platform wheel."""

    def has_ext_modules(self):
        return True


def _version():
    ns = {}
    with open(os.path.join(HERE, "cltrace", "_version.py")) as f:
        exec(f.read(), ns)
    return ns["__version__"]


setup(
    name="cltrace",
    version=_version(),
    description="OpenCL interception and kernel tracing that finds latency staircases",
    long_description=(open(os.path.join(HERE, "README.md")).read()
                      if os.path.exists(os.path.join(HERE, "README.md")) else ""),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["cltrace", "cltrace.*"]),
    package_data={"cltrace": ["store/*.sql", "report/*.json"]},
    python_requires=">=3.9",
    # onnx: `cltrace network MODEL.onnx` reads a user's network (its Conv nodes, shapes from onnx.shape_inference)
    install_requires=["pyopencl", "cffi", "numpy", "pandas", "rich", "matplotlib", "scipy", "onnx"],
    # jsonschema: the tests validate `cltrace report --format json` against cltrace/report/report.schema.json
    # cluster: `cltrace sweep --cluster` on Dask distributed (docs/farm.md) and `cltrace export --format parquet`;
    # the tests start a real local Dask cluster and read the Parquet exports back with pyarrow and DuckDB;
    # cryptography: `cltrace farm` makes the farm's CA and TLS certificates (Dask's TLS; distributed does not
    # depend on it); import-linter: tests/unit/test_import_layers.py checks the layers (docs/architecture.md);
    # ruff, mypy: tests/unit/test_lint.py (pinned to a minor: a new release can add findings).
    # pytest-xdist: `./dev test` runs the suite on parallel workers (tests/conftest.py).
    # opencv: `cltrace network --runtime opencv` (examples/opencv_conv.py); 4.x: OpenCV 5's new DNN engine has no
    # OpenCL target.
    # ./dev installs install_requires + "test" from here (the one list)
    extras_require={"test": ["pytest", "pytest-xdist", "hypothesis", "jsonschema", "dask[distributed]", "pyarrow",
                             "duckdb", "cryptography", "import-linter", "ruff~=0.17.6", "mypy~=2.4.1",
                             "opencv-python-headless<5"],
                    "cluster": ["dask[distributed]", "pyarrow", "cryptography"],
                    "opencv": ["opencv-python-headless<5"]},
    entry_points={
        "console_scripts": ["cltrace = cltrace.cli.main:main"],
        "pytest11": ["cltrace = cltrace.pytest_plugin"],
    },
    cmdclass={"build_ext": BuildNative},
    distclass=BinaryDistribution,
    zip_safe=False,
)
