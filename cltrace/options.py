"""The CLTRACE_* controls, read from native/cltrace_options.def (their one declaration)."""
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import List

from .native import shipped_file

_ENTRY = re.compile(
    r'^CLT_OPTION\(\s*(\w+)\s*,\s*(STR|INT|BOOL)\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')


@dataclass(frozen=True)
class Option:
    env: str          # CLTRACE_TIMING
    kind: str         # STR | INT | BOOL
    default: str
    flag: str         # the `cltrace run` flag, or "-" when only cltrace sets it
    help: str

    @property
    def user_facing(self) -> bool:
        return self.flag != "-"


@lru_cache(maxsize=1)
def all_options() -> List[Option]:
    with open(shipped_file("cltrace_options.def")) as f:
        text = f.read()
    found = [Option(*m.groups()) for m in (_ENTRY.match(line.strip()) for line in text.splitlines()) if m]
    if not found:
        raise RuntimeError("cltrace_options.def holds no CLT_OPTION entries")
    return found


def by_env(name: str) -> Option:
    for o in all_options():
        if o.env == name:
            return o
    raise KeyError(name)
