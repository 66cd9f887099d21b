"""The CLTRACE_* controls, read from native/cltrace_options.def (their one declaration).

CLT_OPTION entries are the shim's (it compiles the file); CLT_PY_OPTION entries are read or set by cltrace's
Python side only. Python code reads its own through env_value() / env_on(), which know each one's default and
fail on a name the table does not declare.
"""
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Mapping, Optional

from .native import shipped_file

_ENTRY = re.compile(
    r'^CLT_OPTION\(\s*(\w+)\s*,\s*(STR|INT|BOOL)\s*,\s*"([^"]*)"\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')
_PY_ENTRY = re.compile(r'^CLT_PY_OPTION\(\s*(\w+)\s*,\s*(STR|INT|BOOL)\s*,\s*"([^"]*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')
SHIM, PYTHON = "shim", "python"


@dataclass(frozen=True)
class Option:
    env: str          # CLTRACE_TIMING
    kind: str         # STR | INT | BOOL
    default: str
    flag: str         # the `cltrace run` flag, or "-" when only cltrace sets it (always "-" for PYTHON)
    help: str
    reader: str = SHIM  # SHIM: the native shim reads it; PYTHON: cltrace's Python side only

    @property
    def user_facing(self) -> bool:
        return self.flag != "-"


@lru_cache(maxsize=1)
def all_options() -> List[Option]:
    """Every entry of the table, in its order: the shim's, then Python's."""
    with open(shipped_file("cltrace_options.def")) as f:
        text = f.read()
    found = []
    for line in text.splitlines():
        m = _ENTRY.match(line.strip())
        if m:
            found.append(Option(*m.groups()))
            continue
        m = _PY_ENTRY.match(line.strip())
        if m:
            env, kind, default, help_ = m.groups()
            found.append(Option(env, kind, default, "-", help_, PYTHON))
    if not any(o.reader == SHIM for o in found):
        raise RuntimeError("cltrace_options.def holds no CLT_OPTION entries")
    return found


def by_env(name: str) -> Option:
    for o in all_options():
        if o.env == name:
            return o
    raise KeyError(name)


def env_value(name: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The variable as set in `environ` (default os.environ), or its declared default when unset or empty.
    KeyError for a name cltrace_options.def does not declare."""
    option = by_env(name)
    value = (os.environ if environ is None else environ).get(name)
    return value if value else option.default


def env_on(name: str, environ: Optional[Mapping[str, str]] = None) -> bool:
    """A BOOL variable, by the shim's rule (native/options.c): off when 0, false, no or off (any case)."""
    return env_value(name, environ).lower() not in ("0", "false", "no", "off")
