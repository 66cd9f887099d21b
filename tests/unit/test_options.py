import argparse
import re

from cltrace.cli.shim_options import add_shim_options, shim_settings
from cltrace.native import shipped_file
from cltrace.options import all_options


def test_every_entry_of_the_def_file_is_parsed():
    lines = [line for line in open(shipped_file("cltrace_options.def")) if line.startswith("CLT_OPTION(")]
    assert len(all_options()) == len(lines) >= 5
    assert all(re.match(r"CLTRACE_[A-Z_]+$", o.env) for o in all_options())


def test_flags_map_to_environment():
    p = argparse.ArgumentParser()
    add_shim_options(p)
    assert shim_settings(p.parse_args([])) == {}
    s = shim_settings(p.parse_args(["--no-timing", "--chunk-kb", "64", "--debug"]))
    assert s == {"CLTRACE_TIMING": "0", "CLTRACE_CHUNK_KB": "64", "CLTRACE_DEBUG": "1"}


def test_help_comes_from_the_table():
    p = argparse.ArgumentParser()
    add_shim_options(p)
    text = p.format_help()
    for o in all_options():
        if o.user_facing:
            assert o.env in text
