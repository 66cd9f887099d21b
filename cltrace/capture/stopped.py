"""What a capture file's header says about how the shim ended it: stopped early, or flushed at exit.

The shim keeps the file header mapped while the process runs. When it cannot go on recording (the capture
disk is full, `ulimit -f` is reached, the program closed the file's descriptor and the file is gone) it sets
CLT_FILE_STOPPED with the reason and the error, and counts the records it could not write there: the program
runs on untouched, and the run is marked as a truncated capture. CLT_FILE_EXITED says the exit flush ran even
when its note no longer fitted.
"""
import errno
import os
from typing import Optional

from .format import K

_WHY = {
    K.CLT_STOP_NO_SPACE: "the capture disk is full",
    K.CLT_STOP_FILE_LIMIT: "the program's file size limit (ulimit -f) was reached",
    K.CLT_STOP_FD_LOST: "the program closed the capture file's descriptor and the file could not be reopened",
}
_HINT = {K.CLT_STOP_NO_SPACE: "; put TMPDIR on a disk with room"}


def stopped(header: dict) -> bool:
    return bool(header.get("flags", 0) & K.CLT_FILE_STOPPED)


def exited(header: dict) -> bool:
    return bool(header.get("flags", 0) & K.CLT_FILE_EXITED)


def _errno_text(code: int) -> str:
    if code <= 0:
        return ""
    name = errno.errorcode.get(code)
    return f"{os.strerror(code).lower()}" + (f", {name}" if name else "")


def stop_warning(cap) -> Optional[str]:
    """One line when the shim stopped recording into `cap` before the process ended, else None."""
    h = cap.header
    if not stopped(h):
        return None
    reason = h.get("stop_reason", 0)
    why = _WHY.get(reason, "the capture file could not grow")
    err = _errno_text(h.get("stop_errno", 0))
    dropped = h.get("dropped", 0)
    why += f" ({err})" if err else ""
    return (f"{cap.path}: recording stopped early: {why}; read {cap.records} records "
            f"({cap.launches} launches); {dropped} later record{'s' if dropped != 1 else ''} could not be "
            f"written; the program ran on unaffected{_HINT.get(reason, '')}")
