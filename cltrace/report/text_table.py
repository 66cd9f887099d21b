"""Fitting a table into a terminal of a given width without ever breaking a number or a word.

Each column gets at least its longest word (a number is one word), so the renderer can only wrap text at
spaces. When the columns do not fit side by side, the table is cut into parts of whole columns, each part
repeating the key columns (run, kernel, group, ...) so its rows can still be told apart.
"""
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

GAP = 3                       # ' | ' (or the blank box's three characters) between two columns
MIN_WIDTH, PIPED_WIDTH = 40, 200
TEXT_MIN = 24                 # a text column narrower than this (when its text is longer) goes to the next part


@dataclass
class Column:
    header: str
    cells: List[str]
    right: bool = False       # numbers: right-justified

    @property
    def natural(self) -> int:
        return max([len(self.header)] + [len(c) for c in self.cells])

    @property
    def minimum(self) -> int:
        """The longest word (numbers are one word); a text column wants some room besides, up to TEXT_MIN,
        rather than one word per line."""
        words = max([len(w) for text in [self.header] + self.cells for w in text.split()] + [1])
        return words if self.right else max(words, min(self.natural, TEXT_MIN))


def output_width(file=None, terminal: bool = False, environ=None) -> int:
    """Columns to lay text out in: $COLUMNS when set (piped or not), else the terminal's width, else 200."""
    environ = os.environ if environ is None else environ
    cols = str(environ.get("COLUMNS", "")).strip()
    if cols.isdigit() and int(cols) > 0:
        return max(MIN_WIDTH, int(cols))
    if terminal and file is not None:
        try:
            return max(MIN_WIDTH, os.get_terminal_size(file.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            pass
    return PIPED_WIDTH


def table_width(widths: Sequence[int], edge: int = 0) -> int:
    return sum(widths) + GAP * (len(widths) - 1) + edge


def column_groups(columns: Sequence[Column], width: int, keys: int = 1, edge: int = 0) -> List[List[int]]:
    """Indices of the columns of each part: all of them when they fit at their minimum widths, else parts
    that each start with the first `keys` columns (fewer when the keys alone leave no room)."""
    n = len(columns)
    mins = [c.minimum for c in columns]
    if n == 0 or table_width(mins, edge) <= width:
        return [list(range(n))]
    keys = min(keys, n - 1)
    while keys > 1 and table_width(mins[:keys] + [max(mins[keys:])], edge) > width:
        keys -= 1
    key = list(range(keys))
    parts: List[List[int]] = []
    current: List[int] = []
    for i in range(keys, n):
        if current and table_width([mins[j] for j in key + current + [i]], edge) > width:
            parts.append(current)
            current = []
        current.append(i)
    parts.append(current)
    return [key + p for p in parts]


def column_widths(columns: Sequence[Column], group: Sequence[int], width: int, edge: int = 0) -> List[int]:
    """Widths of the group's columns: each at least its minimum; the room left goes to the columns that
    would wrap (text), in proportion to what they lack, up to their natural width."""
    widths = [columns[i].minimum for i in group]
    room = width - table_width(widths, edge)
    want = [columns[i].natural - w for i, w in zip(group, widths)]
    while room > 0 and any(want):
        lacking = [k for k, w in enumerate(want) if w > 0]
        share = max(1, room // len(lacking))
        for k in lacking:
            give = min(share, want[k], room)
            widths[k] += give
            want[k] -= give
            room -= give
            if room <= 0:
                break
    return widths


def fit(columns: Sequence[Column], width: int, keys: int = 1, edge: int = 0) -> List[List[tuple]]:
    """Each part as a list of (column index, width)."""
    return [list(zip(g, column_widths(columns, g, width, edge))) for g in column_groups(columns, width, keys, edge)]


def name_limit(width: Optional[int]) -> int:
    """How long a kernel name may stay in a table of this width (longer ones are cut in the middle)."""
    return 40 if not width else max(16, min(40, width // 3))
