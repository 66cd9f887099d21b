"""How cltrace connects to a trace file: a writer's connection (WAL while it writes) or a read-only one.

Below db.py and migrate.py, which both open trace files (db.open_db upgrades an older trace through migrate.py,
and migrate.py opens a writable connection of its own), so neither imports the other's caller.
"""
import os
import sqlite3


class WriterConnection(sqlite3.Connection):
    """A writer's connection: WAL while it writes (readers are not blocked), rollback-journal mode again when it
    closes. A trace left in WAL mode makes every later reader create -wal and -shm files beside it, which a
    read-only connection cannot remove; back in rollback mode, reading a finished trace leaves nothing behind.
    When another connection still has the trace open the switch is skipped, and the trace stays in WAL mode
    until the next writer closes it."""

    def close(self):
        try:
            if self.in_transaction:
                self.rollback()         # close() discards it anyway; the mode can only change outside one
            self.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error:
            pass
        super().close()


def connect(path, write):
    """A writer's connection (WAL while it writes) when `write`, else a read-only one."""
    if not write:
        return connect_readonly(path)
    conn = sqlite3.connect("file:%s?mode=rw" % _quote(os.path.abspath(path)), uri=True, timeout=30,
                           factory=WriterConnection)
    tune(conn)
    return conn


# what SQLite says when a WAL trace cannot be read in place: its -shm file cannot be created or written
_NEEDS_IMMUTABLE = ("unable to open database file", "readonly database", "attempt to write")


def connect_readonly(path, **kwargs) -> sqlite3.Connection:
    """A read-only connection. A trace on read-only media, or in a directory the user cannot write, cannot be
    opened the usual way (a WAL database needs its -shm file): it is then opened immutable (nothing can be
    writing it there), instead of being mistaken for "not a SQLite database"."""
    q = _quote(os.path.abspath(path))
    conn = sqlite3.connect(f"file:{q}?mode=ro", uri=True, timeout=30, **kwargs)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError as e:
        conn.close()
        if not any(m in str(e) for m in _NEEDS_IMMUTABLE):
            raise
    except sqlite3.DatabaseError:   # not a database at all: check_db says so
        return conn
    return sqlite3.connect(f"file:{q}?mode=ro&immutable=1", uri=True, timeout=30, **kwargs)


def _quote(path):
    from urllib.parse import quote
    return quote(path)


def tune(conn):
    # cltrace's own temporary files (statement journals, sorts) in memory, not in TMPDIR: TMPDIR is where the
    # capture files are, and when that disk is full the trace must still be writable
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
