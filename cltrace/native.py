"""Where the built native pieces live (cltrace/_native/, filled by setup.py's build_ext)."""
import os

from .errors import CltraceError

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
NATIVE_DIR = os.path.join(PACKAGE_DIR, "_native")
SOURCE_NATIVE_DIR = os.path.join(os.path.dirname(PACKAGE_DIR), "native")

LAYER_LIB = "libcltrace_layer.so"
PRELOAD_LIB = "libcltrace_preload.so"
SHADOW_DIR = "shadow"


def library(name: str, base: str = NATIVE_DIR) -> str:
    """Absolute path of a built shim library; a clear error when the build is missing."""
    path = os.path.join(base, name)
    if not os.path.exists(path):
        raise CltraceError(
            f"the native shim is not built ({path} is missing): run 'pip install -e .' or 'make setup'")
    return path


def shadow_dir(base: str = NATIVE_DIR) -> str:
    path = os.path.join(base, SHADOW_DIR)
    library(os.path.join(SHADOW_DIR, "libOpenCL.so.1"), base)
    return path


def shipped_file(name: str) -> str:
    """A header or table shipped with the package, falling back to the source tree."""
    for base in (NATIVE_DIR, SOURCE_NATIVE_DIR, os.path.join(SOURCE_NATIVE_DIR, "include")):
        path = os.path.join(base, name)
        if os.path.exists(path):
            return path
    raise CltraceError(f"cltrace installation is incomplete: {name} not found")
