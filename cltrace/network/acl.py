"""The ACL runtime of `cltrace network` (--runtime acl): Arm Compute Library 20.08 (Debian's arm64 build) runs each
configuration in examples/bin/aarch64/acl_conv_bench, under qemu-user on PoCL through the acl_compat layer, which
tells ACL the Mali device it is asked to tune for (docs/acl.md).

What such a sweep measures are ACL's own dispatch decisions (kernels, tile sizes, work-groups per channel count):
the timings are the emulator's, not a Mali's, and every run is marked emulated in the trace.

The guest environment is the one examples/acl_demo.py (./dev acl) uses: QEMU_LD_PREFIX (the arm64 sysroot),
OCL_ICD_VENDORS (its PoCL), the compat layer first in OPENCL_LAYERS (cltrace's own layer goes last, nearest ACL)."""
from __future__ import annotations

import os
import shutil
from typing import Dict, Mapping

from ..errors import CltraceError
from ..options import env_value

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "examples", "bin", "aarch64", "acl_conv_bench")
COMPAT = os.path.join(ROOT, "examples", "bin", "aarch64", "libacl_compat_layer.so")
DEVICE = "Mali-G72"                 # Bifrost (HiKey 970), one of the seed paper's two boards
METHODS = ("gemm", "direct")        # arm_compute::CLGEMMConvolutionLayer, CLDirectConvolutionLayer
SETUP = "run ./dev acl (scripts/acl_sysroot.sh and make -C examples acl-aarch64)"


def acl_dir(env: Mapping[str, str] = os.environ) -> str:
    return env_value("CLTRACE_ACL_DIR", env) or os.path.join(ROOT, ".acl")


def guest_environment(base: Mapping[str, str] = os.environ) -> Dict[str, str]:
    """The variables to add to cltrace's environment so that every run of the sweep gets them."""
    d = acl_dir(base)
    layers = [x for x in base.get("OPENCL_LAYERS", "").split(":") if x]
    if COMPAT not in layers:
        layers.insert(0, COMPAT)            # first: nearest the driver
    return {"QEMU_LD_PREFIX": os.path.join(d, "sysroot"), "OCL_ICD_VENDORS": os.path.join(d, "vendors"),
            "OPENCL_LAYERS": ":".join(layers)}


def check(bench: str, env: Mapping[str, str] = os.environ) -> None:
    """CltraceError naming what is missing for an ACL run under qemu."""
    d = acl_dir(env)
    needed = [(bench, "the aarch64 acl_conv_bench"), (COMPAT, "the aarch64 acl_compat layer"),
              (os.path.join(d, "sysroot", "usr", "lib", "aarch64-linux-gnu", "libarm_compute.so.20"),
               "the arm64 sysroot's ACL")]
    for path, what in needed:
        if not os.path.exists(path):
            raise CltraceError(f"--runtime acl: {what} is missing ({path}): {SETUP}")
    if not shutil.which("qemu-aarch64-static", path=env.get("PATH")):
        raise CltraceError("--runtime acl: qemu-aarch64-static is not installed (Debian's qemu-user-static): "
                           + SETUP)
