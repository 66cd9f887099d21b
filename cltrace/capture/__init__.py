"""Capture files: the binary records the native shim writes, and how to read them."""
from .format import K, ffi
from .reader import Capture, Problem, Record, open_capture

__all__ = ["Capture", "K", "Problem", "Record", "ffi", "open_capture"]
