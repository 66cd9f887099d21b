"""clCommandNDRangeKernelKHR (cl_khr_command_buffer) through the shim's extension-lookup wrapper.

PoCL 3.1 has no command buffers, so these tests load a fake OpenCL vendor library
(tests/programs/fake_icd.c) as the only ICD: ocl-icd reads OCL_ICD_VENDORS, a directory of `.icd` files
each holding a vendor library's path. tests/programs/cmdbuf_app.c records three kernels into a command
buffer through the function that clGetExtensionFunctionAddress* handed it (under cltrace: the shim's
wrapper), runs the buffer, and makes one ordinary clEnqueueNDRangeKernel. The fake ICD logs every call
that reaches it (FAKE_ICD_LOG), so the tests see both sides: what the trace recorded, and that the real
function was called exactly once per command with the app's own arguments.
"""
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

import cltrace

MODES = ["layer", "preload"]
FAKE_ICD = "libcltrace_fake_icd.so"
DEVICE_NAME = "fake command-buffer device"
ARG_BYTES = 4096 * 4                    # the uint buffer bound as the kernel's only argument
# what cmdbuf_app records, in order: (work_dim, offset, global, local); None = the app passed NULL
COMMANDS = [(1, None, (256,), (32,)), (2, (4, 2), (16, 8), (8, 4)), (3, None, (8, 4, 2), None)]
ORDINARY = (1, None, (128,), (64,))     # its clEnqueueNDRangeKernel
NS_PER_ITEM = 1000                      # the fake ICD's made-up device time per work-item
APP_LINE = re.compile(r"^platform (\d+) command (\d+): via=(\w+) kernel=(\w+) dim=(\d) off=(\S+) gws=(\S+) "
                      r"lws=(\S+) nsync=(\d+) -> (-?\d+) sp=(\d+)$")
ICD_LINE = re.compile(r"^(\S+) clCommandNDRangeKernelKHR call=(\d+) cb=(\d+) kernel=(\S+) dim=(\d) off=(\S+) "
                      r"gws=(\S+) lws=(\S+) props=(\S+) nsync=(\d+) sync=(\S+) mutable=(\S+) -> (-?\d+) sp=(\d+)")


def _fmt(v):
    return "null" if v is None else ",".join(map(str, v))


def _vendors(tmp_path, libs, suffix="FAKE"):
    """Environment that makes `libs` (absolute paths) the only OpenCL vendors, logging to tmp_path/icd.log."""
    vendors = tmp_path / "vendors"
    vendors.mkdir(exist_ok=True)
    for i, lib in enumerate(libs):
        (vendors / f"fake{i}.icd").write_text(lib + "\n")
    return {"OCL_ICD_VENDORS": str(vendors), "FAKE_ICD_LOG": str(tmp_path / "icd.log"), "FAKE_ICD_SUFFIX": suffix}


def _log(env):
    """The fake ICD's log lines, and the file emptied for the next run."""
    path = env["FAKE_ICD_LOG"]
    lines = open(path).read().splitlines() if os.path.exists(path) else []
    if os.path.exists(path):
        os.unlink(path)
    return lines


def _untraced(argv, env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OPENCL_LAYERS", "LD_PRELOAD") and not k.startswith("CLTRACE_")}
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env={**clean, **env}, timeout=120)
    log = _log(env)
    assert p.returncode == 0, "\n".join([p.stdout, p.stderr, "fake ICD log:"] + log)
    return p.stdout, log


def _traced(cli, tmp_path, mode, argv, env):
    db = tmp_path / f"trace-{mode}.db"
    p = cli("run", "-q", "-f", "-o", db, "--mode", mode, "--", *argv, cwd=tmp_path, env=env)
    log = _log(env)
    assert p.returncode == 0, "\n".join([p.stdout, p.stderr, "fake ICD log:"] + log)
    return p.stdout, log, cltrace.open(str(db))


def _icd_commands(log, lib=FAKE_ICD):
    return [m.groups() for m in map(ICD_LINE.match, log) if m and m.group(1) == lib]


def _summary(log, lib=FAKE_ICD):
    (line,) = [s for s in log if s.startswith(lib + " summary ")]
    return dict(kv.split("=") for kv in line.split()[2:])


def _col(df, name):
    return [None if pd.isna(v) else int(v) for v in df[name]]


@pytest.fixture(scope="session")
def fake_icd(programs):
    path = programs(FAKE_ICD)
    assert os.path.exists(path), f"{path} was not built"
    return path


@pytest.mark.parametrize("suffix", ["FAKE", "KHR"])
@pytest.mark.parametrize("mode", MODES)
def test_command_buffer_launches_are_recorded(cli, programs, fake_icd, tmp_path, mode, suffix):
    """suffix KHR: ocl-icd's clGetExtensionFunctionAddress (no platform) only asks a vendor whose
    CL_PLATFORM_ICD_SUFFIX_KHR ends the name, so with "KHR" the plain lookup finds the function too and
    the app records its second command through that pointer; with "FAKE" it gets NULL."""
    env = _vendors(tmp_path, [fake_icd], suffix)
    app = [programs("cmdbuf_app")]
    plain_out, plain_log = _untraced(app, env)
    out, log, trace = _traced(cli, tmp_path, mode, app, env)

    # transparency: the app prints the same, and the fake ICD saw the same command calls
    assert out == plain_out
    assert "result: 576 hits for 576 work-items: OK" in out
    assert "queue properties seen by the app: 0x0" in out
    assert _icd_commands(log) == _icd_commands(plain_log)
    plain_found = suffix == "KHR"
    assert ("lookup clCommandNDRangeKernelKHR plain: found, same as ForPlatform" if plain_found
            else "lookup clCommandNDRangeKernelKHR plain: NULL") in out

    # each command reached the real clCommandNDRangeKernelKHR once, with the app's own arguments
    app_cmds = [m.groups() for m in map(APP_LINE.match, out.splitlines()) if m]
    icd_cmds = _icd_commands(log)
    assert len(app_cmds) == len(icd_cmds) == 3
    vias = []
    for i, (a, c, (dim, off, gws, lws)) in enumerate(zip(app_cmds, icd_cmds, COMMANDS)):
        _, idx, via, kernel, a_dim, a_off, a_gws, a_lws, a_nsync, a_err, a_sp = a
        _, call, cb, i_kernel, i_dim, i_off, i_gws, i_lws, props, nsync, sync, mutable, err, sp = c
        vias.append(via)
        assert (int(idx), int(call), cb) == (i, i + 1, "1")
        assert (kernel, a_dim, a_off, a_gws, a_lws) == ("count", str(dim), _fmt(off), _fmt(gws), _fmt(lws))
        assert (i_kernel, i_dim, i_off, i_gws, i_lws) == (kernel, a_dim, a_off, a_gws, a_lws)
        assert (props, mutable, nsync, sync) == ("null", "null", a_nsync, "-" if i == 0 else str(i))
        assert err == a_err == "0" and sp == a_sp == str(i + 1)
    assert vias == (["ForPlatform", "plain", "ForPlatform"] if plain_found else ["ForPlatform"] * 3)
    summary = _summary(log)
    assert summary == {"cmd_ndrange": "3", "enqueue_ndrange": "1", "enqueue_cmdbuf": "1", "live_events": "0"}
    assert _summary(plain_log) == summary
    # the shim forced profiling on the real queue (untraced: the app's 0)
    assert f"{FAKE_ICD} create_queue props=0x2 -> 0" in log
    assert f"{FAKE_ICD} create_queue props=0x0 -> 0" in plain_log

    # the trace: three command-buffer launches, then the ordinary one
    assert trace.runs["mode"].tolist() == [mode]
    L = trace.launches.sort_values("seq").reset_index(drop=True)
    assert L["api"].astype(str).tolist() == ["command_buffer"] * 3 + ["ndrange"]
    assert L["kernel_name"].astype(str).tolist() == ["count"] * 4
    assert (L["error"] == 0).all()
    assert (L["arg_bytes"] == ARG_BYTES).all()
    shapes = COMMANDS + [ORDINARY]
    assert _col(L, "work_dim") == [s[0] for s in shapes]
    for d in range(3):
        assert _col(L, f"global{d}") == [s[2][d] if d < s[0] else None for s in shapes]
        assert _col(L, f"local{d}") == [s[3][d] if s[3] and d < s[0] else None for s in shapes]
        assert _col(L, f"offset{d}") == [(s[1][d] if s[1] else 0) if d < s[0] else None for s in shapes]
    assert _col(L, "driver_local") == [0, 0, 1, 0]
    assert _col(L, "work_groups") == [8, 4, None, 2]
    cmd, nd = L.iloc[:3], L.iloc[3]
    # recorded when added to the buffer, never timed
    assert cmd["times_status"].astype(str).tolist() == ["untimed"] * 3
    assert cmd["duration_ns"].isna().all() and cmd["start_ns"].isna().all()
    # the ordinary launch is timed with the fake device's own (exact, made-up) profiling times
    assert nd["times_status"] == "ok"
    assert nd["duration_ns"] == 128 * NS_PER_ITEM
    assert nd["own_event"] == 1
    dev = trace.devices.set_index("device_id").loc[nd["device_id"]]
    assert dev["name"] == DEVICE_NAME
    assert trace.processes["untimed_launches"].tolist() == [3]
    # the app passes a NULL queue when recording; the shim asks the buffer for its (one) queue
    assert _col(cmd, "queue_id") == [int(nd["queue_id"])] * 3
    assert _col(cmd, "device_id") == [int(nd["device_id"])] * 3

    # one ext-lookup note per lookup, in the app's order; value 1 = the shim wrapped what it returned
    notes = trace.notes[trace.notes["kind"] == "ext-lookup"]
    assert list(zip(notes["message"], _col(notes, "value"))) == [
        ("clCreateCommandBufferKHR", 0), ("clCommandNDRangeKernelKHR", 1), ("clFinalizeCommandBufferKHR", 0),
        ("clEnqueueCommandBufferKHR", 0), ("clReleaseCommandBufferKHR", 0),
        ("clCommandNDRangeKernelKHR", 1 if plain_found else 0)]


@pytest.mark.parametrize("mode", MODES)
def test_two_vendor_libraries_each_get_their_own_commands(cli, programs, fake_icd, tmp_path, mode):
    """Two vendors with command buffers (two copies of the fake ICD: two platforms, two different
    clCommandNDRangeKernelKHR). The app sets both platforms up, looking the function up for each, then
    records on each: every command must reach the function of its own platform's library."""
    second = tmp_path / "libcltrace_fake_icd_b.so"
    shutil.copy(fake_icd, second)
    env = _vendors(tmp_path, [fake_icd, str(second)])
    app = [programs("cmdbuf_app"), "--all"]
    plain_out, plain_log = _untraced(app, env)
    assert "done: 2 platforms" in plain_out
    assert len(_icd_commands(plain_log, FAKE_ICD)) == len(_icd_commands(plain_log, second.name)) == 3

    out, log, trace = _traced(cli, tmp_path, mode, app, env)
    assert out == plain_out
    for lib in (FAKE_ICD, second.name):
        assert _icd_commands(log, lib) == _icd_commands(plain_log, lib)
        assert _summary(log, lib)["cmd_ndrange"] == "3"
    L = trace.launches
    assert L["api"].astype(str).value_counts().to_dict() == {"command_buffer": 6, "ndrange": 2}
    assert (L["error"] == 0).all()
    # each command is attributed to its own platform's queue and device, like that platform's launch
    cmd, nd = L[L["api"] == "command_buffer"], L[L["api"] == "ndrange"]
    assert cmd["queue_id"].notna().all() and cmd["queue_id"].nunique() == 2
    assert cmd.groupby("queue_id")["device_id"].first().to_dict() == \
        nd.groupby("queue_id")["device_id"].first().to_dict()
    assert cmd.groupby("queue_id").size().tolist() == [3, 3]
