"""Build cltrace's native libraries with a sanitizer into a directory of their own (never cltrace/_native).

    python scripts/sanitize_build.py OUT_DIR address,undefined | thread

SANITIZE_SRC names another copy of native/ to build from (./dev sanitize's canary: a deliberately broken
pending.c). OUT_DIR gets the layout of cltrace/_native (the shims, shadow/libOpenCL.so.1, the store and scan
libraries, the shipped headers), so that cltrace.capture.modes.shim_environment(..., native_dir=OUT_DIR) loads
them. The sources, per-target flags and link flags are setup.py's own (TARGETS, COMMON_CFLAGS), read by running
setup.py with setuptools.setup stubbed out; only the optimisation level changes (-O1, frame pointers kept, for
readable sanitizer stacks) and -fsanitize=... is added to compile and link.
"""
import os
import runpy
import shutil
import subprocess
import sys

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NATIVE = os.environ.get("SANITIZE_SRC") or os.path.join(ROOT, "native")


def setup_py():
    """setup.py's module globals, without building anything."""
    real = setuptools.setup
    setuptools.setup = lambda **kw: None
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        return runpy.run_path(os.path.join(ROOT, "setup.py"), run_name="cltrace_setup")
    finally:
        setuptools.setup = real
        os.chdir(cwd)


def build(out_dir, sanitizers):
    ns = setup_py()
    san = [f"-fsanitize={sanitizers}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"] \
        if "undefined" in sanitizers else [f"-fsanitize={sanitizers}", "-fno-omit-frame-pointer"]
    cflags = [f for f in ns["COMMON_CFLAGS"] if not f.startswith("-O")] + ["-O1"] + san
    cc = os.environ.get("CC", "cc")
    os.makedirs(out_dir, exist_ok=True)
    for out, sources, extra_cflags, ldflags, *libs in ns["TARGETS"]:
        dest = os.path.join(out_dir, out)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        # -z defs stays: a sanitizer runtime is a NEEDED library of the result, as libdl and libpthread are
        cmd = [cc, "-shared", "-o", dest, *cflags, *extra_cflags, f"-I{NATIVE}", f"-I{os.path.join(NATIVE, 'include')}",
               *[os.path.join(NATIVE, s) for s in sources], "-pthread", "-Wl,-z,now", "-Wl,-z,defs", *ldflags,
               "-ldl", "-lpthread", *[f"-l{lib}" for lib in (libs[0] if libs else [])]]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            if out in ns["OPTIONAL_TARGETS"]:
                print(f"sanitize build: skipping optional {out}: {r.stderr.strip()}", file=sys.stderr)
                continue
            sys.exit(f"sanitize build: {out} failed:\n{' '.join(cmd)}\n{r.stderr}")
    for h in ns["SHIPPED_HEADERS"]:
        shutil.copyfile(os.path.join(NATIVE, h), os.path.join(out_dir, os.path.basename(h)))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("address,undefined", "thread"):
        sys.exit("usage: sanitize_build.py OUT_DIR address,undefined|thread")
    build(sys.argv[1], sys.argv[2])
