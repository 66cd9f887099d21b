"""The `cltrace` entry point: subcommands, and errors turned into one line and an exit code."""
import argparse
import sqlite3
import sys
from typing import List, Optional

from .._version import __version__
from ..errors import CltraceError, UsageError
from ..printable import info
from .base import EXIT_ERROR, EXIT_USAGE, Command
from .suggest import with_suggestion


def commands() -> List[Command]:
    from .devices import DevicesCommand
    from .report import ReportCommand
    from .run import RunCommand
    from .sweep import SweepCommand
    from .analysis_commands import ExportCommand, PlotCommand
    from .diff import DiffCommand
    from .ingest import IngestCommand
    from .farm import FarmCommand
    from .network import NetworkCommand, NetworkMapCommand, NetworkPredictCommand
    return [RunCommand(), SweepCommand(), ReportCommand(), PlotCommand(), DiffCommand(), ExportCommand(),
            DevicesCommand(), IngestCommand(), FarmCommand(), NetworkCommand(), NetworkMapCommand(),
            NetworkPredictCommand()]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors end as one `cltrace: ...` line and exit code 2, with the nearest valid
    command, choice or option suggested (suggest.py)."""

    argv_seen: List[str] = []

    def error(self, message):
        message = with_suggestion(message, self, self.argv_seen)
        raise UsageError(f"{self.prog.replace('cltrace ', '')}: {message}" if " " in self.prog else message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cltrace", description="Trace OpenCL kernel launches and explain latency staircases.",
                     epilog="Run 'cltrace COMMAND --help' for a command's options. Exit codes: 0 ok, 1 error, "
                            "2 usage error; 'run' exits with the traced program's status.")
    parser.add_argument("--version", action="version", version=f"cltrace {__version__}")
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", parser_class=_Parser)
    for cmd in commands():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_command=cmd)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        parser.argv_seen = list(argv)
        args = parser.parse_args(argv)
        if not getattr(args, "_command", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args._command.run(args)
    except UsageError as e:
        info(str(e))
        return EXIT_USAGE
    except CltraceError as e:
        info(str(e))
        return getattr(e, "exit_code", EXIT_ERROR)
    except sqlite3.Error as e:
        info(f"trace database error: {e}")
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except KeyboardInterrupt:
        info("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
