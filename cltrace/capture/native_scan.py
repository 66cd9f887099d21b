"""The capture-file record walk in C: libcltrace_scan.so (native/capture_scan.c) through cffi, ABI mode.

`walk()` applies the reader's rule (scan_py.walk, the reference) to every chunk of a file and returns None
when the library is not built or CLTRACE_NATIVE_SCAN=0: the reader then uses the reference scan (scan_py.scan).
"""
import os
import re
from typing import List, Optional, Tuple

import numpy as np

from ..native import NATIVE_DIR, shipped_file
from ..options import env_on
from .format import CHUNK_HEADER_SIZE, MAX_REC_TYPE, REC_MIN_SIZE, cdef_source

LIB = "libcltrace_scan.so"
HEADER_NAME = "cltrace_scan.h"   # clt_capture_walk and its problem kinds, declared once
_CDEF = cdef_source(shipped_file(HEADER_NAME))
# the C code's problem kinds, by number: CLT_LOST_CORRUPT = 1 -> KINDS[1] == "corrupt"
_LOST = dict((int(v), n.lower()) for n, v in re.findall(r"\bCLT_LOST_([A-Z]+)\s*=\s*(\d+)", _CDEF))
KINDS = tuple(_LOST[k] for k in range(len(_LOST)))
_MIN_SIZE = np.zeros(MAX_REC_TYPE + 1, np.uint32)
for _t, _s in REC_MIN_SIZE.items():
    _MIN_SIZE[_t] = _s
_SMALLEST_RECORD = min(REC_MIN_SIZE.values())
_state = {}


def _lib():
    if not env_on("CLTRACE_NATIVE_SCAN"):
        return None
    if "lib" not in _state:
        _state["lib"] = None
        path = os.path.join(NATIVE_DIR, LIB)
        if os.path.exists(path):
            try:
                import cffi
                ffi = cffi.FFI()
                ffi.cdef(_CDEF)
                _state["lib"], _state["ffi"] = ffi.dlopen(path), ffi
            except Exception:  # noqa: BLE001  (any failure to load: the reference scan does the work)
                _state["lib"] = None
    return _state["lib"]


def available() -> bool:
    return _lib() is not None


def walk(data, size: int, header_size: int, chunk_size: int
         ) -> Optional[Tuple[np.ndarray, np.ndarray, List[Tuple[str, int, int, int]]]]:
    """(int64 offsets, uint16 types, [(kind, chunk, offset, lost bytes)]) of the file held in `data`
    (an mmap or bytes of at least `size` bytes), in file order; None when the library is unavailable or could not
    answer."""
    lib = _lib()
    if lib is None:
        return None
    ffi = _state["ffi"]
    if len(data) < size:
        raise ValueError(f"capture data holds {len(data)} bytes, not {size}")
    body = max(0, size - header_size)
    # exact bounds: records are at least _SMALLEST_RECORD bytes, a chunk has at most one problem
    cap = body // _SMALLEST_RECORD + 1
    lost_cap = body // max(chunk_size, CHUNK_HEADER_SIZE) + 2
    offs, types = np.empty(cap, np.int64), np.empty(cap, np.uint16)
    lost = np.empty((lost_cap, 4), np.int64)
    nlost = ffi.new("int64_t *")
    with ffi.from_buffer("const uint8_t[]", data) as p:  # released on exit: the mmap stays closeable
        n = lib.clt_capture_walk(p, size, header_size, chunk_size,
                                 ffi.cast("const uint32_t *", _MIN_SIZE.ctypes.data), MAX_REC_TYPE,
                                 ffi.cast("int64_t *", offs.ctypes.data), ffi.cast("uint16_t *", types.ctypes.data),
                                 cap, ffi.cast("int64_t *", lost.ctypes.data), lost_cap, nlost)
    if n < 0:
        return None  # cannot happen with the bounds above; the reference scan would still answer
    problems = [(KINDS[k], c, o, b) for k, c, o, b in lost[:nlost[0]].tolist()]
    # shrink in place (realloc, no copy): no view of these new arrays exists
    offs.resize(n, refcheck=False)
    types.resize(n, refcheck=False)
    return offs, types, problems
