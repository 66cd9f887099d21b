"""Programs built for another CPU, run under qemu-user: recognise them, give the guest its own shim, mark the run.

`cltrace run -- qemu-aarch64-static -L SYSROOT ./prog` and `cltrace run -- ./prog` (an aarch64 ELF on an
x86_64 host, with QEMU_LD_PREFIX=SYSROOT) both trace the guest program: its loader reads OPENCL_LAYERS (or
LD_PRELOAD) from the environment qemu passes on, so the shim it loads must be an aarch64 build
(scripts/cross_build.sh, shipped in cltrace/_native/aarch64/). Capture files are written to a host path the
guest reaches through qemu's path fallback and are ingested on the host like any other.
"""
import glob
import os
import platform
import re
import shutil
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from .. import native
from ..errors import CltraceError
from ..options import env_value
from .loader import LoaderInfo, inspect_loader

GUEST_ARCHES = {"aarch64": ("qemu-aarch64-static", "qemu-aarch64")}
_ELF_MACHINES = {183: "aarch64", 62: "x86_64", 40: "arm", 3: "i386", 243: "riscv64", 21: "ppc64"}
_QEMU_NAME = re.compile(r"qemu-(aarch64)(-static)?$")
# qemu-user options that take a value (qemu-user --help); all others are flags.
_QEMU_VALUED = {"-L", "-E", "-U", "-0", "-s", "-cpu", "-B", "-R", "-d", "-D", "-p", "-g", "-r", "-t",
                "-seed", "-plugin", "-dfilter"}
SHIM_DIR_ENV = "CLTRACE_AARCH64_SHIM_DIR"
INSTALL_QEMU = "install qemu-user-static (Debian: apt-get install qemu-user-static)"
TIMINGS_NOTE = ("timings come from the emulator running on this host, not from a device of that "
                "architecture; kernel choices, sizes and dispatch counts are the program's own")


@dataclass
class Emulation:
    arch: str                       # the guest's CPU, e.g. "aarch64"
    emulator: str                   # the qemu binary that runs it
    program: str                    # the guest program as given
    sysroot: Optional[str]          # qemu -L / QEMU_LD_PREFIX
    argv: List[str]                 # what is started (qemu prepended when the user gave the bare program)
    shim_dir: str                   # the guest's shim libraries
    loader: LoaderInfo              # the guest's libOpenCL.so.1 (inside the sysroot)
    guest_loader_path: Optional[str] = None     # that library as the guest names it
    extra: Dict[str, str] = field(default_factory=dict)

    def note(self, env: Mapping[str, str]) -> dict:
        """The `emulation` note of the run (docs/capture.md)."""
        out = {"arch": self.arch, "host_arch": host_arch(), "emulator": self.emulator, "program": self.program,
               "sysroot": self.sysroot, "shim": self.shim_dir, "timings": TIMINGS_NOTE}
        name = env.get("ACL_COMPAT_DEVICE_NAME")
        if name:
            out["device_name_reported"] = name
        return out


def host_arch() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def _read(path: str, size: int, offset: int = 0) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)
    except OSError:
        return b""


def elf_machine(path: str) -> Optional[str]:
    """The CPU a (little-endian) ELF file is built for; None when it is not one."""
    head = _read(path, 20)
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[5] != 1:
        return None
    code = struct.unpack_from("<H", head, 18)[0]
    return _ELF_MACHINES.get(code, f"machine {code}")


def elf_interpreter(path: str) -> Optional[str]:
    """PT_INTERP of a 64-bit little-endian ELF (the dynamic loader it asks for); None for static ones."""
    head = _read(path, 64)
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
        return None
    phoff, = struct.unpack_from("<Q", head, 32)
    phentsize, phnum = struct.unpack_from("<HH", head, 54)
    table = _read(path, phentsize * phnum, phoff)
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", table, i * phentsize)
        if p_type == 3:
            p_offset, = struct.unpack_from("<Q", table, i * phentsize + 8)
            p_filesz, = struct.unpack_from("<Q", table, i * phentsize + 32)
            return _read(path, p_filesz, p_offset).rstrip(b"\0").decode("utf-8", "replace")
    return None


def _qemu_program(args: Sequence[str]):
    """(program, sysroot) from qemu-user's own arguments."""
    sysroot, i = None, 0
    while i < len(args):
        a = args[i]
        if a in _QEMU_VALUED:
            if a == "-L" and i + 1 < len(args):
                sysroot = args[i + 1]
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return a, sysroot
    return None, sysroot


def _resolve(program: str, env: Mapping[str, str]) -> Optional[str]:
    if "/" in program:
        return program if os.path.isfile(program) else None
    return shutil.which(program, path=env.get("PATH", os.defpath))


def find_emulator(arch: str, env: Mapping[str, str]) -> Optional[str]:
    for name in GUEST_ARCHES.get(arch, ()):
        path = shutil.which(name, path=env.get("PATH", os.defpath))
        if path:
            return path
    return None


def shim_dir(arch: str, env: Mapping[str, str]) -> str:
    return env_value(SHIM_DIR_ENV, env) or os.path.join(native.NATIVE_DIR, arch)


def shim_problem(arch: str, directory: str) -> Optional[str]:
    """Why the guest shim in `directory` cannot be used; None when it can."""
    layer = os.path.join(directory, native.LAYER_LIB)
    if not os.path.exists(layer):
        return (f"no {arch} shim in {directory}: build it with 'scripts/cross_build.sh {directory}' "
                f"(needs gcc-aarch64-linux-gnu; ./dev setup installs it)")
    built_for = elf_machine(layer)
    if built_for != arch:
        return f"{layer} is built for {built_for or 'no known CPU'}, not {arch}: rebuild it with scripts/cross_build.sh"
    return None


def guest_opencl(sysroot: Optional[str]) -> Optional[str]:
    """The guest path of the sysroot's libOpenCL (libOpenCL.so.1 where there is one), in the order the guest's
    loader searches; None without a sysroot or without the library."""
    if not sysroot:
        return None
    for d in ("usr/lib/aarch64-linux-gnu", "lib/aarch64-linux-gnu", "usr/lib64", "lib64", "usr/lib", "lib"):
        hits = sorted(glob.glob(os.path.join(sysroot, d, "libOpenCL.so*")))
        if hits:
            so1 = os.path.join(sysroot, d, "libOpenCL.so.1")
            return "/" + os.path.relpath(so1 if os.path.exists(so1) else hits[0], sysroot)
    return None


def detect(argv: Sequence[str], env: Mapping[str, str]) -> Optional[Emulation]:
    """An Emulation when argv runs a foreign-architecture program; None for a native one.

    Raises CltraceError with what to do when the guest cannot be traced (no qemu, no guest shim, no loader
    for the guest, a sysroot without OpenCL).
    """
    if not argv:
        return None
    first = argv[0]
    m = _QEMU_NAME.search(os.path.basename(first))
    if m:
        arch = m.group(1)
        emulator = _resolve(first, env) or first
        program, sysroot = _qemu_program(argv[1:])
        sysroot = sysroot or env.get("QEMU_LD_PREFIX")
        if program is None:
            raise CltraceError(f"{os.path.basename(first)} was given no program to run")
        start = list(argv)
    else:
        path = _resolve(first, env)
        arch = elf_machine(path) if path else None
        if arch is None or arch == host_arch():
            return None
        if arch not in GUEST_ARCHES:
            raise CltraceError(f"{first} is built for {arch} and this host is {host_arch()}: cltrace runs "
                               f"foreign programs under qemu for {', '.join(GUEST_ARCHES)} only")
        emulator = find_emulator(arch, env)
        if not emulator:
            raise CltraceError(f"{first} is an {arch} program and this host is {host_arch()}: "
                               f"{INSTALL_QEMU} to run it under emulation")
        program, sysroot = first, env.get("QEMU_LD_PREFIX")
        start = [emulator] + list(argv)
    if sysroot and not os.path.isdir(sysroot):
        raise CltraceError(f"the sysroot {sysroot} given to qemu is not a directory")
    guest = _resolve(program, env)
    if guest:
        interp = elf_interpreter(guest)
        if interp and not (sysroot and os.path.exists(os.path.join(sysroot, interp.lstrip("/")))) \
                and not os.path.exists(interp):
            raise CltraceError(f"the {arch} program {program} needs its loader {interp}: give qemu -L SYSROOT "
                               f"or set QEMU_LD_PREFIX to a root that holds it (./dev acl builds one in .acl/sysroot)")
    loader_path = guest_opencl(sysroot)
    if sysroot and not loader_path:
        raise CltraceError(f"the sysroot {sysroot} has no {arch} libOpenCL.so: unpack ocl-icd-libopencl1:arm64 and an "
                           f"OpenCL driver (e.g. pocl-opencl-icd:arm64) into it (docs/acl.md)")
    directory = shim_dir(arch, env)
    problem = shim_problem(arch, directory)
    if problem:
        raise CltraceError(problem)
    loader = inspect_loader(os.path.join(sysroot, loader_path.lstrip("/")) if sysroot and loader_path else None)
    return Emulation(arch, emulator, program, sysroot, start, directory, loader, loader_path)


def status(env: Mapping[str, str]) -> List[dict]:
    """What `cltrace devices` says about tracing each foreign architecture."""
    out = []
    for arch in GUEST_ARCHES:
        emulator = find_emulator(arch, env)
        directory = shim_dir(arch, env)
        problem = None if emulator else f"no qemu for {arch} on PATH: {INSTALL_QEMU}"
        problem = problem or shim_problem(arch, directory)
        out.append({"arch": arch, "emulator": emulator, "shim_dir": directory, "ready": problem is None,
                    "problem": problem})
    return out
