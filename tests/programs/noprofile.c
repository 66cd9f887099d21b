/* noprofile: a queue without profiling must look untraced to the app. */
#include "common.h"

int main(void)
{
    size_t global = 64;
    tp_env t;
    cl_mem buf;
    cl_event ev;
    cl_ulong ts = 0;
    cl_command_queue_properties props = 123;
    int bad = 0;
    tp_setup(&t);
    cl_command_queue q = tp_queue(&t, 0);
    cl_kernel k = tp_kernel(&t, &buf, global);
    CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &ev));
    CHECK(clWaitForEvents(1, &ev));
    CHECK(clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL));
    if (props != 0) {
        printf("MISMATCH: CL_QUEUE_PROPERTIES = %#llx, expected 0\n", (unsigned long long)props);
        bad = 1;
    }
    cl_int err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof ts, &ts, NULL);
    if (err != CL_PROFILING_INFO_NOT_AVAILABLE) {
        printf("MISMATCH: clGetEventProfilingInfo -> %d, expected %d\n", err, CL_PROFILING_INFO_NOT_AVAILABLE);
        bad = 1;
    }
    /* A second queue created via clCreateCommandQueueWithProperties, also without profiling. */
    cl_queue_properties qp[] = { CL_QUEUE_PROPERTIES, 0, 0 };
    cl_command_queue q2 = clCreateCommandQueueWithProperties(t.c, t.d, qp, &err);
    CHECK(err);
    size_t sz = 0;
    CHECK(clGetCommandQueueInfo(q2, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL));
    CHECK(clGetCommandQueueInfo(q2, CL_QUEUE_PROPERTIES_ARRAY, 0, NULL, &sz));
    if (props != 0 || sz != sizeof qp) {
        printf("MISMATCH: queue 2 props %#llx array bytes %zu (expected 0, %zu)\n",
               (unsigned long long)props, sz, sizeof qp);
        bad = 1;
    }
    clReleaseEvent(ev);
    CHECK(clFinish(q));
    printf("expected launches=1 queues=2 %s\n", bad ? "MISMATCH" : "OK");
    return bad;
}
