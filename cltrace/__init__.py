"""cltrace: trace every OpenCL kernel launch of a program and explain latency staircases."""
from ._version import __version__

__all__ = ["Trace", "open", "region", "__version__"]


def __getattr__(name):
    # Lazy (PEP 562): `cltrace --version` or the region API must not pay for pandas.
    if name in ("Trace", "open"):
        from . import trace
        return getattr(trace, name)
    if name == "region":
        # importing the submodule makes `cltrace.region` the module (callable: region.py's end), from now on
        import importlib
        return importlib.import_module(".region", __name__)
    raise AttributeError(f"module 'cltrace' has no attribute {name!r}")
