"""What every command shares: argparse wiring and the error -> exit code mapping."""
import argparse
import sys

from ..printable import printable

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


def err(message: str) -> None:
    """One line on stderr, prefixed so it is clear who is speaking; control characters (from argv, paths,
    tags, a program's stderr) are shown escaped, never sent to the terminal."""
    print(f"cltrace: {printable(message)}", file=sys.stderr)


def info(message: str) -> None:
    print(f"cltrace: {printable(message)}", file=sys.stderr)
