"""Recognising foreign-architecture programs and refusing what cannot be traced (cltrace/capture/emulation.py)."""
import os
import struct
import subprocess
import sys

import pytest

from cltrace.capture import emulation
from cltrace.errors import CltraceError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE_INTERP = "/nonexistent-cltrace-test/ld-linux-aarch64.so.1"
needs_x86_host = pytest.mark.skipif(emulation.host_arch() != "x86_64",
                                    reason="aarch64 is this host's own architecture")


def write_elf(path, machine=183, interp=FAKE_INTERP):
    """A minimal little-endian ELF64 executable header for `machine`, with one PT_INTERP segment."""
    blob = interp.encode() + b"\0"
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 3, 4, 120, 0, 0, len(blob), len(blob), 1)
    with open(path, "wb") as f:
        f.write(header + phdr + blob)
    os.chmod(path, 0o755)
    return str(path)


@pytest.fixture
def prog(tmp_path):
    return write_elf(tmp_path / "guest_prog")


@pytest.fixture
def fake_qemu(tmp_path):
    d = tmp_path / "qemu-bin"
    d.mkdir()
    q = d / "qemu-aarch64-static"
    q.write_text("#!/bin/sh\nexit 0\n")
    q.chmod(0o755)
    return str(q)


def sysroot_with(tmp_path, opencl=True):
    root = tmp_path / "sysroot"
    interp = root / FAKE_INTERP.lstrip("/")
    interp.parent.mkdir(parents=True)
    interp.write_bytes(b"")
    if opencl:
        lib = root / "usr/lib/aarch64-linux-gnu"
        lib.mkdir(parents=True)
        (lib / "libOpenCL.so.1").write_bytes(b"")
    return str(root)


def shim_dir_with(tmp_path, machine=183):
    d = tmp_path / "shim"
    d.mkdir()
    write_elf(d / "libcltrace_layer.so", machine=machine)
    return str(d)


def test_elf_machine_and_interpreter(prog):
    assert emulation.elf_machine(prog) == "aarch64"
    assert emulation.elf_interpreter(prog) == FAKE_INTERP
    assert emulation.elf_machine(os.path.realpath(sys.executable)) == emulation.host_arch()
    assert emulation.elf_machine(os.path.join(ROOT, "README.md")) is None


def test_native_programs_are_not_emulated():
    assert emulation.detect([sys.executable, "-c", "pass"], os.environ) is None
    assert emulation.detect(["no-such-program-xyz"], os.environ) is None


@needs_x86_host
def test_a_guest_program_without_qemu_is_refused(prog, tmp_path):
    with pytest.raises(CltraceError) as e:
        emulation.detect([prog], {"PATH": str(tmp_path)})
    assert str(e.value) == (f"{prog} is an aarch64 program and this host is x86_64: install qemu-user-static "
                            f"(Debian: apt-get install qemu-user-static) to run it under emulation")


@needs_x86_host
def test_a_guest_program_needs_its_loader(prog, fake_qemu):
    with pytest.raises(CltraceError) as e:
        emulation.detect([prog], {"PATH": os.path.dirname(fake_qemu)})
    assert str(e.value) == (f"the aarch64 program {prog} needs its loader {FAKE_INTERP}: give qemu -L SYSROOT or "
                            f"set QEMU_LD_PREFIX to a root that holds it (./dev acl builds one in .acl/sysroot)")


@needs_x86_host
def test_a_sysroot_without_opencl_is_refused(prog, fake_qemu, tmp_path):
    root = sysroot_with(tmp_path, opencl=False)
    with pytest.raises(CltraceError) as e:
        emulation.detect([prog], {"PATH": os.path.dirname(fake_qemu), "QEMU_LD_PREFIX": root})
    assert str(e.value) == (f"the sysroot {root} has no aarch64 libOpenCL.so: unpack ocl-icd-libopencl1:arm64 and an "
                            f"OpenCL driver (e.g. pocl-opencl-icd:arm64) into it (docs/acl.md)")


def test_a_missing_guest_shim_is_refused(prog, fake_qemu, tmp_path):
    root = sysroot_with(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PATH": os.path.dirname(fake_qemu), emulation.SHIM_DIR_ENV: str(empty)}
    with pytest.raises(CltraceError) as e:
        emulation.detect([fake_qemu, "-L", root, prog], env)
    assert str(e.value) == (f"no aarch64 shim in {empty}: build it with 'scripts/cross_build.sh {empty}' "
                            f"(needs gcc-aarch64-linux-gnu; ./dev setup installs it)")


def test_a_guest_shim_for_the_wrong_cpu_is_refused(prog, fake_qemu, tmp_path):
    root = sysroot_with(tmp_path)
    shim = shim_dir_with(tmp_path, machine=62)
    with pytest.raises(CltraceError) as e:
        emulation.detect([fake_qemu, "-L", root, prog], {"PATH": "", emulation.SHIM_DIR_ENV: shim})
    assert str(e.value) == (f"{shim}/libcltrace_layer.so is built for x86_64, not aarch64: rebuild it with "
                            f"scripts/cross_build.sh")


def test_qemu_command_line_is_parsed_and_kept(prog, fake_qemu, tmp_path):
    root = sysroot_with(tmp_path)
    shim = shim_dir_with(tmp_path)
    argv = [fake_qemu, "-cpu", "max", "-L", root, prog, "--out-channels", "92"]
    emu = emulation.detect(argv, {"PATH": "", emulation.SHIM_DIR_ENV: shim})
    assert (emu.arch, emu.program, emu.sysroot, emu.argv) == ("aarch64", prog, root, argv)
    assert emu.guest_loader_path == "/usr/lib/aarch64-linux-gnu/libOpenCL.so.1"
    note = emu.note({"ACL_COMPAT_DEVICE_NAME": "Mali-G72"})
    assert note["device_name_reported"] == "Mali-G72" and note["arch"] == "aarch64"
    assert "not from a device" in note["timings"]


@needs_x86_host
def test_a_bare_guest_program_gets_qemu_in_front(prog, fake_qemu, tmp_path):
    root = sysroot_with(tmp_path)
    shim = shim_dir_with(tmp_path)
    env = {"PATH": os.path.dirname(fake_qemu), "QEMU_LD_PREFIX": root, emulation.SHIM_DIR_ENV: shim}
    emu = emulation.detect([prog, "--help"], env)
    assert emu.argv == [fake_qemu, prog, "--help"] and emu.sysroot == root


def test_qemu_without_a_program_is_refused(fake_qemu):
    with pytest.raises(CltraceError) as e:
        emulation.detect([fake_qemu, "-L", "/"], {"PATH": ""})
    assert str(e.value) == "qemu-aarch64-static was given no program to run"


@needs_x86_host
def test_cltrace_run_reports_missing_qemu_with_exit_1(prog, tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "run", "-o", str(tmp_path / "t.db"), "--", prog],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        f"cltrace: {prog} is an aarch64 program and this host is x86_64: install qemu-user-static "
        f"(Debian: apt-get install qemu-user-static) to run it under emulation")
    assert not (tmp_path / "t.db").exists()


def test_devices_reports_whether_emulated_tracing_is_ready(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "devices", "--format", "json"],
                       capture_output=True, text=True, env=env)
    import json
    guests = json.loads(p.stdout)["emulation"]
    assert guests == [{"arch": "aarch64", "emulator": None, "shim_dir": emulation.shim_dir("aarch64", env),
                       "ready": False, "problem": "no qemu for aarch64 on PATH: install qemu-user-static "
                                                  "(Debian: apt-get install qemu-user-static)"}]


@needs_x86_host
def test_cltrace_sweep_reports_missing_qemu_before_writing_a_trace(prog, tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "sweep", "-q", "-o", str(tmp_path / "s.db"),
                        "-p", "c=1,2", "--", prog, "{c}"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == (
        f"cltrace: {prog} is an aarch64 program and this host is x86_64: install qemu-user-static "
        f"(Debian: apt-get install qemu-user-static) to run it under emulation")
    assert not (tmp_path / "s.db").exists()
