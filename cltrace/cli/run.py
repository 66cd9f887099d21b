"""cltrace run: trace one program into a trace file."""
import argparse
import os

from ..capture import emulation, leftovers
from ..capture.preflight import find_command, is_setid
from ..record.session import trace_into
from ..errors import UsageError
from ..store.writer_lock import open_locked
from ..printable import info
from .base import Command
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
        "is COMMAND's own (128+N if it was killed by signal N; 127 if it was not found). An aarch64 "
        "program on an x86_64 host (or COMMAND = qemu-aarch64-static ...) runs under qemu-user with cltrace's "
        "aarch64 shim, and the run is marked emulated (docs/acl.md).")

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
        path, problem = find_command(argv[0])
        if problem:     # before the trace is touched: -f must not delete it for a typo
            info(f"{argv[0]}: command {problem}")
            return 127 if problem == "not found" else 126
        emulation.detect(argv, os.environ)      # a guest program that cannot be traced: say so before the trace
        for line in ([] if args.quiet else leftovers.notice_lines()):
            info(line)
        if is_setid(path):
            info(f"warning: {argv[0]} is setuid or setgid: the shim stays inert in it and records nothing; "
                 f"trace a copy without the setuid/setgid bit")
        conn, lock = open_locked(args.output, lambda: open_output(args.output, args.force, args.append))
        try:
            traced = trace_into(conn, argv, mode=requested_mode(args), settings=settings, tags=tags)
        finally:
            conn.close()
            lock.release()
        child = traced.child
        if child.status in ("not-found", "not-executable"):
            reason = "not found" if child.exit_status == 127 else "not executable"
            info(f"{argv[0]}: command {reason}")
        else:
            for warning in traced.stats.warnings:
                info(f"warning: {warning}")
            if not args.quiet:
                info(traced.stats.summary_line(args.output, child))
        # Ctrl-C or SIGTERM after the program ended (no program left to pass it on to): the run is recorded as
        # it ended, and cltrace reports the interrupt as a shell would
        return 128 + child.late_signal if child.late_signal else child.exit_status
