"""Regions and tags for Python programs traced by cltrace (twin of native/include/cltrace.h).

    from cltrace import region

    with region("resnet50.L16", channels=92, method="gemm"):
        ...enqueue the layer's kernels, then queue.finish()...

    @region("preprocess")
    def preprocess(...): ...

Under `cltrace run` the environment variable CLTRACE_SHIM names the shim library;
its `cltrace_region_begin_impl(name, tags)` / `cltrace_region_end_impl()` are looked
up once, lazily, through ctypes. Untraced (no CLTRACE_SHIM, a library that cannot be
loaded, or one without those symbols) every call is a cheap no-op.

Tags become the comma-separated "key=value" string of the C API, in keyword order.
This module imports nothing from the rest of cltrace so that it stays cheap to import
and can be loaded on its own (examples/conv_bench.py does when cltrace is not installed).
"""
import contextlib
import ctypes
import os
import sys
import threading
import types

__all__ = ["region", "begin", "end", "enabled", "format_tags"]

ENV_VAR = "CLTRACE_SHIM"

_lock = threading.Lock()
_api = None  # None: not resolved yet; (): untraced; (begin, end): traced


def _resolve():
    global _api
    with _lock:
        if _api is not None:
            return _api
        api = ()
        path = os.environ.get(ENV_VAR)
        if path:
            try:
                lib = ctypes.CDLL(path)
                begin_fn = lib.cltrace_region_begin_impl
                end_fn = lib.cltrace_region_end_impl
            except (OSError, AttributeError):
                pass  # untraced: never make the traced program fail
            else:
                begin_fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
                begin_fn.restype = None
                end_fn.argtypes = []
                end_fn.restype = None
                api = (begin_fn, end_fn)
        _api = api
        return api


def _reset():
    """Forget the resolved shim (tests; a program that changes CLTRACE_SHIM before its first region)."""
    global _api
    with _lock:
        _api = None


def enabled() -> bool:
    """True when regions reach a cltrace shim."""
    api = _api if _api is not None else _resolve()
    return bool(api)


def format_tags(tags: dict) -> str:
    """{"channels": 92, "method": "gemm"} -> "channels=92,method=gemm"."""
    parts = []
    for key, value in tags.items():
        if isinstance(value, bool):
            value = int(value)
        parts.append(f"{key}={value}")
    return ",".join(parts)


def begin(name: str, **tags) -> None:
    """Open a region on this thread (prefer the `region` context manager)."""
    api = _api if _api is not None else _resolve()
    if api:
        api[0](str(name).encode("utf-8", "replace"), format_tags(tags).encode("utf-8", "replace"))


def end() -> None:
    """Close the innermost region open on this thread."""
    api = _api if _api is not None else _resolve()
    if api:
        api[1]()


class region(contextlib.ContextDecorator):  # noqa: N801  (used like a function, as in the C API)
    """Context manager and decorator: every kernel launched inside is attributed to this region.

    Regions nest per thread; the innermost open one wins. A decorated function opens a
    fresh region on each call.
    """

    __slots__ = ("name", "tags", "_tag_str")

    def __init__(self, name: str, **tags):
        self.name = str(name)
        self.tags = tags
        self._tag_str = None

    def __enter__(self):
        api = _api if _api is not None else _resolve()
        if api:
            if self._tag_str is None:
                self._tag_str = format_tags(self.tags).encode("utf-8", "replace")
            api[0](self.name.encode("utf-8", "replace"), self._tag_str)
        return self

    def __exit__(self, exc_type, exc, tb):
        api = _api if _api is not None else _resolve()
        if api:
            api[1]()
        return False

    def __repr__(self):
        tags = format_tags(self.tags)
        return f"region({self.name!r}{', ' + tags if tags else ''})"


class _CallableModule(types.ModuleType):
    """`import cltrace.region` (or any import of this submodule) makes the package attribute
    `cltrace.region` this module: the import system sets it, over the function. Calling the module calls
    region(), so the documented `cltrace.region("L16", channels=92)` works whatever was imported first."""

    def __call__(self, *args, **tags):
        return region(*args, **tags)


if type(sys.modules.get(__name__)) is types.ModuleType:
    sys.modules[__name__].__class__ = _CallableModule
