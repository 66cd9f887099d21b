"""One writer per trace: a trace file is locked (flock) by the cltrace that writes it, from before the
program starts until the run is committed, so that two `cltrace run -o same.db` never both report success
with one run lost. Also refuses to write (or, with -f, delete) anything but a regular file.

The check-then-create step (is the trace free? delete it for -f, create it, lock the new file) runs under a
short lock on the trace's directory, so two writers starting together cannot both pass the check.
Readers (`report`, `cltrace.open`) take no lock. The locks are advisory (flock), independent of SQLite's own.
"""
import errno
import fcntl
import os
import stat
from contextlib import contextmanager

from ..errors import CltraceError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


class TraceBusy(CltraceError):
    def __init__(self, path):
        super().__init__(f"{path} is being written by another cltrace: wait for it to finish, or write to "
                         f"another file with -o")


def check_output_path(path) -> None:
    """A trace is written only to a regular file or a missing path (never a device, FIFO, directory)."""
    try:
        st = os.stat(path)
    except OSError:
        return          # missing (or unreadable: open_output says why)
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise CltraceError(f"{path} is {kind}: cltrace writes traces only to regular files (give -o a file path)")


@contextmanager
def _directory_lock(path):
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield           # an unreadable directory: open_output reports what matters
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _try_lock(path):
    """An fd holding an exclusive flock on `path`, None if it does not exist; TraceBusy if another holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise TraceBusy(path) from None
        return None     # a filesystem without flock: no lock, as before
    return fd


class TraceLock:
    def __init__(self, fd):
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def open_locked(path, opener):
    """(connection, TraceLock): `opener()` (open_output: may delete and create the trace) run while no other
    cltrace writes `path`, and the trace it opened locked until TraceLock.release()."""
    path = os.fspath(path)
    check_output_path(path)
    with _directory_lock(path):
        old = _try_lock(path)          # busy: refuse before anything is deleted
        if old is not None:
            os.close(old)
        conn = opener()
        try:
            fd = _try_lock(path)
        except BaseException:
            conn.close()
            raise
    return conn, TraceLock(fd)
