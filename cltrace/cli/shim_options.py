"""`cltrace run`/`sweep` flags generated from the options table, and the env they set."""
import argparse
from typing import Dict

from ..capture.modes import MODES
from ..options import all_options


def _dest(env: str) -> str:
    return "opt_" + env.lower()


def add_shim_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capture options (each sets the CLTRACE_* variable named)")
    for opt in all_options():
        if not opt.user_facing:
            continue
        text = f"{opt.help} [{opt.env}]"
        if opt.env == "CLTRACE_MODE":
            group.add_argument("--mode", dest=_dest(opt.env), choices=MODES, default="auto",
                               help=text + " auto: layer when the ICD loader supports layers, else preload.")
        elif opt.kind == "BOOL":
            # A flag flips the default: --no-x turns a default-on control off, --x turns one on.
            action = "store_false" if opt.default == "1" else "store_true"
            group.add_argument(opt.flag, dest=_dest(opt.env), action=action, default=opt.default == "1",
                               help=("Turn off (on by default): " + text) if action == "store_false" else text)
        else:
            group.add_argument(opt.flag, dest=_dest(opt.env), default=None,
                               type=int if opt.kind == "INT" else str, metavar=opt.kind,
                               help=f"{text} (default {opt.default or 'none'})")


def shim_settings(args: argparse.Namespace) -> Dict[str, str]:
    """CLTRACE_* variables for the child; only those that differ from the shim's defaults."""
    out = {}
    for opt in all_options():
        if not opt.user_facing or opt.env == "CLTRACE_MODE":
            continue
        value = getattr(args, _dest(opt.env), None)
        if opt.kind == "BOOL":
            value = "1" if value else "0"
            if value != opt.default:
                out[opt.env] = value
        elif value is not None:
            if opt.kind == "INT" and value <= 0:
                from ..errors import UsageError
                raise UsageError(f"{opt.flag} must be a positive number, not {value}")
            out[opt.env] = str(value)
    return out


def requested_mode(args: argparse.Namespace) -> str:
    return getattr(args, _dest("CLTRACE_MODE"))
