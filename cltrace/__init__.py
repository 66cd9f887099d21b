"""cltrace: trace every OpenCL kernel launch of a program and explain latency staircases."""
from ._version import __version__
from .trace import Trace, open  # noqa: A004  (cltrace.open mirrors the builtin on purpose)
from .region import region

__all__ = ["Trace", "open", "region", "__version__"]
