"""Real Arm Compute Library 20.08 (Debian arm64) under qemu-user on PoCL, traced by cltrace (docs/acl.md).

The compatibility layer is tested on the host (clinfo through it). The ACL tests need the sysroot and the
cross-built bench that `./dev acl` (and `./dev test`) set up in .acl/ and examples/bin/aarch64/; without them
they skip, saying so. Kernel names and sizes below are ACL's own choices for resnet50.L15 (3x3, 28x28x128):
deterministic, whatever the host.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from cltrace import Trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples"))
import acl_demo  # noqa: E402  (examples/acl_demo.py: the guest environment, shared with ./dev acl)

HOST_COMPAT = os.path.join(ROOT, "examples", "bin", "libacl_compat_layer.so")
SYSROOT_LIB = os.path.join(acl_demo.ACL_DIR, "sysroot", "usr", "lib", "aarch64-linux-gnu", "libarm_compute.so.20")
SHIM = os.path.join(ROOT, "cltrace", "_native", "aarch64", "libcltrace_layer.so")
# `./dev test` sets the ACL up beside the tests (dev: test_acl_setup_beside): this file names it while it runs
SETUP_PID = os.path.join(ROOT, ".venv", "acl-setup.pid")
SETUP_LOG = os.path.join(ROOT, ".venv", "acl-setup.log")
SETUP_WAIT_S = 1200


def _setup_running():
    """True while the process SETUP_PID names runs: started before the file was written (not a later process that
    got the number of a finished one) and not a zombie (dev's shell left it to pytest, which never reaps it)."""
    try:
        written = os.stat(SETUP_PID).st_mtime
        with open(SETUP_PID) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return False
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return fields[0] != "Z" and started <= written + 1


@pytest.fixture(scope="session")
def acl_ready():
    """Waits for the ACL set-up `./dev test` runs beside the tests, then skips, saying why, when the sysroot, the
    cross-built bench or the guest shim is missing."""
    deadline = time.monotonic() + SETUP_WAIT_S
    while _setup_running():
        assert time.monotonic() < deadline, f"the ACL set-up ran for more than {SETUP_WAIT_S} s: see {SETUP_LOG}"
        time.sleep(1)
    missing = [p for p in (SYSROOT_LIB, acl_demo.BENCH, acl_demo.COMPAT, SHIM) if not os.path.exists(p)]
    if missing or not shutil.which("qemu-aarch64-static"):
        log = ""
        if os.path.exists(SETUP_LOG):
            with open(SETUP_LOG, errors="replace") as f:
                log = "; the set-up said: " + " | ".join(f.read().strip().splitlines()[-3:])
        pytest.skip(f"no ACL sysroot/bench/guest shim ({', '.join(missing) or 'no qemu'}): run ./dev acl{log}")


needs_acl = pytest.mark.usefixtures("acl_ready")


def clinfo(env):
    return subprocess.run(["clinfo"], capture_output=True, text=True, env=env, timeout=120).stdout


@pytest.mark.skipif(not shutil.which("clinfo"), reason="clinfo is not installed")
def test_compat_layer_advertises_non_uniform_and_the_chosen_name():
    if not os.path.exists(HOST_COMPAT):
        subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "examples"), "bin/libacl_compat_layer.so"], check=True)
    plain = clinfo(os.environ)
    assert "cl_arm_non_uniform_work_group_size" not in plain
    env = dict(os.environ, OPENCL_LAYERS=HOST_COMPAT, ACL_COMPAT_DEVICE_NAME="Mali-G72")
    out = clinfo(env)
    names = [line.split(None, 2)[2].strip() for line in out.splitlines() if line.strip().startswith("Device Name")]
    assert names and all(n == "Mali-G72" for n in names)
    assert "cl_arm_non_uniform_work_group_size" in out


def sweep(tmp_path, channels, method, device, db=None):
    """`cltrace sweep` of the aarch64 bench over channels x device; with db, a sweep appended to that trace."""
    append = db is not None
    db = db or str(tmp_path / f"acl-{method}.db")
    env = acl_demo.guest_environment()
    cmd = [sys.executable, "-m", "cltrace.cli.main", "sweep", "-q", "-o", db, "--repeat", "1",
           *(["--append"] if append else []), "-p", f"channels={channels}", "-p", f"device={device}", "--",
           acl_demo.BENCH, "--layer", "resnet50.L15", "--out-channels", "{channels}", "--method", method,
           "--device-name", "{device}", "--iters", "1", "--warmup", "0"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert p.returncode == 0, p.stderr
    return db


def launches_by_config(db):
    with Trace(db) as t:
        d = t.dispatches.sort_values("dispatch_id")
        params = t.params
        notes = t.notes
    out = {}
    for run_id, g in d.groupby("run_id"):
        key = (int(params.loc[run_id, "channels"]), params.loc[run_id, "device"])
        out[key] = [(r.kernel_name, tuple(int(getattr(r, f"global{i}")) for i in range(int(r.work_dim))),
                     None if int(r.driver_local)
                     else tuple(int(getattr(r, f"local{i}")) for i in range(int(r.work_dim))))
                    for r in g.itertuples()]
    return out, notes


@needs_acl
def test_acl_gemm_decisions_per_channel_count_and_target(tmp_path):
    # one trace, two targets: a sweep told it runs on a Mali-G72, and one told Mali-T628 appended to it (3 runs: under
    # qemu most of an ACL run is the guest PoCL compiling ACL's kernels, and nothing is asserted on T628 at 93)
    db = sweep(tmp_path, "92,93", "gemm", "Mali-G72")
    sweep(tmp_path, "92", "gemm", "Mali-T628", db=db)
    got, notes = launches_by_config(db)
    assert sorted(got) == [(92, "Mali-G72"), (92, "Mali-T628"), (93, "Mali-G72")]
    # Bifrost name: one GEMM kernel, a tile of 4 output channels per work-item in x: global x = ceil(Cout/4).
    bifrost = {c: {k: (g, loc) for k, g, loc in got[(c, "Mali-G72")]} for c in (92, 93)}
    assert bifrost[92]["gemm_mm_floating_point_f32_bifrost"] == ((23, 196, 1), (8, 8, 1))
    assert bifrost[93]["gemm_mm_floating_point_f32_bifrost"] == ((24, 196, 1), (8, 8, 1))
    assert bifrost[92]["col2im"] == ((12, 784, 1), (1, 8, 1))
    assert [k for k, _, _ in got[(92, "Mali-G72")]] == ["reshape_to_columns", "im2col3x3_nchw",
                                                        "gemm_mm_floating_point_f32_bifrost", "col2im"]
    # Midgard name: reshaped operands and the interleaved/transposed GEMM, col2im left to the driver.
    midgard = [k for k, _, _ in got[(92, "Mali-T628")]]
    assert midgard == ["reshape_to_columns", "gemm_reshape_rhs_matrix_nt", "im2col3x3_nchw",
                       "gemm_reshape_lhs_matrix_t", "gemm_mm_interleaved_transposed_f32", "col2im"]
    # The launch ACL asked for, not the one acl_compat substituted: 128 does not divide 288.
    lhs = {k: (g, loc) for k, g, loc in got[(92, "Mali-T628")]}["gemm_reshape_lhs_matrix_t"]
    assert lhs == ((288, 196, 1), (128, 1, 1))
    # Every run is marked emulated; the device is recorded under the name ACL was told.
    emu = [json.loads(m) for m in notes.loc[notes["kind"] == "emulation", "message"]]
    assert len(emu) == 3 and {e["arch"] for e in emu} == {"aarch64"}
    with Trace(db) as t:
        assert set(t.devices["name"]) == {"Mali-G72", "Mali-T628"}
    report = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "report", db, "--format", "json"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["emulation"]["runs"] == [1, 2, 3] and doc["emulation"]["arch"] == ["aarch64"]
    pads = [c for c in doc["staircase"]["dispatch_changes"] if c["kind"] == "tile-padding"]
    assert {(c["group_label"], c["kernel"], c["from_value"], c["to_value"]) for c in pads} >= {
        ("device=Mali-G72", "gemm_mm_floating_point_f32_bifrost", 92, 93)}


@needs_acl
def test_acl_direct_convolution_variant_by_target(tmp_path):
    db = sweep(tmp_path, "93", "direct", "Mali-G72,Mali-T628")
    got, _ = launches_by_config(db)
    bifrost = [k for k, _, _ in got[(93, "Mali-G72")]]
    midgard = [k for k, _, _ in got[(93, "Mali-T628")]]
    assert "direct_convolution3x3_f32_bifrost" in bifrost
    assert "direct_convolution3x3" in midgard and "direct_convolution3x3_f32_bifrost" not in midgard


GUEST_PROGRAMS = os.path.join(ROOT, "tests", "programs", "bin", "aarch64")


@needs_acl
@pytest.mark.parametrize("program", ["linked", "dlopen"])
def test_vendor_driver_board_preload_and_shadow(tmp_path, program):
    """An aarch64 board whose libOpenCL.so.1 sits at a vendor path and is reached only through
    CLTRACE_REAL_LIBOPENCL (no OPENCL_LAYERS): preload catches the linked program, the shadow library the one
    that dlopen()s libOpenCL.so.1 and dlsym()s from the handle."""
    subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "tests", "programs"), "-f", "aarch64.mk",
                    f"SYSROOT={os.path.join(acl_demo.ACL_DIR, 'sysroot')}"], check=True, capture_output=True)
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    shutil.copyfile(os.path.join(os.path.dirname(SYSROOT_LIB), "libOpenCL.so.1"), vendor / "libOpenCL.so.1")
    env = acl_demo.guest_environment()
    env.pop("OPENCL_LAYERS")
    db = str(tmp_path / "board.db")
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "run", "--mode", "preload", "--real-libopencl",
                        str(vendor / "libOpenCL.so.1"), "-o", db, "--", os.path.join(GUEST_PROGRAMS, program), "20"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr
    assert "expected launches=20" in p.stdout
    with Trace(db) as t:
        launches = t.launches
        runs = t.runs
        notes = t.notes
    assert len(launches) == 20 and set(launches["kernel_name"]) == {"inc"}
    assert set(launches["global0"]) == {1024}
    assert runs["mode"].tolist() == ["preload"]
    emu = json.loads(notes.loc[notes["kind"] == "emulation", "message"].iloc[0])
    assert emu["arch"] == "aarch64" and emu["emulator"].endswith("qemu-aarch64-static")


def regions_per_launch(launches):
    """Uniform regions of each launch, from the recorded sizes alone (not cltrace.analysis.jobs): per dimension
    a bulk region when global >= local and a remainder when local does not divide global."""
    out = []
    for _, g, loc in launches:
        n = 1
        for gd, ld in zip(g, loc or g):
            n *= (gd >= ld) + (gd % ld != 0)
        out.append(n)
    return out


@needs_acl
def test_acl_job_changes_named_at_every_pair_where_they_happen(tmp_path):
    """ACL 20.08 on a G72 asks for local 8x8 for its Bifrost GEMM; y (196) never divides, x (ceil(C/4)) only at
    93..96: the job count changes at 92 -> 93 and 96 -> 97 (not at 93 -> 96), and the report names every such
    pair and no other (the device is recorded as a Mali that advertises non-uniform work-groups, so its policy is
    split). 92 and 93 are the GEMM test's G72 runs: run after it on the same worker (tests/conftest.py TOGETHER),
    they find their kernels in the PoCL cache (a cold compile under qemu is most of an ACL run)."""
    channels = [92, 93, 96, 97]      # both edges of the uniform range 93..96, and the pair 93 -> 96 inside it
    db = sweep(tmp_path, ",".join(map(str, channels)), "gemm", "Mali-G72")
    got, _ = launches_by_config(db)
    jobs = [regions_per_launch(got[(c, "Mali-G72")]) for c in channels]
    expected = {(a, b) for (a, ja), (b, jb) in zip(zip(channels, jobs), zip(channels[1:], jobs[1:])) if ja != jb}
    assert expected == {(92, 93), (96, 97)}
    report = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "report", db, "--format", "json"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    st = json.loads(report.stdout)["staircase"]
    named = {(c["from_value"], c["to_value"]) for c in st["dispatch_changes"]
             if c["kind"] in ("extra-job", "job-removed")}
    assert named == expected
    assert st["jobs"]["groups"][0]["policy"] == "split" and st["jobs"]["target"] is None
    # The model's jobs equal the jobs acl_compat really ran (its layer note, counted in C as it split them).
    model = {(r["value"], r["kernel"]): r["jobs"] for r in st["jobs"]["launches"]}
    with Trace(db) as t:
        notes, params = t.notes, t.params
    ran = {}
    layer = notes[notes["kind"] == "layer"]
    for run_id, msg in zip(layer["run_id"], layer["message"]):
        for k in json.loads(msg)["kernels"]:
            ran[(int(params.loc[run_id, "channels"]), k["name"])] = k["jobs"]
    assert {key: ran[key] for key in model} == model
    # The seed's case from this 20.08 trace: ACL 19.02's hint of 4, projected onto the HiKey 970's G72.
    seed = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "report", db, "--format", "json", "--target",
                           "mali-g72-mp12", "--what-if-local", "gemm_mm_floating_point_f32_bifrost=4"],
                          capture_output=True, text=True, timeout=300)
    assert seed.returncode == 0, seed.stderr
    jobs = json.loads(seed.stdout)["staircase"]["jobs"]
    assert jobs["groups"][0]["fast_values"] == [93, 96]
    at92 = [r for r in jobs["launches"] if r["value"] == 92 and r["kernel"] == "gemm_mm_floating_point_f32_bifrost"]
    assert [(r["local"], r["jobs"], f"{r['remainder_share']:.1%}") for r in at92] == [("4x1x1", 2, "13.0%")]
