/* nonuniform: one OpenCL 2.0 launch whose local size does not divide its global size, for the split layer
 * (examples/acl_compat, docs/acl.md) and cltrace's tests of it.
 *
 *   nonuniform GX[xGY] LX[xLY] [--out-of-order] [--spin N]
 *
 * 1. write_ids over GX x GY with local LX x LY (non-uniform), its event waited for; the buffer of
 *    get_global_id values is compared with a uniform run (local NULL) of write_ids_ref: "same=1".
 * 2. spin over global 5, local 4 (a bulk of 4, a remainder of 1), each work-item looping N times, the fifth 4N
 *    times (so the two regions take about as long, as a work-group runs on one thread): the split launch's
 *    event duration and the durations of the same two regions launched one by one (spin_ref), the minimum
 *    of 5 interleaved rounds each: "split_ns=D regions_ns=d1+d2" (the split's event must cover both regions).
 * 3. write_ids once more with event NULL, then clFinish.
 * Without non-uniform work-groups (PoCL alone) step 1 fails: "enqueue: -54" and exit 3.
 */
#include "common.h"

static const char *src =
    "__kernel void write_ids(__global uint *o, uint gx)\n"
    "{ o[get_global_id(1) * gx + get_global_id(0)] = (uint)get_global_id(0) | ((uint)get_global_id(1) << 16); }\n"
    "__kernel void write_ids_ref(__global uint *o, uint gx)\n"
    "{ o[get_global_id(1) * gx + get_global_id(0)] = (uint)get_global_id(0) | ((uint)get_global_id(1) << 16); }\n"
    "__kernel void spin(__global float *o, int n)\n"
    "{ float a = get_global_id(0); int m = get_global_id(0) == 4 ? 4 * n : n;\n"
    "  for (int i = 0; i < m; ++i) a = a * 0.999f + 1.0f; o[get_global_id(0)] = a; }\n"
    "__kernel void spin_ref(__global float *o, int n)\n"
    "{ float a = get_global_id(0); int m = get_global_id(0) == 4 ? 4 * n : n;\n"
    "  for (int i = 0; i < m; ++i) a = a * 0.999f + 1.0f; o[get_global_id(0)] = a; }\n";

#define ROUNDS 5

static int parse2(const char *s, size_t v[2])
{
    char tail;
    v[1] = 1;
    int n = sscanf(s, "%zux%zu%c", &v[0], &v[1], &tail);
    return (n == 1 || n == 2) && v[0] && v[1];
}

static cl_ulong prof(cl_event e, cl_profiling_info what)
{
    cl_ulong t = 0;
    CHECK(clGetEventProfilingInfo(e, what, sizeof t, &t, NULL));
    return t;
}

int main(int argc, char **argv)
{
    size_t g[2], l[2];
    int ooo = 0, spin = 2000000;
    cl_int err;
    if (argc < 3 || !parse2(argv[1], g) || !parse2(argv[2], l)) {
        fprintf(stderr, "usage: nonuniform GX[xGY] LX[xLY] [--out-of-order] [--spin N]\n");
        return 2;
    }
    for (int i = 3; i < argc; ++i) {
        if (!strcmp(argv[i], "--out-of-order"))
            ooo = 1;
        else if (!strcmp(argv[i], "--spin") && i + 1 < argc)
            spin = atoi(argv[++i]);
        else
            return fprintf(stderr, "nonuniform: unknown argument %s\n", argv[i]), 2;
    }
    cl_uint dims = g[1] > 1 || l[1] > 1 ? 2 : 1;
    cl_platform_id p;
    cl_device_id d;
    CHECK(clGetPlatformIDs(1, &p, NULL));
    CHECK(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL));
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    CHECK(err);
    cl_queue_properties props[] = {CL_QUEUE_PROPERTIES,
                                   CL_QUEUE_PROFILING_ENABLE | (ooo ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0), 0};
    cl_command_queue q = clCreateCommandQueueWithProperties(c, d, props, &err);
    CHECK(err);
    cl_program prog = clCreateProgramWithSource(c, 1, &src, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(prog, 1, &d, "-cl-std=CL2.0", NULL, NULL));
    cl_kernel k = clCreateKernel(prog, "write_ids", &err), kref = clCreateKernel(prog, "write_ids_ref", &err);
    CHECK(err);
    size_t n = g[0] * g[1];
    cl_mem a = clCreateBuffer(c, CL_MEM_READ_WRITE, n * 4, NULL, &err);
    CHECK(err);
    cl_mem b = clCreateBuffer(c, CL_MEM_READ_WRITE, n * 4, NULL, &err);
    CHECK(err);
    cl_uint gx = (cl_uint)g[0];
    CHECK(clSetKernelArg(k, 0, sizeof a, &a));
    CHECK(clSetKernelArg(k, 1, sizeof gx, &gx));
    CHECK(clSetKernelArg(kref, 0, sizeof b, &b));
    CHECK(clSetKernelArg(kref, 1, sizeof gx, &gx));
    cl_uint zero = 0xffffffffu;
    CHECK(clEnqueueFillBuffer(q, a, &zero, 4, 0, n * 4, 0, NULL, NULL));
    CHECK(clEnqueueFillBuffer(q, b, &zero, 4, 0, n * 4, 0, NULL, NULL));
    CHECK(clFinish(q));

    cl_event e;
    err = clEnqueueNDRangeKernel(q, k, dims, NULL, g, l, 0, NULL, &e);
    if (err != CL_SUCCESS) {
        printf("enqueue: %d\n", err);
        return 3;
    }
    CHECK(clWaitForEvents(1, &e));
    cl_command_type type = 0;
    CHECK(clGetEventInfo(e, CL_EVENT_COMMAND_TYPE, sizeof type, &type, NULL));
    CHECK(clReleaseEvent(e));
    CHECK(clEnqueueNDRangeKernel(q, kref, dims, NULL, g, NULL, 0, NULL, NULL));
    cl_uint *ha = malloc(n * 4), *hb = malloc(n * 4);
    CHECK(clEnqueueReadBuffer(q, a, CL_TRUE, 0, n * 4, ha, 0, NULL, NULL));
    CHECK(clEnqueueReadBuffer(q, b, CL_TRUE, 0, n * 4, hb, 0, NULL, NULL));
    printf("same=%d items=%zu command_type=%s\n", memcmp(ha, hb, n * 4) == 0, n,
           type == CL_COMMAND_NDRANGE_KERNEL ? "ndrange" : "other");

    /* 2: a split launch's event against its regions run one by one */
    cl_kernel ks = clCreateKernel(prog, "spin", &err), ksr = clCreateKernel(prog, "spin_ref", &err);
    CHECK(err);
    cl_mem o = clCreateBuffer(c, CL_MEM_READ_WRITE, 5 * sizeof(float), NULL, &err);
    CHECK(err);
    cl_kernel both[2] = {ks, ksr};
    for (int i = 0; i < 2; ++i) {
        CHECK(clSetKernelArg(both[i], 0, sizeof o, &o));
        CHECK(clSetKernelArg(both[i], 1, sizeof spin, &spin));
    }
    size_t g5 = 5, l4 = 4, g4 = 4, g1 = 1, off4 = 4;
    cl_event es, r1, r2;
    /* warm up both kernels at both local sizes (PoCL compiles per local size) */
    CHECK(clEnqueueNDRangeKernel(q, ks, 1, NULL, &g5, &l4, 0, NULL, NULL));
    CHECK(clEnqueueNDRangeKernel(q, ksr, 1, NULL, &g4, &l4, 0, NULL, NULL));
    CHECK(clEnqueueNDRangeKernel(q, ksr, 1, &off4, &g1, &g1, 0, NULL, NULL));
    CHECK(clFinish(q));
    cl_ulong best_split = ~0ull, best1 = ~0ull, best2 = ~0ull;
    int queued_le_start = 1;
    for (int round = 0; round < ROUNDS; ++round) {   /* minimums of interleaved rounds: robust to other load */
        CHECK(clEnqueueNDRangeKernel(q, ks, 1, NULL, &g5, &l4, 0, NULL, &es));
        CHECK(clWaitForEvents(1, &es));
        CHECK(clEnqueueNDRangeKernel(q, ksr, 1, NULL, &g4, &l4, 0, NULL, &r1));
        CHECK(clEnqueueNDRangeKernel(q, ksr, 1, &off4, &g1, &g1, 1, &r1, &r2));
        CHECK(clWaitForEvents(1, &r2));
        cl_ulong queued = prof(es, CL_PROFILING_COMMAND_QUEUED), start = prof(es, CL_PROFILING_COMMAND_START);
        cl_ulong end = prof(es, CL_PROFILING_COMMAND_END);
        cl_ulong d1 = prof(r1, CL_PROFILING_COMMAND_END) - prof(r1, CL_PROFILING_COMMAND_START);
        cl_ulong d2 = prof(r2, CL_PROFILING_COMMAND_END) - prof(r2, CL_PROFILING_COMMAND_START);
        queued_le_start &= queued <= start;
        best_split = end - start < best_split ? end - start : best_split;
        best1 = d1 < best1 ? d1 : best1;
        best2 = d2 < best2 ? d2 : best2;
        clReleaseEvent(es);
        clReleaseEvent(r1);
        clReleaseEvent(r2);
    }
    printf("split_ns=%llu regions_ns=%llu+%llu queued_le_start=%d\n", (unsigned long long)best_split,
           (unsigned long long)best1, (unsigned long long)best2, queued_le_start);

    /* 3: event NULL */
    CHECK(clEnqueueNDRangeKernel(q, k, dims, NULL, g, l, 0, NULL, NULL));
    CHECK(clFinish(q));
    printf("done\n");
    return 0;
}
