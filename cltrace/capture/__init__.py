"""Capture files: launching a program under the shim, the binary records the shim writes, and how to read them.

The bottom layer of cltrace's own code (docs/architecture.md): it imports only cltrace.native, cltrace.options
and cltrace.errors, never the store that ingests what it reads (record/session.py joins the two)."""
from .format import K
from .reader import open_capture

__all__ = ["K", "open_capture"]
