"""The device's OpenCL level (capture format 4, trace schema 3): CL_DEVICE_VERSION, CL_DEVICE_OPENCL_C_VERSION,
CL_DEVICE_EXTENSIONS and CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, recorded once per device in every capture
path, equal to what pyopencl reports for the same device (PoCL's strings differ between hosts: never literals);
a query the driver refuses is NULL (the fake ICD refuses on request); and the options a kernel's program was
really built with."""
import json

import pytest

import cltrace
from cltrace.pytest_plugin import find_device, python_command

MODES = ["layer", "preload"]
POCL = "Portable Computing Language"

LEVEL_SCRIPT = """
import json, pyopencl as cl
from cltrace.pytest_plugin import find_device
dev, why = find_device("Portable Computing Language")
assert dev is not None, why
ctx = cl.Context([dev])
q = cl.CommandQueue(ctx)
src = "__kernel void fill(__global float *a) { a[get_global_id(0)] = TILE; }"
a = cl.Buffer(ctx, cl.mem_flags.READ_WRITE, 4 * 64)
p4 = cl.Program(ctx, src).build(options=["-cl-std=CL2.0", "-DTILE=4"])
p4.fill(q, (64,), (16,), a)
q.finish()
p8 = cl.Program(ctx, src.replace("fill(", "fill8(")).build(options=["-DTILE=8"])
p8.fill8(q, (64,), None, a)
q.finish()
with open(OUT, "w") as f:
    json.dump({"name": dev.name, "version": dev.version, "c_version": dev.opencl_c_version,
               "extensions": dev.extensions,
               "non_uniform": int(dev.get_info(cl.device_info.NON_UNIFORM_WORK_GROUP_SUPPORT))}, f)
"""


def _pyopencl_level():
    cl = pytest.importorskip("pyopencl")
    dev, why = find_device(POCL)
    if dev is None:
        pytest.skip(why)
    try:
        nu = int(dev.get_info(cl.device_info.NON_UNIFORM_WORK_GROUP_SUPPORT))
    except cl.Error:
        nu = None
    return {"name": dev.name, "version": dev.version, "c_version": dev.opencl_c_version,
            "extensions": dev.extensions, "non_uniform": nu}


def _one_device(trace):
    D = trace.devices
    assert len(D) == 1, D
    return D.iloc[0]


def _assert_level(row, level):
    assert row["name"] == level["name"]
    assert row["opencl_version"] == level["version"]
    assert row["opencl_c_version"] == level["c_version"]
    assert row["extensions"] == level["extensions"]
    if level["non_uniform"] is None:
        assert row["non_uniform_wg"] is None or str(row["non_uniform_wg"]) == "<NA>"
    else:
        assert int(row["non_uniform_wg"]) == level["non_uniform"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("program", ["hardened", "dlopen"])
def test_pocl_device_level_in_c_programs(cltrace_run, programs, mode, program):
    """A C program linked with -lOpenCL under LD_BIND_NOW=1 (preload hooks, or the layer) and one that dlopen()s
    the loader (the shadow library in preload mode): the same facts as pyopencl reads here."""
    level = _pyopencl_level()
    env = {"LD_BIND_NOW": "1"} if program == "hardened" else {}
    trace = cltrace_run([programs(program), "3"], mode=mode, env=env)
    assert len(trace.launches) == 3
    _assert_level(_one_device(trace), level)
    assert len(level["extensions"]) > 255      # longer than the fixed buffers of the other device strings


@pytest.mark.parametrize("mode", MODES)
def test_pocl_device_level_and_build_options_from_pyopencl(cltrace_run, tmp_path, mode):
    """pyopencl (its own bundled loader): the device level as the traced program itself reads it, and per
    kernel the options its program was built with."""
    out = tmp_path / "level.json"
    trace = cltrace_run(python_command(f"OUT = {str(out)!r}\n" + LEVEL_SCRIPT), mode=mode)
    seen = json.loads(out.read_text())
    _assert_level(_one_device(trace), seen)
    B = trace.kernel_build_options()
    assert list(B.columns) == ["run_id", "process_id", "kernel_id", "kernel_name", "program_kind", "options"]
    by_name = {r.kernel_name: r for r in B.itertuples()}
    assert set(by_name) == {"fill", "fill8"}
    assert by_name["fill"].program_kind == by_name["fill8"].program_kind == "build"
    # pyopencl appends its own include directory (-I ...) to what the script asked for
    assert by_name["fill"].options.startswith("-cl-std=CL2.0 -DTILE=4")
    assert by_name["fill8"].options.startswith("-DTILE=8")
    assert "CL2.0" not in by_name["fill8"].options
    # the same options are in programs, recorded before the kernel
    P = trace.programs
    built = P[P["kind"] == "build"]
    assert sorted(built["options"].str.split(" -I").str[0]) == ["-DTILE=8", "-cl-std=CL2.0 -DTILE=4"]
    assert trace.kernel_build_options(run=int(trace.runs["run_id"].iloc[0])).equals(B)


# -- the fake ICD: a driver that answers, or refuses, each query -----------------------------------------------

def _fake_env(tmp_path, programs, **extra):
    vendors = tmp_path / "vendors"
    vendors.mkdir(exist_ok=True)
    (vendors / "fake.icd").write_text(programs("libcltrace_fake_icd.so") + "\n")
    return {"OCL_ICD_VENDORS": str(vendors), "FAKE_ICD_LOG": "off", **extra}


def _fake_trace(cli, programs, tmp_path, mode, **extra):
    db = tmp_path / f"fake-{mode}.db"
    p = cli("run", "-q", "-f", "-o", db, "--mode", mode, "--", programs("linked"), "4", cwd=tmp_path,
            env=_fake_env(tmp_path, programs, **extra))
    assert p.returncode == 0, p.stderr
    trace = cltrace.open(str(db))
    assert len(trace.launches) == 4
    return _one_device(trace)


@pytest.mark.parametrize("mode", MODES)
def test_fake_driver_answers(cli, programs, tmp_path, mode):
    long_ext = " ".join(f"cl_fake_extension_{i:04d}" for i in range(400))     # ~9.6 KB: no fixed buffer
    row = _fake_trace(cli, programs, tmp_path, mode, FAKE_ICD_NON_UNIFORM="1", FAKE_ICD_EXTENSIONS=long_ext)
    assert row["name"] == "fake command-buffer device"
    assert row["opencl_version"] == "OpenCL 3.0 cltrace-fake"
    assert row["opencl_c_version"] == "OpenCL C 1.2 cltrace-fake"
    assert row["extensions"] == long_ext
    assert int(row["non_uniform_wg"]) == 1
    row = _fake_trace(cli, programs, tmp_path, mode, FAKE_ICD_NON_UNIFORM="0")
    assert int(row["non_uniform_wg"]) == 0
    assert row["extensions"] == "cl_khr_command_buffer"


@pytest.mark.parametrize("mode", MODES)
def test_fake_driver_refusals_are_null(cli, programs, tmp_path, mode):
    """A driver before OpenCL 3.0 refuses CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT (the fake without
    FAKE_ICD_NON_UNIFORM): NULL, not 0. Refused strings are NULL, not "", and the rest of the device is kept."""
    row = _fake_trace(cli, programs, tmp_path, mode)
    assert row.isna()["non_uniform_wg"]
    assert row["opencl_version"] == "OpenCL 3.0 cltrace-fake" and row["extensions"] == "cl_khr_command_buffer"
    row = _fake_trace(cli, programs, tmp_path, mode, FAKE_ICD_FAIL_INFO="version,c_version,extensions",
                      FAKE_ICD_NON_UNIFORM="1")
    assert row.isna()["opencl_version"] and row.isna()["opencl_c_version"] and row.isna()["extensions"]
    assert int(row["non_uniform_wg"]) == 1
    assert row["name"] == "fake command-buffer device" and int(row["compute_units"]) == 4


# -- cltrace devices: what the driver says, nothing derived ----------------------------------------------------

def test_devices_command_shows_what_pocl_reports(cli):
    level = _pyopencl_level()
    doc = json.loads(cli("devices", "--format", "json").stdout)
    devs = [d for p in doc["platforms"] if p["platform"] == POCL for d in p["devices"] if d["name"] == level["name"]]
    assert len(devs) == 1
    d = devs[0]
    assert d["opencl_version"] == level["version"].strip()
    assert d["opencl_c_version"] == level["c_version"].strip()
    assert d["extensions"] == level["extensions"].split()
    assert d["non_uniform_wg"] is (None if level["non_uniform"] is None else bool(level["non_uniform"]))
    text = cli("devices").stdout
    expected = {True: "supported (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT = CL_TRUE)",
                False: "not supported (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT = CL_FALSE)",
                None: "not reported"}[d["non_uniform_wg"]]
    line = next(ln for ln in text.splitlines() if ln.startswith(level["name"] + ": "))
    assert f"; non-uniform work-groups: {expected}" in line
    assert line.startswith(f"{level['name']}: {' '.join(level['version'].split()[:2])}, "
                           f"{' '.join(level['c_version'].split()[:3])}; ")


@pytest.mark.parametrize("answer, expected", [
    ("1", "supported (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT = CL_TRUE)"),
    (None, "not reported (the driver does not answer CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, an OpenCL 3.0 query)"),
])
def test_devices_command_on_a_driver_that_answers_or_refuses(cli, programs, tmp_path, answer, expected):
    extra = {"FAKE_ICD_EXTENSIONS": "cl_khr_fp64 cl_arm_non_uniform_work_group_size"}
    if answer is not None:
        extra["FAKE_ICD_NON_UNIFORM"] = answer
    env = _fake_env(tmp_path, programs, **extra)
    p = cli("devices", env=env)
    assert p.returncode == 0, p.stderr
    assert (f"fake command-buffer device: OpenCL 3.0, OpenCL C 1.2; non-uniform work-groups: {expected}; "
            f"extension cl_arm_non_uniform_work_group_size") in p.stdout.splitlines()
    d = json.loads(cli("devices", "--format", "json", env=env).stdout)["platforms"][0]["devices"][0]
    assert d["non_uniform_wg"] is (None if answer is None else True)
