"""What every command shares: argparse wiring, the exit codes, and the helpers several commands use (opening a
trace, checking --run, rendering a document). The heavy modules (pandas behind cltrace.trace and the report) are
imported when a command needs them, so `cltrace --help` and `cltrace run` start fast."""
import argparse

from ..errors import CltraceError, NoSuchRun, UsageError

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


def launch_samples(trace, run=None):
    """The trace's samples (of run `run`, else every run); an error when it holds no kernel launches."""
    if not trace.db.execute("SELECT EXISTS(SELECT 1 FROM launch_rows)").fetchone()[0]:
        raise CltraceError(f"{trace.path} holds no kernel launches")
    return trace.samples(run)


def adaptive_budget(args, first_pass: int) -> bool:
    """Whether --adaptive is on, after checking its budget (the sweep and network commands share the options):
    --max-runs / --max-minutes alone, fewer runs than the first pass, or no positive time are usage errors."""
    if not args.adaptive:
        for flag, value in (("--max-runs", args.max_runs), ("--max-minutes", args.max_minutes)):
            if value is not None:
                raise UsageError(f"{flag} is a budget of --adaptive: give --adaptive too, or leave {flag} out")
        return False
    if args.max_runs is not None and args.max_runs < first_pass:
        raise UsageError(f"--max-runs {args.max_runs} is less than the first pass ({first_pass} runs): "
                         f"give at least {first_pass}")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise UsageError(f"--max-minutes must be positive, not {args.max_minutes:g}")
    return True
