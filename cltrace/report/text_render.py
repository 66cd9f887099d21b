"""A Document as text: rich (colour, light boxes) on a terminal, plain ASCII tables when piped.

Everything printed is a `rich.text.Text`, so a tag value such as `[red]x` prints as itself; control
characters are written out (safe_text.escape_controls), long kernel names cut in the middle (their whole
names are in the JSON and CSV outputs), and tables are fitted to the width (text_table).
"""
import io

import pandas as pd
from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .cells import cell
from .document import Document, Section
from .safe_text import ELLIPSIS, escape_controls, shorten_names
from .text_table import Column, fit, name_limit, output_width

FIELD_KEY_WIDTH = 18


class TextRenderer:
    def __init__(self, file, width=None):
        self.file = file
        self.terminal = bool(file.isatty()) if hasattr(file, "isatty") else False
        self.width = width or output_width(file, self.terminal)
        # piped: rendered into a buffer first, so the lines can lose the blanks rich pads them with
        self.buffer = None if self.terminal else io.StringIO()
        self.console = Console(file=file if self.terminal else self.buffer, width=self.width,
                               no_color=not self.terminal, highlight=False, emoji=False, markup=False,
                               soft_wrap=False, force_terminal=self.terminal or None)
        self.limit = name_limit(self.width)
        enc = getattr(file, "encoding", None) or "utf-8"
        try:
            ELLIPSIS.encode(enc)
            self.ellipsis = ELLIPSIS
        except (UnicodeEncodeError, LookupError):
            self.ellipsis = "..."
        # the terminal's light box has an edge on either side; the piped ASCII table has none
        self.edge = 2 if self.terminal else 0

    def clean(self, value) -> str:
        return shorten_names(escape_controls(cell(value)), self.limit, self.ellipsis)

    def document(self, doc: Document) -> None:
        title = self.clean(doc.title)
        self.console.print(Text(title, style="bold") if self.terminal else Text(title))
        for s in doc.sections:
            self.console.print()
            heading = self.clean(s.title)
            self.console.print(Text(heading, style="bold cyan") if self.terminal else Text(f"== {heading} =="))
            getattr(self, f"_{s.kind}", self._lines)(s)
        if self.buffer is not None:
            self.file.write("".join(line.rstrip() + "\n" for line in self.buffer.getvalue().splitlines()))

    def _fields(self, s: Section) -> None:
        grid = Table.grid(padding=(0, 1))
        keys = [self.clean(k) for k in s.fields]
        grid.add_column(width=max([FIELD_KEY_WIDTH] + [min(len(k), 30) for k in keys]), no_wrap=True)
        grid.add_column()
        for k, v in zip(keys, s.fields.values()):
            grid.add_row(Text(k), Text(self.clean(v)))
        self.console.print(Padding(grid, (0, 0, 0, 2), expand=False))

    def _lines(self, s: Section) -> None:
        for line in s.lines or ["(none)"]:
            self.console.print(Padding(Text(self.clean(line)), (0, 0, 0, 2), expand=False))
        self._caption(s)

    def _caption(self, s: Section) -> None:
        """The line saying what the section's figures are (captions.py), under its table or list."""
        if s.caption:
            self.console.print(Padding(Text(self.clean(s.caption), style="dim" if self.terminal else ""),
                                       (0, 0, 0, 2), expand=False))

    def _table(self, s: Section) -> None:
        t = s.table if s.table is not None else pd.DataFrame()
        if t.empty:
            self.console.print(Padding(Text("(none)"), (0, 0, 0, 2), expand=False))
        else:
            columns = [Column(self.clean(c), [self.clean(v) for v in t[c]],
                              right=pd.api.types.is_numeric_dtype(t[c]) and not pd.api.types.is_bool_dtype(t[c]))
                       for c in t.columns]
            parts = fit(columns, self.width, keys=s.keys, edge=self.edge)
            for n, part in enumerate(parts):
                if n:
                    self.console.print(Text(f"  (continued, part {n + 1} of {len(parts)}: the same rows, "
                                            f"more columns)"))
                self.console.print(self._rich_table(columns, part))
        self._caption(s)

    def _rich_table(self, columns, part) -> Table:
        table = Table(box=box.SIMPLE_HEAD if self.terminal else box.ASCII2, show_edge=self.terminal,
                      pad_edge=False, expand=False)
        for i, w in part:
            table.add_column(Text(columns[i].header), justify="right" if columns[i].right else "left",
                             width=w, overflow="fold")
        for r in range(len(columns[0].cells)):
            table.add_row(*[Text(columns[i].cells[r]) for i, _ in part])
        return table
