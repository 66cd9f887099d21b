"""Find the OpenCL ICD loader a program will get, and what it supports."""
import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
             "/usr/local/lib", "/lib/x86_64-linux-gnu", "/lib64", "/lib")


@dataclass(frozen=True)
class LoaderInfo:
    path: Optional[str]         # absolute path of libOpenCL.so.1, None when absent
    is_icd_loader: bool         # an ICD loader (ocl-icd / Khronos), not a vendor driver posing as libOpenCL
    supports_layers: bool       # honours OPENCL_LAYERS

    @property
    def description(self) -> str:
        if not self.path:
            return "no libOpenCL.so.1 found"
        kind = "ICD loader" if self.is_icd_loader else "vendor libOpenCL (no ICD loader)"
        layers = "supports OPENCL_LAYERS" if self.supports_layers else "no layer support"
        return f"{self.path} ({kind}, {layers})"


def _from_ldconfig() -> Optional[str]:
    for exe in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"):
        try:
            out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            m = re.match(r"\s*libOpenCL\.so\.1 \(([^)]*)\) => (\S+)", line)
            if m and ("x86-64" in m.group(1)) == (os.uname().machine == "x86_64"):
                return m.group(2)
    return None


def _search_dirs() -> Optional[str]:
    extra = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    for d in extra + list(_LIB_DIRS):
        p = os.path.join(d, "libOpenCL.so.1")
        if os.path.exists(p) and "/cltrace/_native/" not in os.path.realpath(p):
            return p
    return None


@lru_cache(maxsize=None)
def inspect_loader(path: Optional[str]) -> LoaderInfo:
    if not path or not os.path.exists(path):
        return LoaderInfo(None, False, False)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return LoaderInfo(path, False, False)
    is_icd = b"OCL_ICD_VENDORS" in blob or b"/etc/OpenCL/vendors" in blob
    return LoaderInfo(os.path.realpath(path), is_icd, b"OPENCL_LAYERS" in blob)


@lru_cache(maxsize=1)
def system_loader() -> LoaderInfo:
    """The libOpenCL.so.1 a dynamically linked program would load."""
    return inspect_loader(_search_dirs() if os.environ.get("LD_LIBRARY_PATH") else (_from_ldconfig() or _search_dirs()))
