"""Text that reaches a terminal or a text file: control characters made visible, long names shortened.

Tag values, sweep values, argv, paths and kernel names come from the traced program or the user; printed raw,
an OSC title sequence or `ESC[2J` would act on the reader's terminal. Every text output (report, diff, export
CSV, plot labels, error lines) passes through `escape_controls`, which is cltrace/printable.py's rule (the
one definition): C0/C1 control characters, DEL and the Unicode bidirectional overrides become `\\xNN` /
`\\uNNNN`. JSON needs nothing (it escapes them itself). rich markup is the renderer's business: it prints these
strings as `rich.text.Text`, never as markup.
"""
import re

import pandas as pd

from ..printable import printable as escape_controls     # the one escaping rule, under the report's name

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.$]*")
ELLIPSIS = "\u2026"


def shorten_middle(name: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`name` cut in the middle to at most `limit` characters: the start and the end (where shape and variant
    tokens sit) stay readable: 'conv_forward_…_M61_K576'."""
    if len(name) <= limit or limit < 5:
        return name
    keep = limit - len(ellipsis)
    head = (keep + 1) // 2
    return name[:head] + ellipsis + name[len(name) - (keep - head):]


def shorten_names(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Every identifier-like word of `text` longer than `limit` shortened in the middle (kernel names of real
    libraries run to 80 characters). Numbers are never touched: they do not start with a letter."""
    if len(text) <= limit:
        return text
    return _IDENT.sub(lambda m: shorten_middle(m.group(0), limit, ellipsis), text)


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and column names) have their control characters escaped: for CSV files."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
            out[c] = col.astype(object).map(lambda v: escape_controls(v) if isinstance(v, str) else v)
    out.columns = [escape_controls(str(c)) for c in out.columns]
    return out
