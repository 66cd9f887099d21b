"""cltrace run: trace one program into a trace file."""
import argparse

from ..capture.session import trace_into
from ..errors import UsageError
from .base import Command, info
from .outputs import open_output, parse_tags
from .shim_options import add_shim_options, requested_mode, shim_settings

USAGE_HINT = "usage: cltrace run [options] -- COMMAND [ARGS...]"


def split_command(argv_after_options):
    """The command after '--'. argparse.REMAINDER keeps the '--'; we insist on it."""
    rest = list(argv_after_options or [])
    if not rest:
        raise UsageError(f"no command given ({USAGE_HINT})")
    if rest[0] != "--":
        raise UsageError(f"put '--' before the command to trace, e.g. cltrace run -- {' '.join(rest)}")
    if len(rest) == 1:
        raise UsageError(f"no command given after '--' ({USAGE_HINT})")
    return rest[1:]


class RunCommand(Command):
    name = "run"
    help = "run a program with every OpenCL kernel launch recorded into a trace file"
    description = (
        "Runs COMMAND with the cltrace shim loaded and writes every kernel launch (name, sizes, "
        "host and device timestamps, queue, thread, device) to an SQLite trace. The exit status "
        "is COMMAND's own (128+N if it was killed by signal N; 127 if it was not found).")

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("-o", "--output", default="trace.db", metavar="PATH",
                       help="trace file to write (default: trace.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--append", action="store_true", help="add this run to an existing trace file")
        p.add_argument("--tag", action="append", metavar="KEY=VALUE",
                       help="label the run (repeatable), e.g. --tag channels=92")
        p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
        add_shim_options(p)
        p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")

    def run(self, args) -> int:
        argv = split_command(args.command)
        tags = parse_tags(args.tag)
        settings = shim_settings(args)
        conn = open_output(args.output, args.force, args.append)
        try:
            traced = trace_into(conn, argv, mode=requested_mode(args), settings=settings, tags=tags)
        finally:
            conn.close()
        child = traced.child
        if child.status in ("not-found", "not-executable"):
            reason = "not found" if child.exit_status == 127 else "not executable"
            info(f"{argv[0]}: command {reason}")
        else:
            for warning in traced.stats.warnings:
                info(f"warning: {warning}")
            if not args.quiet:
                info(traced.stats.summary_line(args.output, child))
        return child.exit_status
