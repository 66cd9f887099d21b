"""Capture modes: how the shim gets into a program, and the environment that does it."""
from typing import Dict, Mapping, Optional

from .. import native
from ..errors import UsageError
from .loader import LoaderInfo, system_loader

MODES = ("auto", "layer", "preload")
LAYERS_SEPARATOR = ":"


def resolve_mode(requested: str, loader: Optional[LoaderInfo] = None) -> str:
    """auto -> layer when the ICD loader honours OPENCL_LAYERS, else preload (+ shadow libOpenCL)."""
    if requested not in MODES:
        raise UsageError(f"unknown capture mode '{requested}' (choose from {', '.join(MODES)})")
    if requested != "auto":
        return requested
    loader = loader or system_loader()
    if loader.path and not loader.supports_layers:
        return "preload"
    return "layer"


def _prepend(value: str, existing: Optional[str], sep: str) -> str:
    return value + sep + existing if existing else value


def _append(value: str, existing: Optional[str], sep: str) -> str:
    return existing + sep + value if existing else value


def shim_environment(mode: str, capture_dir: str, settings: Mapping[str, str],
                     base: Mapping[str, str], loader: Optional[LoaderInfo] = None,
                     native_dir: str = native.NATIVE_DIR) -> Dict[str, str]:
    """The child's environment: the user's, with the shim added, never replacing theirs.

    The layer goes last in OPENCL_LAYERS: ocl-icd puts the last listed layer nearest the application, so the
    trace records what the program asked for before any layer of the user's (a compatibility layer, say)
    changes it. native_dir holds the shim to load (another architecture's for an emulated program).
    """
    env = dict(base)
    env.update(settings)
    env["CLTRACE_DIR"] = capture_dir
    env["CLTRACE_MODE"] = mode
    if mode == "layer":
        lib = native.library(native.LAYER_LIB, native_dir)
        env["OPENCL_LAYERS"] = _append(lib, base.get("OPENCL_LAYERS"), LAYERS_SEPARATOR)
    else:
        lib = native.library(native.PRELOAD_LIB, native_dir)
        env["LD_PRELOAD"] = _prepend(lib, base.get("LD_PRELOAD"), ":")
        env["LD_LIBRARY_PATH"] = _prepend(native.shadow_dir(native_dir), base.get("LD_LIBRARY_PATH"), ":")
        if "CLTRACE_REAL_LIBOPENCL" not in settings:
            loader = loader or system_loader()
            if loader.path:
                env["CLTRACE_REAL_LIBOPENCL"] = loader.path
    env["CLTRACE_SHIM"] = lib
    return env
