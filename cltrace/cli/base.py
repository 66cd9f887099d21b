"""What every command shares: argparse wiring, the exit codes, and the helpers several commands use (opening a
trace, checking --run, rendering a document). The heavy modules (pandas behind cltrace.trace and the report) are
imported when a command needs them, so `cltrace --help` and `cltrace run` start fast."""
import argparse

from ..errors import NoSuchRun

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class Command:
    """One `cltrace NAME` subcommand. run() returns the process exit code."""

    name = ""
    help = ""
    description = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def run(self, args: argparse.Namespace) -> int:
        raise NotImplementedError


def open_trace(path):
    """The trace at `path`, for reading (cltrace.open)."""
    from ..trace import open as _open
    return _open(path)


def check_run(trace, run) -> None:
    """--run N names a run of the trace (None: every run)."""
    if run is not None and run not in set(trace.runs["run_id"].tolist()):
        raise NoSuchRun(trace.path, run)


def render(doc, fmt, file=None) -> None:
    """Write the document in --format `fmt` (report/render.py) to `file` (default: standard output)."""
    from ..report.render import render as _render
    _render(doc, fmt, file)
