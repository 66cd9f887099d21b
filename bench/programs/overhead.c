/* overhead.c: the launch loop that bench/bench_overhead.py times untraced and under cltrace.
 *
 *   overhead trivial   [--launches N] [--finish-every K] [--warmup W] [--app-event]
 *   overhead realistic [--launches N] [--finish-every K] [--warmup W] [--work-items G] [--iters I] [--app-event]
 *
 * trivial:   N launches of an empty-ish kernel, global 64, local NULL, no event, clFinish every K
 *            (default N=100000, K=1000): the workload opencl-intercept-layer's overhead was measured on.
 * realistic: N launches of a loop-heavy kernel on G work-items (each runs I iterations), clFinish every K
 *            (default N=3000, K=100, G=4096, I=64): ~0.5-1 ms per launch on PoCL CPU.
 *
 * --app-event: the app asks for each launch's event and releases it right after the enqueue (the pattern
 * of programs that keep an event only to drop it, e.g. pyopencl's returned events); without it, event NULL.
 *
 * The queue is created WITHOUT profiling. Program build and W warm-up launches (default 200 / 20) are
 * excluded from the timed loop, which is timed with CLOCK_MONOTONIC. Prints one machine-readable line:
 *   OVERHEAD workload=... launches=N loop_ns=... us_per_launch=... maxrss_kb=... vmhwm_kb=... warmup=W
 *            main_cpu_us=... main_sys_us=... proc_cpu_us=... vcsw=... ivcsw=...
 * The last five cover the timed loop only: CPU time (user+sys, and sys alone; microseconds per launch) of
 * the launching thread, that of the whole process (PoCL's worker threads included), and the process's
 * voluntary / involuntary context switches. Diagnostics: they tell where a wall-clock difference comes from.
 */
#define _GNU_SOURCE               /* RUSAGE_THREAD */
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *SRC =
    "__kernel void trivial(__global int *out) {\n"
    "    size_t i = get_global_id(0);\n"
    "    out[i] = (int)i;\n"
    "}\n"
    "__kernel void realistic(__global float *out, int iters) {\n"
    "    size_t i = get_global_id(0);\n"
    "    float a = (float)i * 1e-3f, b = 1.0f;\n"
    "    for (int k = 0; k < iters; ++k) {\n"
    "        b = b * 0.999f + a;\n"
    "        a = a * 1.0001f - b * 1e-4f;\n"
    "    }\n"
    "    out[i] = a + b;\n"
    "}\n";

static void check(cl_int err, const char *what)
{
    if (err != CL_SUCCESS) {
        fprintf(stderr, "overhead: %s failed (%d)\n", what, (int)err);
        exit(2);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_us(const struct rusage *r)
{
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 + (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

static double sys_us(const struct rusage *r)
{
    return (double)r->ru_stime.tv_sec * 1e6 + (double)r->ru_stime.tv_usec;
}

static int arg_flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; ++i)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static long arg_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 2; i + 1 < argc; ++i)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return def;
}

/* --self-timed: read the four profiling timestamps of each held event, then release it. Counts the reads
 * that succeeded and adds up the device time (end - start) of the events. */
static void read_and_release(cl_event *held, long *n_held, long *reads, cl_ulong *device_ns)
{
    static const cl_profiling_info what[4] = { CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT,
                                               CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END };
    cl_ulong t[4];
    for (long i = 0; held && i < *n_held; i++) {
        int ok = 0;
        for (int j = 0; j < 4; j++)
            ok += clGetEventProfilingInfo(held[i], what[j], sizeof t[j], &t[j], NULL) == CL_SUCCESS;
        *reads += ok;
        if (ok == 4)
            *device_ns += t[3] - t[2];
        clReleaseEvent(held[i]);
    }
    *n_held = 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "trivial") != 0 && strcmp(argv[1], "realistic") != 0)) {
        fprintf(stderr, "usage: overhead trivial|realistic [--launches N] [--finish-every K] [--warmup W]"
                        " [--work-items G] [--iters I] [--app-event] [--self-timed]\n");
        return 64;
    }
    int trivial = strcmp(argv[1], "trivial") == 0;
    long n = arg_long(argc, argv, "--launches", trivial ? 100000 : 3000);
    long every = arg_long(argc, argv, "--finish-every", trivial ? 1000 : 100);
    long warmup = arg_long(argc, argv, "--warmup", trivial ? 200 : 20);
    size_t global = (size_t)arg_long(argc, argv, "--work-items", trivial ? 64 : 4096);
    cl_int iters = (cl_int)arg_long(argc, argv, "--iters", 64);
    int app_event = arg_flag(argc, argv, "--app-event");
    /* What any tool that reports device times makes the driver do, done by the program itself: a profiling
     * queue, an event per launch kept until the next clFinish, its four timestamps read, then released.
     * The bench's floor under every device-timing tool. */
    int self_timed = arg_flag(argc, argv, "--self-timed");
    if (every < 1)
        every = 1;
    cl_event *held = self_timed ? calloc((size_t)every, sizeof *held) : NULL;
    long n_held = 0, stamp_reads = 0;
    cl_ulong device_ns = 0;
    if (self_timed && !held) {
        fprintf(stderr, "overhead: no memory for %ld events (--finish-every)\n", every);
        return 1;
    }

    cl_int err;
    cl_platform_id plat;
    cl_device_id dev;
    check(clGetPlatformIDs(1, &plat, NULL), "clGetPlatformIDs");
    check(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, NULL), "clGetDeviceIDs");
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    check(err, "clCreateContext");
    cl_command_queue q = clCreateCommandQueue(ctx, dev, self_timed ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    check(err, "clCreateCommandQueue");
    cl_program prog = clCreateProgramWithSource(ctx, 1, &SRC, NULL, &err);
    check(err, "clCreateProgramWithSource");
    check(clBuildProgram(prog, 1, &dev, "", NULL, NULL), "clBuildProgram");
    cl_kernel k = clCreateKernel(prog, trivial ? "trivial" : "realistic", &err);
    check(err, "clCreateKernel");
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, global * 4, NULL, &err);
    check(err, "clCreateBuffer");
    check(clSetKernelArg(k, 0, sizeof buf, &buf), "clSetKernelArg");
    if (!trivial)
        check(clSetKernelArg(k, 1, sizeof iters, &iters), "clSetKernelArg");

    for (long i = 0; i < warmup; ++i) {
        cl_event ev = NULL;
        check(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, app_event ? &ev : NULL),
              "clEnqueueNDRangeKernel");
        if (ev)
            clReleaseEvent(ev);
        if ((i + 1) % every == 0)
            clFinish(q);
    }
    check(clFinish(q), "clFinish");

    struct rusage th0, pr0, th1, pr1;
    getrusage(RUSAGE_THREAD, &th0);
    getrusage(RUSAGE_SELF, &pr0);
    double t0 = now_ns();
    for (long i = 0; i < n; ++i) {
        cl_event ev = NULL;
        err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, app_event || held ? &ev : NULL);
        if (err != CL_SUCCESS)
            check(err, "clEnqueueNDRangeKernel");
        if (held)
            held[n_held++] = ev;
        else if (ev)
            clReleaseEvent(ev);
        if ((i + 1) % every == 0) {
            clFinish(q);
            read_and_release(held, &n_held, &stamp_reads, &device_ns);
        }
    }
    clFinish(q);
    read_and_release(held, &n_held, &stamp_reads, &device_ns);
    double loop_ns = now_ns() - t0;
    getrusage(RUSAGE_THREAD, &th1);
    getrusage(RUSAGE_SELF, &pr1);

    clReleaseMemObject(buf);
    clReleaseKernel(k);
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);

    /* ru_maxrss survives exec on Linux: it starts at the forking parent's peak (a Python launcher of
     * 100+ MB), so also print VmHWM, this process image's own peak resident set. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long hwm_kb = -1;
    FILE *st = fopen("/proc/self/status", "r");
    if (st) {
        char line[256];
        while (fgets(line, sizeof line, st))
            if (sscanf(line, "VmHWM: %ld kB", &hwm_kb) == 1)
                break;
        fclose(st);
    }
    printf("OVERHEAD workload=%s finish_every=%ld app_event=%d launches=%ld loop_ns=%.0f us_per_launch=%.3f maxrss_kb=%ld vmhwm_kb=%ld"
           " warmup=%ld main_cpu_us=%.3f main_sys_us=%.3f proc_cpu_us=%.3f vcsw=%ld ivcsw=%ld self_timed=%d"
           " stamp_reads=%ld device_ns_per_launch=%.1f\n", argv[1], every, app_event, n, loop_ns,
           loop_ns / 1e3 / (double)n, ru.ru_maxrss, hwm_kb, warmup, (cpu_us(&th1) - cpu_us(&th0)) / (double)n,
           (sys_us(&th1) - sys_us(&th0)) / (double)n, (cpu_us(&pr1) - cpu_us(&pr0)) / (double)n,
           pr1.ru_nvcsw - pr0.ru_nvcsw, pr1.ru_nivcsw - pr0.ru_nivcsw, self_timed, stamp_reads,
           (double)device_ns / (double)n);
    fflush(stdout);
    free(held);
    return 0;
}
