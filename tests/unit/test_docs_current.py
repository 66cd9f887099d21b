import os

from cltrace.cli.docgen import render

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_cli_reference_is_current():
    with open(os.path.join(ROOT, "docs", "cli.md")) as f:
        assert f.read() == render(), "docs/cli.md is stale: run ./dev docs"
