"""Opening the trace a command writes: refuse to clobber, check writability before any work."""
import os
import sqlite3

from ..errors import CltraceError
from ..store import db as store_db


def open_output(path: str, force: bool, append: bool) -> sqlite3.Connection:
    """A writable connection to `path`, decided before the traced program starts."""
    if force and append:
        raise CltraceError("-f and --append contradict each other: choose one")
    exists = os.path.exists(path)
    if exists and append:
        return store_db.open_db(path, write=True)
    if exists and not force:
        raise CltraceError(f"{path} already exists: use -f to overwrite it or --append to add to it")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CltraceError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CltraceError(f"cannot write {path}: permission denied")
    if exists:
        try:
            os.remove(path)
            for suffix in ("-wal", "-shm", "-journal"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        except OSError as e:
            raise CltraceError(f"cannot overwrite {path}: {e.strerror}") from None
    try:
        return store_db.create_db(path)
    except sqlite3.Error as e:
        raise CltraceError(f"cannot write {path}: {e}") from None


def check_output_file(path: str) -> None:
    """Refuse, before any work, a file that cannot be written: one line, exit 1 (plot -o, export -o)."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CltraceError(f"cannot write {path}: it is a directory")
    if not os.path.isdir(parent):
        what = "is not a directory" if os.path.exists(parent) else "does not exist"
        raise CltraceError(f"cannot write {path}: directory {parent} {what}")
    if not os.access(parent, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise CltraceError(f"cannot write {path}: permission denied")


def write_error(path: str, e: OSError) -> CltraceError:
    """An OSError met while writing `path` (read-only file system, disk full, ...) as one line."""
    return CltraceError(f"cannot write {path}: {e.strerror or e}")


def parse_tags(items):
    """--tag key=value (repeatable) -> dict; a clear error for anything else."""
    tags = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            from ..errors import UsageError
            raise UsageError(f"--tag expects key=value, got '{item}'")
        tags[key.strip()] = value
    return tags
