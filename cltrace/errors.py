"""Exceptions with a one-line, user-facing message (str(exc) is what the CLI prints).

The CLI maps UsageError to exit status 2 and every other CltraceError to 1.
"""


class CltraceError(Exception):
    """Base class: anything cltrace reports to the user as a plain error."""


class UsageError(CltraceError):
    """The command line itself was wrong (exit status 2)."""


class CaptureError(CltraceError):
    """A capture file cannot be read at all."""


class CaptureNotFound(CaptureError):
    def __init__(self, path):
        super().__init__(f"{path}: no such capture file")


class BadCaptureMagic(CaptureError):
    def __init__(self, path):
        super().__init__(f"{path} does not look like a cltrace capture file (bad magic)")


class NewerCaptureFormat(CaptureError):
    def __init__(self, path, version, supported):
        super().__init__(f"{path} was written by a newer cltrace (capture format {version}, "
                         f"this cltrace reads up to {supported})")


class CorruptCaptureHeader(CaptureError):
    def __init__(self, path, what):
        super().__init__(f"{path} has a corrupt capture file header ({what})")


class TraceError(CltraceError):
    """A trace database cannot be opened or used."""


class TraceNotFound(TraceError):
    def __init__(self, path):
        super().__init__(f"{path}: no such trace file")


class NotSQLite(TraceError):
    def __init__(self, path):
        super().__init__(f"{path} is not a SQLite database")


class NotATrace(TraceError):
    def __init__(self, path):
        super().__init__(f"{path} is a SQLite database but not a cltrace trace")


class NewerSchema(TraceError):
    def __init__(self, path, version, supported):
        super().__init__(f"{path} was written by a newer cltrace (schema {version}, "
                         f"this cltrace reads up to {supported})")


class UpgradeImpossible(TraceError):
    """An older trace that this cltrace would upgrade in place, but the file cannot be written."""

    def __init__(self, path, version, supported, reason):
        super().__init__(f"{path} uses trace schema {version}; this cltrace reads schema {supported} and could not "
                         f"upgrade it in place ({reason}); copy it somewhere writable and run any cltrace "
                         f"command on the copy")


class NoSuchRun(TraceError):
    def __init__(self, path, run_id):
        super().__init__(f"{path} has no run {run_id}")


class DamagedTrace(TraceError):
    """A trace whose tables cannot be read as cltrace wrote them (cut short, bits flipped, edited)."""

    def __init__(self, path, table, reason):
        first = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
        super().__init__(f"{path} is damaged: its {table} table cannot be read ({first})")


class CapturesKept(CltraceError):
    """A traced program ran, but its run could not be recorded: the capture files are kept, with the one
    command that records them later. exit_code: what the CLI exits with (130 after an interrupt)."""

    def __init__(self, reason, capture_dir, recover, exit_code=1):
        super().__init__(f"{reason}; the capture files are kept in {capture_dir}: record the run with: {recover}")
        self.capture_dir = capture_dir
        self.exit_code = exit_code
