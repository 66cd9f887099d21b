/* soak: T threads enqueueing a trivial kernel for S seconds, each with its own finish pattern, for
 * bench/bench_soak.py (issue 27: a long run under cltrace with nothing lost).
 *
 *   soak [--threads T] [--seconds S] [--rate R] [--max-launches N] [--work-items G]
 *
 * Thread i runs pattern i % 6 (names printed at the end):
 *   batch    own queue, event NULL, clFinish every 1000 launches
 *   events   own queue, an app event per launch released at once, clFinish every 1000
 *   waits    own out-of-order queue, an app event per launch, clWaitForEvents on every 64th (all released)
 *   sync     own queue, clFinish after every launch (a latency benchmark's loop)
 *   shared   one in-order queue shared by every `shared` thread, clFlush every 100, clFinish every 500
 *   marker   own queue, each launch waits on the previous launch's app event, clWaitForEvents every 256
 * A thread stops after S seconds (checked every 64 launches) or once the process made N launches. With
 * --rate R (launches per second, whole process) each thread paces itself to R/T: every 64 launches it
 * sleeps until its schedule (a capture takes ~144 bytes a launch: the disk, not PoCL, bounds a long soak).
 * Prints "soak: launches=L threads=T seconds=W" and one "thread I PATTERN launches=L" line per thread.
 */
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifndef CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#endif
#include <CL/cl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x)                                                                                           \
    do {                                                                                                   \
        cl_int e_ = (x);                                                                                   \
        if (e_ != CL_SUCCESS) {                                                                            \
            fprintf(stderr, "%s:%d: %s -> %d\n", __FILE__, __LINE__, #x, e_);                             \
            exit(3);                                                                                       \
        }                                                                                                  \
    } while (0)

static const char *src = "__kernel void inc(__global float *y) { y[get_global_id(0)] += 1.0f; }\n";
static const char *names[] = {"batch", "events", "waits", "sync", "shared", "marker"};
enum { BATCH, EVENTS, WAITS, SYNC, SHARED, MARKER, NPAT };

static cl_context ctx;
static cl_device_id dev;
static cl_program prog;
static cl_command_queue shared_q;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static double stop_at, start_at, rate_per_thread;
static long max_total;
static atomic_long total;
static size_t global;

typedef struct { int index, pattern; long launches; } worker_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static cl_command_queue queue(cl_command_queue_properties props)
{
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(ctx, dev, props, &err);
    CHECK(err);
    return q;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    cl_int err;
    cl_kernel k = clCreateKernel(prog, "inc", &err);
    CHECK(err);
    cl_mem buf = clCreateBuffer(ctx, CL_MEM_READ_WRITE, global * sizeof(float), NULL, &err);
    CHECK(err);
    CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &buf));
    cl_command_queue q = w->pattern == SHARED ? shared_q
                         : queue(w->pattern == WAITS ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0);
    cl_event evs[256];
    int nev = 0;
    cl_event prev = NULL;
    for (long i = 0;; i++) {
        if ((i & 63) == 0) {
            double t = now_s();
            if (t >= stop_at)
                break;
            if (rate_per_thread > 0) {
                double due = start_at + i / rate_per_thread;
                if (due > t) {
                    double d = (due < stop_at ? due : stop_at) - t;
                    struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
                    nanosleep(&ts, NULL);
                }
            }
        }
        if (max_total && atomic_fetch_add(&total, 1) >= max_total)
            break;
        cl_event ev = NULL;
        switch (w->pattern) {
        case BATCH:
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
            if (i % 1000 == 999)
                CHECK(clFinish(q));
            break;
        case EVENTS:
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &ev));
            CHECK(clReleaseEvent(ev));
            if (i % 1000 == 999)
                CHECK(clFinish(q));
            break;
        case WAITS:
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &evs[nev++]));
            if (nev == 64) {
                CHECK(clWaitForEvents(nev, evs));
                for (int j = 0; j < nev; j++)
                    CHECK(clReleaseEvent(evs[j]));
                nev = 0;
            }
            break;
        case SYNC:
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
            CHECK(clFinish(q));
            break;
        case SHARED:
            pthread_mutex_lock(&shared_lock);   /* the kernel object is this thread's; the queue is shared */
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
            pthread_mutex_unlock(&shared_lock);
            if (i % 100 == 99)
                CHECK(clFlush(q));
            if (i % 500 == 499)
                CHECK(clFinish(q));
            break;
        case MARKER:
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, prev ? 1 : 0, prev ? &prev : NULL, &ev));
            if (prev)
                CHECK(clReleaseEvent(prev));
            prev = ev;
            if (i % 256 == 255)
                CHECK(clWaitForEvents(1, &prev));
            break;
        }
        w->launches++;
    }
    if (nev) {
        CHECK(clWaitForEvents(nev, evs));
        for (int j = 0; j < nev; j++)
            CHECK(clReleaseEvent(evs[j]));
    }
    if (prev) {
        CHECK(clWaitForEvents(1, &prev));
        CHECK(clReleaseEvent(prev));
    }
    CHECK(clFinish(q));
    if (q != shared_q)
        CHECK(clReleaseCommandQueue(q));
    CHECK(clReleaseKernel(k));
    CHECK(clReleaseMemObject(buf));
    return NULL;
}

static long arg_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return def;
}

int main(int argc, char **argv)
{
    int nt = (int)arg_long(argc, argv, "--threads", 6);
    double seconds = (double)arg_long(argc, argv, "--seconds", 60);
    max_total = arg_long(argc, argv, "--max-launches", 0);
    global = (size_t)arg_long(argc, argv, "--work-items", 64);
    long rate = arg_long(argc, argv, "--rate", 0);
    if (nt < 1 || nt > 64) {
        fprintf(stderr, "soak: --threads must be 1..64\n");
        return 2;
    }
    cl_platform_id p;
    cl_int err;
    CHECK(clGetPlatformIDs(1, &p, NULL));
    CHECK(clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &dev, NULL));
    ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    CHECK(err);
    prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(prog, 1, &dev, "", NULL, NULL));
    shared_q = queue(0);
    worker_t w[64];
    pthread_t th[64];
    double t0 = now_s();
    stop_at = t0 + seconds;
    start_at = t0;
    rate_per_thread = rate > 0 ? (double)rate / nt : 0;
    for (int i = 0; i < nt; i++) {
        w[i] = (worker_t){i, i % NPAT, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    long sum = 0;
    for (int i = 0; i < nt; i++) {
        pthread_join(th[i], NULL);
        sum += w[i].launches;
    }
    CHECK(clFinish(shared_q));
    double wall = now_s() - t0;
    printf("soak: launches=%ld threads=%d seconds=%.3f\n", sum, nt, wall);
    for (int i = 0; i < nt; i++)
        printf("thread %d %s launches=%ld\n", i, names[w[i].pattern], w[i].launches);
    return 0;
}
