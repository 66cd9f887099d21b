"""What every command shares: argparse wiring and the error -> exit code mapping."""
import argparse
import sys

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
    """One line on stderr, prefixed so it is clear who is speaking."""
    print(f"cltrace: {message}", file=sys.stderr)


def info(message: str) -> None:
    print(f"cltrace: {message}", file=sys.stderr)
