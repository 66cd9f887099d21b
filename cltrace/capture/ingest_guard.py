"""What `cltrace run` does while it ingests: signals become an interrupt that keeps the capture files, and
a failure to write the trace is said in one line (a full disk as "no space left on device")."""
import contextlib
import errno
import os
import signal
import sqlite3
import threading
from typing import Optional

from ..errors import CltraceError


@contextlib.contextmanager
def interrupts_raised():
    """SIGTERM and SIGHUP raise KeyboardInterrupt like Ctrl-C (main thread only); after the first, all three
    are ignored, so that a second Ctrl-C cannot cut the clean-up that keeps the capture files."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    fired = []

    def _raise(signum, _frame):
        if fired:
            return
        fired.append(signum)
        raise KeyboardInterrupt

    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        if old[s] != signal.SIG_IGN:      # `nohup`: SIGHUP stays ignored
            signal.signal(s, _raise)
    try:
        yield
    except KeyboardInterrupt:
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)   # the caller restores nothing: it is on its way out
        raise
    finally:
        if not fired:
            for s, h in old.items():
                signal.signal(s, h)


def _disk_full(e, output) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    if code == 13 or "database or disk is full" in str(e):      # SQLITE_FULL
        return True
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(e, sqlite3.Error) and output and "disk I/O error" in str(e):
        try:
            return os.statvfs(os.path.dirname(os.path.abspath(output))).f_bavail == 0
        except OSError:
            return False
    return False


def describe_failure(e: BaseException, output: Optional[str]) -> Optional[str]:
    """One line for a failure to record a run, or None for a bug (re-raised as it is)."""
    if _disk_full(e, output):
        return f"cannot write {output}: no space left on device; the trace is as it was before this run"
    if isinstance(e, sqlite3.Error):
        return f"cannot write {output}: trace database error: {str(e).splitlines()[0] if str(e) else e}"
    if isinstance(e, OSError):
        return f"cannot write {output}: {e.strerror or e}"
    if isinstance(e, CltraceError):
        return str(e)
    return None
