"""The pytest fixtures cltrace ships, used the way a user would."""
import numpy as np


def test_cl_queue_runs_a_kernel_with_profiling(cl_device, cl_context, cl_queue):
    import pyopencl as cl
    assert "Portable Computing Language" in cl_device.platform.name
    prg = cl.Program(cl_context, "__kernel void dbl(__global float *a) { a[get_global_id(0)] *= 2; }").build()
    host = np.arange(16, dtype=np.float32)
    buf = cl.Buffer(cl_context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR, hostbuf=host)
    ev = prg.dbl(cl_queue, (16,), None, buf)
    out = np.empty_like(host)
    cl.enqueue_copy(cl_queue, out, buf)
    assert (out == host * 2).all()
    assert ev.profile.end >= ev.profile.start


def test_cltrace_run_returns_the_trace(cltrace_run, programs):
    trace = cltrace_run([programs("linked"), "12"], tags={"case": "fixture"})
    assert len(trace.launches) == 12 and trace.exit_status == 0
    assert trace.params.loc[1, "case"] == "fixture"
    failing = cltrace_run(["false"], expect_exit=1)
    assert failing.exit_status == 1 and failing.launches.empty
