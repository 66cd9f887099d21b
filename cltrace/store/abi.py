"""The store's C/Python boundary, read from native/cltrace_store.h (its one declaration).

- CDEF: the header's CFFI-BEGIN..CFFI-END block (clt_launch_src, the sentinels, the library's functions), which
  store/fast.py hands to cffi.cdef(): the struct is laid out from the same text the C code compiles.
- STATUS_NAMES / API_NAMES: launch_rows.status and dispatches.api, code -> text, from the header's X-macro
  lists (CLT_STORE_STATUSES, CLT_STORE_APIS); STATUS / API: text -> code.
- C: every CLT_* constant of the header (C.CLT_STATUS_MISSING, C.CLT_NO_TIMES_PENDING_EXIT, C.CLT_API_UNKNOWN).

Plain text parsing, no cffi: the analysis and report side read the names without loading anything.
"""
import re
from types import SimpleNamespace
from typing import Dict, List, Tuple

from ..native import shipped_file

HEADER_NAME = "cltrace_store.h"


def _read(path=None) -> str:
    with open(path or shipped_file(HEADER_NAME)) as f:
        return f.read()


def cdef_source(text: str) -> str:
    m = re.search(r"/\* CFFI-BEGIN \*/(.*?)/\* CFFI-END \*/", text, re.S)
    if not m:
        raise ImportError(f"cltrace: {HEADER_NAME} has no CFFI-BEGIN/CFFI-END block")
    return m.group(1)


def code_list(text: str, macro: str) -> List[Tuple[int, str, str]]:
    """The (code, NAME, "text") entries of the X-macro list `#define macro(X) X(...) \\ ...`, in order."""
    m = re.search(r"^#define\s+" + macro + r"\(X\)((?:.*\\\n)*.*)$", text, re.M)
    if not m:
        raise ImportError(f"cltrace: {HEADER_NAME} does not define {macro}")
    body = re.sub(r"/\*.*?\*/", " ", m.group(1), flags=re.S)
    entries = [(int(c), n, t) for c, n, t in re.findall(r'X\(\s*(-?\d+)\s*,\s*(\w+)\s*,\s*"([^"]*)"\s*\)', body)]
    if [c for c, _, _ in entries] != list(range(len(entries))) or not entries:
        raise ImportError(f"cltrace: {HEADER_NAME}: {macro} must number its entries 0..n-1 in order")
    return entries


def constants(text: str) -> Dict[str, int]:
    """Every CLT_* integer constant: the X-macro entries and the enums of the CFFI block."""
    out = {n: c for macro in ("CLT_STORE_STATUSES", "CLT_STORE_APIS") for c, n, _ in code_list(text, macro)}
    block = re.sub(r"/\*.*?\*/", " ", cdef_source(text), flags=re.S)
    out.update({n: int(v, 0) for n, v in re.findall(r"\b(CLT_[A-Z0-9_]+)\s*=\s*(-?(?:0x[0-9a-fA-F]+|\d+))", block)})
    return out


_TEXT = _read()
CDEF = cdef_source(_TEXT)
STATUS_NAMES: List[str] = [t for _, _, t in code_list(_TEXT, "CLT_STORE_STATUSES")]
API_NAMES: List[str] = [t for _, _, t in code_list(_TEXT, "CLT_STORE_APIS")]
STATUS: Dict[str, int] = {t: c for c, t in enumerate(STATUS_NAMES)}
API: Dict[str, int] = {t: c for c, t in enumerate(API_NAMES)}
C = SimpleNamespace(**constants(_TEXT))
