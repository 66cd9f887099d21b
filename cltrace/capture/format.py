"""The capture record layout, learned from native/cltrace_format.h via cffi.

The CFFI-BEGIN..CFFI-END block of the header is the single declaration of the
layout; numpy dtypes below are derived from cffi's offsets and sizes, so
nothing is declared twice.
"""
import os
import re
from typing import TYPE_CHECKING

import cffi
import numpy as np

HEADER_NAME = "cltrace_format.h"
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def header_path():
    """The installed copy (cltrace/_native) first, then the source tree's native/."""
    for cand in (os.path.join(_PKG, "_native", HEADER_NAME),
                 os.path.join(os.path.dirname(_PKG), "native", HEADER_NAME)):
        if os.path.exists(cand):
            return cand
    raise ImportError(f"cltrace: cannot find {HEADER_NAME} (looked in cltrace/_native and native/)")


def cdef_source(path=None):
    with open(path or header_path()) as f:
        text = f.read()
    m = re.search(r"/\* CFFI-BEGIN \*/(.*?)/\* CFFI-END \*/", text, re.S)
    if not m:
        raise ImportError(f"cltrace: {path or header_path()} has no CFFI-BEGIN/CFFI-END block")
    return m.group(1)


CDEF = cdef_source()
ffi = cffi.FFI()
ffi.cdef(CDEF)


class _Consts:
    """Every CLT_* enum constant of the header as an attribute (K.CLT_REC_LAUNCH)."""

    def __init__(self, names):
        lib = ffi.dlopen(None)  # ABI mode: enum constants are read through any lib object
        for n in names:
            setattr(self, n, getattr(lib, n))

    if TYPE_CHECKING:                       # for mypy: the constants are set by name above, all ints
        def __getattr__(self, name: str) -> int: ...


K = _Consts(sorted(set(re.findall(r"\b(CLT_[A-Z0-9_]+)\s*=", CDEF))))

MAGIC = b"CLTRACE\0"
FORMAT_VERSION = K.CLT_FORMAT_VERSION
FILE_HEADER_SIZE = K.CLT_FILE_HEADER_SIZE
CHUNK_MAGIC = K.CLT_CHUNK_MAGIC
CHUNK_HEADER_SIZE = ffi.sizeof("clt_chunk_header")
RECORD_HEADER_SIZE = ffi.sizeof("clt_record_header")

_PRIMITIVES = {
    "uint8_t": "u1", "int8_t": "i1", "char": "S1",
    "uint16_t": "<u2", "int16_t": "<i2",
    "uint32_t": "<u4", "int32_t": "<i4",
    "uint64_t": "<u8", "int64_t": "<i8",
}


def _np_type(t):
    if t.kind == "struct":
        return dtype_of(t)
    if t.kind == "array":
        if t.item.cname == "char":
            return np.dtype(f"S{t.length}")
        return np.dtype((_np_type(t.item), (t.length,)))
    if t.kind == "primitive" and t.cname in _PRIMITIVES:
        return np.dtype(_PRIMITIVES[t.cname])
    raise TypeError(f"cltrace: no numpy type for C type {t.cname}")


def dtype_of(ctype):
    """numpy structured dtype with exactly cffi's field offsets and item size."""
    t = ffi.typeof(ctype) if isinstance(ctype, str) else ctype
    names, formats, offsets = [], [], []
    for name, field in t.fields:
        names.append(name)
        formats.append(_np_type(field.type))
        offsets.append(field.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": ffi.sizeof(t)})


# record type number -> C struct name, derived from the enum names (CLT_REC_LAUNCH_TIMES -> clt_launch_times)
REC_STRUCT = {getattr(K, n): "clt_" + n[len("CLT_REC_"):].lower()
              for n in vars(K) if n.startswith("CLT_REC_")}
REC_NAME = {v: n[len("CLT_REC_"):].lower() for n in vars(K) if n.startswith("CLT_REC_")
            for v in [getattr(K, n)]}
REC_DTYPE = {t: dtype_of(s) for t, s in REC_STRUCT.items()}
REC_MIN_SIZE = {t: ffi.sizeof(s) for t, s in REC_STRUCT.items()}
MAX_REC_TYPE = max(REC_STRUCT)
FILE_HEADER_DTYPE = dtype_of("clt_file_header")
CHUNK_HEADER_DTYPE = dtype_of("clt_chunk_header")

# Length fields of the strings that follow a record's fixed part, in order.
# PROCESS is special (argc + 1 + n_env strings in strings_len bytes).
STRING_FIELDS = {
    K.CLT_REC_DEVICE: ("len_name", "len_vendor", "len_driver", "len_platform"),
    K.CLT_REC_DEVICE_CL: ("len_version", "len_c_version", "len_extensions"),
    K.CLT_REC_PROGRAM: ("len_options",),
    K.CLT_REC_KERNEL: ("len_name", "len_attributes"),
    K.CLT_REC_REGION: ("len_name", "len_tags"),
    K.CLT_REC_NOTE: ("len_message",),
}

for _s in REC_STRUCT.values():
    assert ffi.sizeof(_s) % 8 == 0, _s  # records are read as whole 8-byte words
