"""cltrace: trace every OpenCL kernel launch of a program and explain latency staircases."""
from ._version import __version__

__all__ = ["Trace", "open", "region", "__version__"]


def __getattr__(name):
    # Lazy (PEP 562): `cltrace --version` or the region API must not pay for pandas.
    if name in ("Trace", "open"):
        from . import trace
        return getattr(trace, name)
    if name == "region":
        from .region import region
        return region
    raise AttributeError(f"module 'cltrace' has no attribute {name!r}")
