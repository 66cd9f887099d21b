/* cmdbuf_app: records kernels into a cl_khr_command_buffer and runs it, plus
 * one ordinary clEnqueueNDRangeKernel (for the fake ICD, fake_icd.c).
 *
 *   cmdbuf_app [--all] [PLATFORM_SUBSTRING]     (default substring: "cltrace fake ICD")
 *
 * Uses the first platform whose name contains the substring (--all: every
 * one, all set up first, then each recorded and run in turn: the order of a
 * multi-device app). The extension functions come from
 * clGetExtensionFunctionAddressForPlatform; clCommandNDRangeKernelKHR is also
 * looked up with clGetExtensionFunctionAddress and, when that finds it, the
 * second command is recorded through that pointer. Everything printed is
 * independent of addresses and timing, so a traced run must print the same.
 * Exit status: 0 ok, 2 usage / no platform, 3 an OpenCL call failed. */
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <CL/cl_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                           \
    do {                                                                                                   \
        cl_int e_ = (x);                                                                                   \
        if (e_ != CL_SUCCESS) {                                                                            \
            printf("FAILED %s -> %d\n", #x, e_);                                                          \
            fprintf(stderr, "%s:%d: %s -> %d\n", __FILE__, __LINE__, #x, e_);                             \
            exit(3);                                                                                       \
        }                                                                                                  \
    } while (0)

#define N 4096      /* uints in the hit-count buffer */
#define MAXP 4

static const char *src =
    "__kernel void count(__global uint *hits) {\n"
    "    size_t i = get_global_id(0) +\n"
    "               get_global_size(0) * (get_global_id(1) + get_global_size(1) * get_global_id(2));\n"
    "    atomic_inc(&hits[i % 4096]);\n"
    "}\n"
    "__kernel void unused(__global float *a, float b) { a[get_global_id(0)] = b; }\n";

struct command {
    cl_uint dim;
    size_t off[3], gws[3], lws[3];
    int off_null, lws_null;
};

/* Three commands, each shape different: 1-D with a local size, 2-D with offsets, 3-D driver-chosen local. */
static const struct command commands[3] = {
    { 1, { 0 }, { 256 }, { 32 }, 1, 0 },
    { 2, { 4, 2 }, { 16, 8 }, { 8, 4 }, 0, 0 },
    { 3, { 0 }, { 8, 4, 2 }, { 0 }, 1, 1 },
};

struct plat {
    cl_platform_id p;
    cl_device_id d;
    cl_context c;
    cl_command_queue q;
    cl_program prog;
    cl_kernel k;
    cl_mem buf;
    clCreateCommandBufferKHR_fn create_cb;
    clCommandNDRangeKernelKHR_fn cmd_ndrange;        /* ...ForPlatform */
    clCommandNDRangeKernelKHR_fn cmd_ndrange_plain;  /* clGetExtensionFunctionAddress, may be NULL */
    clFinalizeCommandBufferKHR_fn finalize_cb;
    clEnqueueCommandBufferKHR_fn enqueue_cb;
    clReleaseCommandBufferKHR_fn release_cb;
};

static void dims(char *out, size_t cap, const size_t *v, cl_uint dim, int null)
{
    size_t n = 0;
    if (null) {
        snprintf(out, cap, "null");
        return;
    }
    out[0] = '\0';
    for (cl_uint i = 0; i < dim; i++)
        n += (size_t)snprintf(out + n, cap - n, i ? ",%zu" : "%zu", v[i]);
}

static void *lookup(cl_platform_id p, const char *name, int required)
{
    void *f = clGetExtensionFunctionAddressForPlatform(p, name);
    printf("lookup %s ForPlatform: %s\n", name, f ? "found" : "NULL");
    if (!f && required) {
        printf("FAILED: %s not found\n", name);
        exit(3);
    }
    return f;
}

static void setup(struct plat *t, int idx, int plain)
{
    cl_int err;
    cl_command_queue_properties props = 0;
    char name[256] = "", vendor[256] = "", dev[256] = "";
    CHECK(clGetPlatformInfo(t->p, CL_PLATFORM_NAME, sizeof name, name, NULL));
    CHECK(clGetPlatformInfo(t->p, CL_PLATFORM_VENDOR, sizeof vendor, vendor, NULL));
    CHECK(clGetDeviceIDs(t->p, CL_DEVICE_TYPE_ALL, 1, &t->d, NULL));
    CHECK(clGetDeviceInfo(t->d, CL_DEVICE_NAME, sizeof dev, dev, NULL));
    printf("platform %d: %s (%s), device: %s\n", idx, name, vendor, dev);
    t->c = clCreateContext(NULL, 1, &t->d, NULL, NULL, &err);
    CHECK(err);
    t->q = clCreateCommandQueue(t->c, t->d, 0, &err);
    CHECK(err);
    CHECK(clGetCommandQueueInfo(t->q, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL));
    printf("queue properties seen by the app: 0x%llx\n", (unsigned long long)props);
    t->prog = clCreateProgramWithSource(t->c, 1, &src, NULL, &err);
    CHECK(err);
    CHECK(clBuildProgram(t->prog, 1, &t->d, "", NULL, NULL));
    t->k = clCreateKernel(t->prog, "count", &err);
    CHECK(err);
    t->buf = clCreateBuffer(t->c, CL_MEM_READ_WRITE, N * sizeof(cl_uint), NULL, &err);
    CHECK(err);
    CHECK(clSetKernelArg(t->k, 0, sizeof(cl_mem), &t->buf));
    {
        static cl_uint zeros[N];
        CHECK(clEnqueueWriteBuffer(t->q, t->buf, CL_TRUE, 0, sizeof zeros, zeros, 0, NULL, NULL));
    }
    t->create_cb = (clCreateCommandBufferKHR_fn)lookup(t->p, "clCreateCommandBufferKHR", 1);
    t->cmd_ndrange = (clCommandNDRangeKernelKHR_fn)lookup(t->p, "clCommandNDRangeKernelKHR", 1);
    t->finalize_cb = (clFinalizeCommandBufferKHR_fn)lookup(t->p, "clFinalizeCommandBufferKHR", 1);
    t->enqueue_cb = (clEnqueueCommandBufferKHR_fn)lookup(t->p, "clEnqueueCommandBufferKHR", 1);
    t->release_cb = (clReleaseCommandBufferKHR_fn)lookup(t->p, "clReleaseCommandBufferKHR", 1);
    if (plain) {
        t->cmd_ndrange_plain = (clCommandNDRangeKernelKHR_fn)clGetExtensionFunctionAddress("clCommandNDRangeKernelKHR");
        printf("lookup clCommandNDRangeKernelKHR plain: %s%s\n", t->cmd_ndrange_plain ? "found" : "NULL",
               t->cmd_ndrange_plain ? (t->cmd_ndrange_plain == t->cmd_ndrange ? ", same as ForPlatform"
                                                                               : ", differs from ForPlatform")
                                    : "");
    }
}

static void run(struct plat *t, int idx)
{
    cl_int err;
    cl_sync_point_khr sp[3] = { 0, 0, 0 };
    cl_uint *hits = malloc(N * sizeof *hits);
    size_t items = 0;
    unsigned long long sum = 0;
    cl_event ev = NULL;
    cl_command_buffer_khr cb = t->create_cb(1, &t->q, NULL, &err);
    CHECK(err);
    for (int i = 0; i < 3; i++) {
        const struct command *c = &commands[i];
        int via_plain = i == 1 && t->cmd_ndrange_plain;
        clCommandNDRangeKernelKHR_fn fn = via_plain ? t->cmd_ndrange_plain : t->cmd_ndrange;
        char so[64], sg[64], sl[64];
        size_t n = 1;
        cl_uint nsync = i == 0 ? 0 : 1;
        err = fn(cb, NULL, NULL, t->k, c->dim, c->off_null ? NULL : c->off, c->gws, c->lws_null ? NULL : c->lws,
                 nsync, nsync ? &sp[i - 1] : NULL, &sp[i], NULL);
        dims(so, sizeof so, c->off, c->dim, c->off_null);
        dims(sg, sizeof sg, c->gws, c->dim, 0);
        dims(sl, sizeof sl, c->lws, c->dim, c->lws_null);
        for (cl_uint d = 0; d < c->dim; d++)
            n *= c->gws[d];
        items += n;
        printf("platform %d command %d: via=%s kernel=count dim=%u off=%s gws=%s lws=%s nsync=%u -> %d sp=%u\n",
               idx, i, via_plain ? "plain" : "ForPlatform", c->dim, so, sg, sl, nsync, err, sp[i]);
        CHECK(err);
    }
    CHECK(t->finalize_cb(cb));
    CHECK(t->enqueue_cb(0, NULL, cb, 0, NULL, &ev));
    CHECK(clWaitForEvents(1, &ev));
    {
        size_t g = 128, l = 64;
        CHECK(clEnqueueNDRangeKernel(t->q, t->k, 1, NULL, &g, &l, 0, NULL, NULL));
        items += g;
        printf("platform %d ndrange: kernel=count dim=1 off=null gws=128 lws=64\n", idx);
    }
    CHECK(clFinish(t->q));
    CHECK(clEnqueueReadBuffer(t->q, t->buf, CL_TRUE, 0, N * sizeof *hits, hits, 0, NULL, NULL));
    for (int i = 0; i < N; i++)
        sum += hits[i];
    printf("platform %d result: %llu hits for %zu work-items: %s\n", idx, sum, items, sum == items ? "OK" : "WRONG");
    CHECK(clReleaseEvent(ev));
    CHECK(t->release_cb(cb));
    free(hits);
    if (sum != items)
        exit(3);
}

static void teardown(struct plat *t)
{
    CHECK(clReleaseKernel(t->k));
    CHECK(clReleaseProgram(t->prog));
    CHECK(clReleaseMemObject(t->buf));
    CHECK(clReleaseCommandQueue(t->q));
    CHECK(clReleaseContext(t->c));
}

int main(int argc, char **argv)
{
    int all = argc > 1 && strcmp(argv[1], "--all") == 0;
    const char *want = argc > 1 + all ? argv[1 + all] : "cltrace fake ICD";
    cl_platform_id ids[16];
    cl_uint n = 0;
    struct plat t[MAXP];
    int np = 0;
    memset(t, 0, sizeof t);
    CHECK(clGetPlatformIDs(16, ids, &n));
    for (cl_uint i = 0; i < n && i < 16 && np < MAXP && (all || np == 0); i++) {
        char name[256] = "";
        CHECK(clGetPlatformInfo(ids[i], CL_PLATFORM_NAME, sizeof name, name, NULL));
        if (strstr(name, want))
            t[np++].p = ids[i];
    }
    if (np == 0) {
        printf("no platform matching '%s'\n", want);
        return 2;
    }
    /* the plain lookup names no platform: only meaningful with one */
    for (int i = 0; i < np; i++)
        setup(&t[i], i, np == 1);
    for (int i = 0; i < np; i++)
        run(&t[i], i);
    for (int i = 0; i < np; i++)
        teardown(&t[i]);
    printf("done: %d platform%s\n", np, np == 1 ? "" : "s");
    return 0;
}
