"""The one escaping rule: text from the traced program or the user (argv, tags, sweep values, paths, kernel
names, a failing program's stderr) made safe for a terminal or a text file. Control characters (C0, DEL, C1
and the Unicode bidirectional overrides that reorder what a reader sees) are written as `\\xNN` / `\\uNNNN`, so
that an OSC title sequence or `ESC[2J` is shown, never obeyed.

Every layer prints through here: the CLI's and the sweep's `cltrace:` lines (info), the report's text, CSV and
plot labels (report/safe_text.py, which adds the name shortening). A leaf module: it imports nothing of cltrace.
"""
import re
import sys

# C0 but newline and tab (those two are escaped unless kept), DEL, C1, and the bidi controls
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ANY = re.compile(f"[\t\n{_CONTROLS}]")
_NOT_NEWLINE = re.compile(f"[{_CONTROLS}]")


def _visible(m: "re.Match") -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text, keep_newlines: bool = False) -> str:
    """`text` with every control character written out (`\\x1b`); newlines and tabs kept only when asked."""
    s = text if isinstance(text, str) else str(text)
    return (_NOT_NEWLINE if keep_newlines else _ANY).sub(_visible, s)


def info(message) -> None:
    """One `cltrace:` line on stderr, control characters shown escaped: the CLI's messages and errors, and the
    code below the CLI that speaks to the user (the sweep's progress)."""
    print(f"cltrace: {printable(message)}", file=sys.stderr)
