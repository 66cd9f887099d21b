"""Text from the traced program or the command line (argv, sweep values, a failing program's stderr) made
safe for a terminal: control characters (C0 but none kept, DEL, C1, bidi overrides) written as `\\xNN` /
`\\uNNNN`, so that an OSC title sequence or `ESC[2J` is shown, never obeyed. (The report's own text goes
through cltrace.report.safe_text, the same rule.)"""
import re

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    s = text if isinstance(text, str) else str(text)
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                         else f"\\u{ord(m.group(0)):04x}", s)


def info(message) -> None:
    """One `cltrace:` line on stderr, control characters shown escaped (the CLI's own info(), for the code
    below the CLI that speaks to the user: the sweep's progress)."""
    import sys
    print(f"cltrace: {printable(message)}", file=sys.stderr)
