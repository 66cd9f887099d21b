"""A report as data: titled sections that every output format renders the same way."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pandas as pd


@dataclass
class Section:
    title: str
    kind: str                              # fields | table | lines
    fields: Dict[str, Any] = field(default_factory=dict)
    table: Optional[pd.DataFrame] = None
    lines: List[str] = field(default_factory=list)
    key: str = ""                          # stable machine name (json keys, csv section names)
    data: Any = None                       # extra structured content for json (e.g. staircase dict)
    caption: str = ""                      # one line under a table (text, markdown): how to read it
    keys: int = 1                          # leading columns repeated when a narrow terminal splits the table


@dataclass
class Document:
    title: str
    sections: List[Section] = field(default_factory=list)
    json: Any = None                       # its own JSON object (or a function making it), when it has a schema

    def add(self, section: Section) -> None:
        self.sections.append(section)
