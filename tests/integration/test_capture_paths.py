"""Every capture path is caught in each mode, with the fields a launch must carry."""
import json

import pytest

from cltrace.pytest_plugin import python_command

MODES = ["layer", "preload"]

PYOPENCL_SCRIPT = """
import json, numpy as np, pyopencl as cl
from cltrace.pytest_plugin import find_device
dev, why = find_device("Portable Computing Language")
assert dev is not None, why
ctx = cl.Context([dev])
q = cl.CommandQueue(ctx, properties=cl.command_queue_properties.PROFILING_ENABLE)
prg = cl.Program(ctx, "__kernel void twice(__global float *a) { int i = get_global_id(0); "
                      "for (int k = 0; k < 200; k++) a[i] = a[i] * 0.5f + 1.0f; }").build()
a = cl.Buffer(ctx, cl.mem_flags.READ_WRITE, 4 * 4096)
events = [prg.twice(q, (4096,), (64,), a) for _ in range(N)]
q.finish()
print(json.dumps([e.profile.end - e.profile.start for e in events]))
"""


def _ok(trace, n, kernel):
    L = trace.launches
    assert len(L) == n
    assert set(L["kernel_name"]) == {kernel}
    assert (L["times_status"] == "ok").all()
    assert L["duration_ns"].notna().all() and (L["duration_ns"] >= 0).all()
    assert L["seq"].is_unique
    return L


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("program", ["linked", "hardened", "dlopen"])
def test_c_programs(cltrace_run, programs, mode, program):
    env = {"LD_BIND_NOW": "1"} if program == "hardened" else {}
    trace = cltrace_run([programs(program), "200"], mode=mode, env=env)
    L = _ok(trace, 200, "inc")
    assert (L["global0"] == 1024).all() and (L["driver_local"] == 1).all()
    assert L["local0"].isna().all() and L["work_groups"].isna().all()
    assert (L["arg_bytes"] == 4096).all()
    assert trace.runs["mode"].tolist() == [mode]
    assert trace.devices["name"].str.len().gt(0).all()


@pytest.mark.parametrize("mode", MODES)
def test_pyopencl_wheel_and_device_times_match_its_own_profiling(cltrace_run, mode):
    """pyopencl's bundled loader is caught; our device durations equal pyopencl's event profiling
    of the same launches (tolerance: 1 us, both read the same events)."""
    trace = cltrace_run(python_command("N = 40\n" + PYOPENCL_SCRIPT), mode=mode)
    L = _ok(trace, 40, "twice").sort_values("seq")
    assert (L["local0"] == 64).all() and (L["work_groups"] == 64).all()
    assert (L["own_event"] == 0).all()


def test_device_times_oracle(cltrace_run, tmp_path):
    out = tmp_path / "oracle.json"
    code = "N = 30\n" + PYOPENCL_SCRIPT.replace("print(json.dumps(", f"open({str(out)!r}, 'w').write(json.dumps(")
    trace = cltrace_run(python_command(code))
    oracle = json.loads(out.read_text())
    ours = trace.launches.sort_values("seq")["duration_ns"].tolist()
    assert len(ours) == len(oracle) == 30
    assert all(abs(a - b) <= 1000 for a, b in zip(ours, oracle)), (ours, oracle)


def test_explicit_local_size_and_app_events(cltrace_run, programs):
    trace = cltrace_run([programs("linked"), "50", "64", "app"])
    L = _ok(trace, 50, "inc")
    assert (L["local0"] == 64).all() and (L["work_groups"] == 16).all() and (L["driver_local"] == 0).all()
    assert (L["own_event"] == 0).all()
    own = cltrace_run([programs("linked"), "50", "64"]).launches
    assert (own["own_event"] == 1).all()


@pytest.mark.parametrize("mode", MODES)
def test_regions_and_host_timestamps(cltrace_run, programs, mode):
    trace = cltrace_run([programs("linked"), "30"], mode=mode)
    L = trace.launches
    assert len(trace.regions) == 1 and L["region_id"].notna().all()
    assert (L["host_return_ns"] >= L["host_enqueue_ns"]).all()
    assert (L["start_ns"] >= L["queued_ns"]).all() and (L["end_ns"] >= L["start_ns"]).all()
    assert L["tid"].nunique() == 1
