/* sync_parts.c: what the OpenCL side of cltrace's harvest costs in a program that waits after every launch,
 * without cltrace (run it untraced): the same loop as `overhead trivial --finish-every 1` in variants that
 * add, one at a time, what the shim adds around it, interleaved in one process (rotated each repetition),
 * medians over repetitions.
 *
 *   sync_parts [LAUNCHES_PER_BLOCK (200)] [REPETITIONS (201)]
 *
 *   V0 queue without profiling, event NULL, clFinish                  (the untraced program)
 *   V1 profiling queue (cltrace forces CL_QUEUE_PROFILING_ENABLE)
 *   V2 V1 + own event, clReleaseEvent after clFinish                 (cltrace's own event)
 *   V3 V2 + one status query (clGetEventInfo) before clFinish        (the pre-wait poll, before issue 16)
 *   V4 V3 + 4 clGetEventProfilingInfo after clFinish                 (the harvest, before issue 16)
 *   V5 V4 without the status query                                   (the harvest, after issue 16)
 * and, within V4, the time of each call (clock_gettime around it). bench/README.md has figures. */
#define _GNU_SOURCE
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *SRC = "__kernel void trivial(__global int *out) { size_t i = get_global_id(0); out[i] = (int)i; }\n";
enum { NV = 6, MAXREP = 1001, NP = 5 };
static const char *VNAME[NV] = {
    "V0 plain queue, event NULL, clFinish", "V1 profiling queue", "V2 V1 + own event, released after clFinish",
    "V3 V2 + status query before clFinish", "V4 V3 + 4 profiling reads after clFinish",
    "V5 V4 without the status query"};
static const char *PNAME[NP] = {"clEnqueueNDRangeKernel", "clGetEventInfo (status)", "clFinish",
                                "4 x clGetEventProfilingInfo", "clReleaseEvent"};
static double res[NV][MAXREP], part[NP][MAXREP];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmpd);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200;
    int reps = argc > 2 ? atoi(argv[2]) : 201;
    if (reps < 1 || reps > MAXREP || n < 1) {
        fprintf(stderr, "usage: sync_parts [LAUNCHES_PER_BLOCK] [REPETITIONS <= %d]\n", MAXREP);
        return 64;
    }
    cl_platform_id p;
    cl_device_id d;
    cl_int e;
    if (clGetPlatformIDs(1, &p, NULL) || clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL))
        return fprintf(stderr, "sync_parts: no OpenCL device\n"), 2;
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &e);
    cl_command_queue q0 = clCreateCommandQueue(c, d, 0, &e);
    cl_command_queue q1 = clCreateCommandQueue(c, d, CL_QUEUE_PROFILING_ENABLE, &e);
    cl_program pr = clCreateProgramWithSource(c, 1, &SRC, NULL, &e);
    clBuildProgram(pr, 1, &d, "", NULL, NULL);
    cl_kernel k = clCreateKernel(pr, "trivial", &e);
    size_t g = 64;
    cl_mem b = clCreateBuffer(c, CL_MEM_READ_WRITE, g * 4, NULL, &e);
    clSetKernelArg(k, 0, sizeof b, &b);
    for (int r = 0; r < reps; r++) {
        for (int vv = 0; vv < NV; vv++) {
            int v = (vv + r) % NV;
            cl_command_queue q = v == 0 ? q0 : q1;
            for (int i = 0; i < 20; i++) {      /* warm: this queue, this local size */
                clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, NULL);
                clFinish(q);
            }
            double acc[NP] = {0}, t0 = now();
            for (long i = 0; i < n; i++) {
                cl_event ev = NULL;
                double a = v == 4 ? now() : 0, z;
                clEnqueueNDRangeKernel(q, k, 1, NULL, &g, NULL, 0, NULL, v >= 2 ? &ev : NULL);
                if (v == 4) z = now(), acc[0] += z - a, a = z;
                if (v == 3 || v == 4) {
                    cl_int st;
                    clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
                }
                if (v == 4) z = now(), acc[1] += z - a, a = z;
                clFinish(q);
                if (v == 4) z = now(), acc[2] += z - a, a = z;
                if (v >= 4) {
                    cl_ulong t[4];
                    for (int j = 0; j < 4; j++)
                        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_QUEUED + j, sizeof t[j], &t[j], NULL);
                }
                if (v == 4) z = now(), acc[3] += z - a, a = z;
                if (ev)
                    clReleaseEvent(ev);
                if (v == 4) z = now(), acc[4] += z - a;
            }
            res[v][r] = (now() - t0) / n / 1e3;
            if (v == 4)
                for (int j = 0; j < NP; j++)
                    part[j][r] = acc[j] / n / 1e3;
        }
    }
    double base = median(res[0], reps);
    printf("sync_parts: %ld launches per block, %d repetitions, medians (us per launch)\n", n, reps);
    for (int v = 0; v < NV; v++) {
        double m = v ? median(res[v], reps) : base;
        printf("  %-46s %8.3f  (%+.3f vs V0)\n", VNAME[v], m, m - base);
    }
    printf("  within V4, per call (clock_gettime around each, ~25 ns included):\n");
    for (int j = 0; j < NP; j++)
        printf("    %-30s %8.3f\n", PNAME[j], median(part[j], reps));
    return 0;
}
