/* fake_icd: a minimal OpenCL vendor library (ICD) with cl_khr_command_buffer,
 * for testing the shim's clCommandNDRangeKernelKHR wrapper where the real
 * device (PoCL 3.1) has no command buffers.
 *
 * Loaded by the ICD loader like any vendor: point OCL_ICD_VENDORS at a
 * directory holding a `.icd` file that contains this library's absolute path
 * (ocl-icd also takes the library path itself in OCL_ICD_VENDORS).
 *
 * It "runs" every kernel the same way, on the host, synchronously: each
 * work-item adds 1 to element (linear global id, offsets included) modulo the
 * length of the uint buffer bound as argument 0. Profiling times are made up
 * and deterministic: end - start = 1000 ns per work-item.
 *
 * Every entry point the app or the shim may reach is implemented and checks
 * its arguments; every other dispatch slot returns CL_INVALID_OPERATION (or
 * NULL where the call returns an object). Calls worth checking are logged,
 * one line each, to $FAKE_ICD_LOG (appended; stderr when unset), each line
 * starting with this library's file name so that two copies loaded as two
 * vendors can be told apart:
 *   <lib> create_queue props=0x2 -> 0
 *   <lib> clCommandNDRangeKernelKHR call=1 cb=1 kernel=count dim=1 off=null gws=256 lws=32 props=null
 *         nsync=0 sync=- mutable=null -> 0 sp=1
 *   <lib> clEnqueueNDRangeKernel call=1 kernel=count dim=1 off=null gws=128 lws=64 event=null -> 0
 *   <lib> clEnqueueCommandBufferKHR call=1 cb=1 commands=3 -> 0
 *   <lib> summary cmd_ndrange=3 enqueue_ndrange=1 enqueue_cmdbuf=1 live_events=0   (at exit)
 * Environment: FAKE_ICD_LOG (log file; "off": no log), FAKE_ICD_SUFFIX (CL_PLATFORM_ICD_SUFFIX_KHR, default "FAKE";
 * ocl-icd's clGetExtensionFunctionAddress only reaches a vendor whose suffix ends the function name,
 * so "KHR" makes clGetExtensionFunctionAddress("clCommandNDRangeKernelKHR") find ours).
 * The device's OpenCL level, for the shim's device record: FAKE_ICD_NON_UNIFORM ("1" or "0": the answer to
 * CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT; unset: the query fails with CL_INVALID_VALUE, as on a pre-3.0
 * driver), FAKE_ICD_EXTENSIONS (CL_DEVICE_EXTENSIONS instead of "cl_khr_command_buffer"; may be long),
 * FAKE_ICD_FAIL_INFO (comma-separated: "version", "c_version", "extensions": those queries fail with
 * CL_INVALID_VALUE).
 *
 * Only clIcdGetPlatformIDsKHR, clGetPlatformInfo and clGetExtensionFunctionAddress (what ocl-icd looks
 * up) and the call counter fake_icd_cmd_ndrange_calls are exported; everything else is reached through the dispatch table, so a preloaded shim
 * exporting cl* names can never interpose on our own calls. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#define CL_USE_DEPRECATED_OPENCL_2_0_APIS
#include <CL/cl_icd.h>
#include <CL/cl_ext.h>
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
#define MAXK 16      /* kernels per program */
#define MAXA 16      /* arguments per kernel */
#define MAXCMD 64    /* commands per command buffer */

enum { M_PLATFORM = 0x46500001, M_DEVICE, M_CONTEXT, M_QUEUE, M_PROGRAM, M_KERNEL, M_MEM, M_EVENT, M_CMDBUF };

#define HEAD                                                                                               \
    struct _cl_icd_dispatch *dispatch;                                                                     \
    unsigned magic;                                                                                        \
    int refs

struct _cl_platform_id { HEAD; };
struct _cl_device_id { HEAD; };
struct _cl_context { HEAD; };
struct _cl_command_queue {
    HEAD;
    cl_context ctx;
    cl_command_queue_properties props;
    cl_queue_properties array[16];
    size_t array_n;             /* entries incl. the terminating 0; 0: created by clCreateCommandQueue */
};
struct kdesc { char name[64]; cl_uint nargs; };
struct _cl_program {
    HEAD;
    cl_context ctx;
    char *src;
    int built;
    int nk;
    struct kdesc k[MAXK];
};
struct _cl_kernel {
    HEAD;
    cl_program prog;
    struct kdesc d;
    int set[MAXA];
    cl_mem mem[MAXA];           /* argument i when it was set to a buffer of ours, else NULL */
};
struct _cl_mem { HEAD; cl_context ctx; size_t size; cl_mem_flags flags; unsigned char *data; };
struct _cl_event {
    HEAD;
    cl_command_queue q;
    cl_command_type type;
    cl_ulong t[4];
};
struct cmd {
    cl_kernel k;
    cl_mem arg0;                /* argument 0 as it was when the command was recorded */
    cl_uint dim;
    size_t off[3], gws[3];
};
struct _cl_command_buffer_khr {
    unsigned magic;
    int refs;
    const void *owner;          /* &platform of the vendor library that made it */
    int id;
    cl_command_queue q;
    cl_command_buffer_state_khr state;
    int n;
    struct cmd c[MAXCMD];
};

static struct _cl_icd_dispatch disp;
static struct _cl_platform_id platform = { &disp, M_PLATFORM, 1 };
static struct _cl_device_id device = { &disp, M_DEVICE, 1 };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int n_cmd_ndrange, n_enqueue_ndrange, n_enqueue_cmdbuf, n_cmdbufs, live_events;

/* the counter of clCommandNDRangeKernelKHR calls that reached this library */
EXPORT int fake_icd_cmd_ndrange_calls;

static const char *libname(void)
{
    static char name[256];
    if (!name[0]) {
        Dl_info di;
        const char *p = "fake_icd";
        if (dladdr((void *)&platform, &di) && di.dli_fname) {
            p = strrchr(di.dli_fname, '/');
            p = p ? p + 1 : di.dli_fname;
        }
        snprintf(name, sizeof name, "%s", p);
    }
    return name;
}

/* FAKE_ICD_LOG=off: no log at all, and no formatting for it (the overhead benchmark's null driver). */
static int log_on(void)
{
    static int on = -1;
    if (__atomic_load_n(&on, __ATOMIC_RELAXED) < 0) {
        const char *p = getenv("FAKE_ICD_LOG");
        __atomic_store_n(&on, !(p && strcmp(p, "off") == 0), __ATOMIC_RELAXED);
    }
    return __atomic_load_n(&on, __ATOMIC_RELAXED);
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!log_on())
        return;
    int n = snprintf(line, sizeof line, "%s ", libname());
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    const char *path = getenv("FAKE_ICD_LOG");
    FILE *f = path && path[0] ? fopen(path, "a") : NULL;
    fputs(line, f ? f : stderr);
    if (f)
        fclose(f);
}

static const char *suffix(void)
{
    const char *s = getenv("FAKE_ICD_SUFFIX");
    return s && s[0] ? s : "FAKE";
}

/* ---- helpers ---- */

static cl_int info(const void *src, size_t n, size_t size, void *val, size_t *size_ret)
{
    if (val && size < n)
        return CL_INVALID_VALUE;
    if (val)
        memcpy(val, src, n);
    if (size_ret)
        *size_ret = n;
    return CL_SUCCESS;
}
#define INFO_STR(s) info((s), strlen(s) + 1, size, val, size_ret)
#define INFO_VAL(type, v)                                                                                  \
    do {                                                                                                   \
        type v_ = (v);                                                                                     \
        return info(&v_, sizeof v_, size, val, size_ret);                                                  \
    } while (0)

static int is(const void *o, unsigned magic)
{
    const struct _cl_platform_id *h = o;
    return h && h->dispatch == &disp && h->magic == magic && h->refs > 0;
}

static void *make(size_t sz, unsigned magic)
{
    struct _cl_platform_id *h = calloc(1, sz);
    if (h) {
        h->dispatch = &disp;
        h->magic = magic;
        h->refs = 1;
    }
    return h;
}

static void set_err(cl_int *errp, cl_int e)
{
    if (errp)
        *errp = e;
}

/* released objects are never freed: a use after release is an error we report, not a crash */
static cl_int retain(void *o, unsigned magic, cl_int bad)
{
    if (!is(o, magic))
        return bad;
    __atomic_add_fetch(&((struct _cl_platform_id *)o)->refs, 1, __ATOMIC_RELAXED);
    return CL_SUCCESS;
}

/* With the log off (the null driver), a released event's memory is reused by the next one, as a real
 * driver's would be: never-freed events would make every launch touch fresh pages, a cost of the fake
 * that the overhead benchmark would charge to the tool. A stale handle then goes unnoticed. */
static struct _cl_event *free_events;
static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;

static cl_int release(void *o, unsigned magic, cl_int bad)
{
    if (!is(o, magic))
        return bad;
    if (__atomic_sub_fetch(&((struct _cl_platform_id *)o)->refs, 1, __ATOMIC_RELAXED) == 0 && magic == M_EVENT) {
        __atomic_sub_fetch(&live_events, 1, __ATOMIC_RELAXED);
        if (!log_on()) {
            struct _cl_event *e = o;
            pthread_mutex_lock(&free_lock);
            e->q = (cl_command_queue)(void *)free_events;
            free_events = e;
            pthread_mutex_unlock(&free_lock);
        }
    }
    return CL_SUCCESS;
}

static void dims(char *out, size_t cap, const size_t *v, cl_uint dim)
{
    size_t n = 0;
    if (!v) {
        snprintf(out, cap, "null");
        return;
    }
    out[0] = '\0';
    for (cl_uint i = 0; i < dim && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, i ? ",%zu" : "%zu", v[i]);
}

static cl_ulong now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cl_ulong)ts.tv_sec * 1000000000ull + (cl_ulong)ts.tv_nsec;
}

/* "Run" kernel k over the range: every work-item adds 1 to arg0[linear id % n]. */
static size_t run_range(cl_mem arg0, cl_uint dim, const size_t *off, const size_t *gws)
{
    size_t g[3] = { 1, 1, 1 }, o[3] = { 0, 0, 0 }, items = 1;
    for (cl_uint i = 0; i < dim; i++) {
        g[i] = gws[i];
        o[i] = off ? off[i] : 0;
        items *= g[i];
    }
    if (arg0 && arg0->size >= sizeof(cl_uint)) {
        cl_uint *h = (cl_uint *)arg0->data;
        size_t n = arg0->size / sizeof(cl_uint);
        for (size_t z = 0; z < g[2]; z++)
            for (size_t y = 0; y < g[1]; y++)
                for (size_t x = 0; x < g[0]; x++) {
                    size_t X = x + o[0], Y = y + o[1], Z = z + o[2];
                    size_t lin = X + (g[0] + o[0]) * (Y + (g[1] + o[1]) * Z);
                    h[lin % n] += 1;
                }
    }
    return items;
}

static cl_event new_event(cl_command_queue q, cl_command_type type, size_t items)
{
    cl_event e = NULL;
    if (free_events) {
        pthread_mutex_lock(&free_lock);
        if ((e = free_events) != NULL) {
            free_events = (struct _cl_event *)(void *)e->q;
            memset(e, 0, sizeof *e);
            e->dispatch = &disp;
            e->magic = M_EVENT;
            e->refs = 1;
        }
        pthread_mutex_unlock(&free_lock);
    }
    if (!e)
        e = make(sizeof *e, M_EVENT);
    if (!e)
        return NULL;
    e->q = q;
    e->type = type;
    e->t[0] = now_ns();
    e->t[1] = e->t[0] + 100;
    e->t[2] = e->t[1] + 100;
    e->t[3] = e->t[2] + 1000 * (cl_ulong)items;
    __atomic_add_fetch(&live_events, 1, __ATOMIC_RELAXED);
    return e;
}

static cl_int check_wait(cl_uint n, const cl_event *w)
{
    if ((n == 0) != (w == NULL))
        return CL_INVALID_EVENT_WAIT_LIST;
    for (cl_uint i = 0; i < n; i++)
        if (!is(w[i], M_EVENT))
            return CL_INVALID_EVENT_WAIT_LIST;
    return CL_SUCCESS;
}

/* Shared checks of a kernel launch (NDRange or command). */
static cl_int check_range(cl_kernel k, cl_uint dim, const size_t *gws, const size_t *lws)
{
    size_t wg = 1;
    if (!is(k, M_KERNEL))
        return CL_INVALID_KERNEL;
    for (cl_uint i = 0; i < k->d.nargs && i < MAXA; i++)
        if (!k->set[i])
            return CL_INVALID_KERNEL_ARGS;
    if (dim < 1 || dim > 3)
        return CL_INVALID_WORK_DIMENSION;
    if (!gws)
        return CL_INVALID_GLOBAL_WORK_SIZE;
    for (cl_uint i = 0; i < dim; i++) {
        if (gws[i] == 0)
            return CL_INVALID_GLOBAL_WORK_SIZE;
        if (lws) {
            if (lws[i] == 0 || gws[i] % lws[i] != 0 || lws[i] > 256)
                return CL_INVALID_WORK_GROUP_SIZE;
            wg *= lws[i];
        }
    }
    return wg > 256 ? CL_INVALID_WORK_GROUP_SIZE : CL_SUCCESS;
}

/* ---- platform, device ---- */

static cl_int CL_API_CALL f_GetPlatformIDs(cl_uint n, cl_platform_id *ps, cl_uint *nret)
{
    if ((!ps && !nret) || (ps && n == 0))
        return CL_INVALID_VALUE;
    if (ps)
        ps[0] = &platform;
    if (nret)
        *nret = 1;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_GetPlatformInfo(cl_platform_id p, cl_platform_info what, size_t size, void *val,
                                            size_t *size_ret)
{
    char vendor[300];
    if (p != &platform)
        return CL_INVALID_PLATFORM;
    switch (what) {
    case CL_PLATFORM_PROFILE: return INFO_STR("FULL_PROFILE");
    case CL_PLATFORM_VERSION: return INFO_STR("OpenCL 3.0 cltrace-fake");
    case CL_PLATFORM_NAME: return INFO_STR("cltrace fake ICD");
    case CL_PLATFORM_VENDOR:
        snprintf(vendor, sizeof vendor, "cltrace tests (%s)", libname());
        return INFO_STR(vendor);
    case CL_PLATFORM_EXTENSIONS: return INFO_STR("cl_khr_icd cl_khr_command_buffer");
    case CL_PLATFORM_ICD_SUFFIX_KHR: return INFO_STR(suffix());
    case CL_PLATFORM_HOST_TIMER_RESOLUTION: INFO_VAL(cl_ulong, 0);
    case CL_PLATFORM_NUMERIC_VERSION: INFO_VAL(cl_version, CL_MAKE_VERSION(3, 0, 0));
    default: return CL_INVALID_VALUE;
    }
}

static cl_int CL_API_CALL f_GetDeviceIDs(cl_platform_id p, cl_device_type type, cl_uint n, cl_device_id *ds,
                                         cl_uint *nret)
{
    if (p != &platform)
        return CL_INVALID_PLATFORM;
    if ((!ds && !nret) || (ds && n == 0))
        return CL_INVALID_VALUE;
    if (!(type & (CL_DEVICE_TYPE_ACCELERATOR | CL_DEVICE_TYPE_DEFAULT)) && type != CL_DEVICE_TYPE_ALL) {
        if (nret)
            *nret = 0;
        return CL_DEVICE_NOT_FOUND;
    }
    if (ds)
        ds[0] = &device;
    if (nret)
        *nret = 1;
    return CL_SUCCESS;
}

/* FAKE_ICD_FAIL_INFO names this query: it fails. */
static int info_fails(const char *name)
{
    const char *s = getenv("FAKE_ICD_FAIL_INFO");
    size_t n = strlen(name);
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && !strncmp(s, name, n))
            return 1;
        s = end ? end + 1 : NULL;
    }
    return 0;
}

static cl_int CL_API_CALL f_GetDeviceInfo(cl_device_id d, cl_device_info what, size_t size, void *val,
                                          size_t *size_ret)
{
    static const size_t items[3] = { 256, 256, 256 };
    const char *env;
    if (d != &device)
        return CL_INVALID_DEVICE;
    switch (what) {
    case CL_DEVICE_VERSION:
        return info_fails("version") ? CL_INVALID_VALUE : INFO_STR("OpenCL 3.0 cltrace-fake");
    case CL_DEVICE_OPENCL_C_VERSION:
        return info_fails("c_version") ? CL_INVALID_VALUE : INFO_STR("OpenCL C 1.2 cltrace-fake");
    case CL_DEVICE_EXTENSIONS:
        if (info_fails("extensions"))
            return CL_INVALID_VALUE;
        env = getenv("FAKE_ICD_EXTENSIONS");
        return INFO_STR(env ? env : "cl_khr_command_buffer");
    case CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT:
        env = getenv("FAKE_ICD_NON_UNIFORM");
        if (!env || (strcmp(env, "0") && strcmp(env, "1")))
            return CL_INVALID_VALUE;
        INFO_VAL(cl_bool, env[0] == '1' ? CL_TRUE : CL_FALSE);
    case CL_DEVICE_TYPE: INFO_VAL(cl_device_type, CL_DEVICE_TYPE_ACCELERATOR);
    case CL_DEVICE_NAME: return INFO_STR("fake command-buffer device");
    case CL_DEVICE_VENDOR: return INFO_STR("cltrace tests");
    case CL_DRIVER_VERSION: return INFO_STR("1.0-fake");
    case CL_DEVICE_PROFILE: return INFO_STR("FULL_PROFILE");
    case CL_DEVICE_PLATFORM: INFO_VAL(cl_platform_id, &platform);
    case CL_DEVICE_VENDOR_ID: INFO_VAL(cl_uint, 0xfa4e);
    case CL_DEVICE_MAX_WORK_GROUP_SIZE: INFO_VAL(size_t, 256);
    case CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS: INFO_VAL(cl_uint, 3);
    case CL_DEVICE_MAX_WORK_ITEM_SIZES: return info(items, sizeof items, size, val, size_ret);
    case CL_DEVICE_GLOBAL_MEM_SIZE: INFO_VAL(cl_ulong, 1ull << 30);
    case CL_DEVICE_MAX_MEM_ALLOC_SIZE: INFO_VAL(cl_ulong, 1ull << 28);
    case CL_DEVICE_LOCAL_MEM_SIZE: INFO_VAL(cl_ulong, 32768);
    case CL_DEVICE_MAX_COMPUTE_UNITS: INFO_VAL(cl_uint, 4);
    case CL_DEVICE_MAX_CLOCK_FREQUENCY: INFO_VAL(cl_uint, 1000);
    case CL_DEVICE_ADDRESS_BITS: INFO_VAL(cl_uint, 64);
    case CL_DEVICE_AVAILABLE:
    case CL_DEVICE_COMPILER_AVAILABLE:
    case CL_DEVICE_LINKER_AVAILABLE:
    case CL_DEVICE_ENDIAN_LITTLE: INFO_VAL(cl_bool, CL_TRUE);
    case CL_DEVICE_QUEUE_PROPERTIES: /* = CL_DEVICE_QUEUE_ON_HOST_PROPERTIES */
        INFO_VAL(cl_command_queue_properties, CL_QUEUE_PROFILING_ENABLE | CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE);
    case CL_DEVICE_PROFILING_TIMER_RESOLUTION: INFO_VAL(size_t, 1);
    case CL_DEVICE_REFERENCE_COUNT: INFO_VAL(cl_uint, 1);
    case CL_DEVICE_COMMAND_BUFFER_CAPABILITIES_KHR: INFO_VAL(cl_device_command_buffer_capabilities_khr, 0);
    case CL_DEVICE_COMMAND_BUFFER_REQUIRED_QUEUE_PROPERTIES_KHR: INFO_VAL(cl_command_queue_properties, 0);
    default: return CL_INVALID_VALUE;
    }
}

/* ---- context ---- */

typedef void(CL_CALLBACK *ctx_notify)(const char *, const void *, size_t, void *);

static cl_context CL_API_CALL f_CreateContext(const cl_context_properties *props, cl_uint n,
                                              const cl_device_id *ds, ctx_notify cb, void *user, cl_int *errp)
{
    cl_context c;
    (void)cb, (void)user;
    for (size_t i = 0; props && props[i]; i += 2)
        if (props[i] == CL_CONTEXT_PLATFORM && (cl_platform_id)props[i + 1] != &platform) {
            set_err(errp, CL_INVALID_PLATFORM);
            return NULL;
        }
    if (n != 1 || !ds || ds[0] != &device) {
        set_err(errp, n && ds ? CL_INVALID_DEVICE : CL_INVALID_VALUE);
        return NULL;
    }
    c = make(sizeof *c, M_CONTEXT);
    set_err(errp, c ? CL_SUCCESS : CL_OUT_OF_HOST_MEMORY);
    return c;
}

static cl_context CL_API_CALL f_CreateContextFromType(const cl_context_properties *props, cl_device_type type,
                                                      ctx_notify cb, void *user, cl_int *errp)
{
    cl_device_id d = &device;
    if (!(type & (CL_DEVICE_TYPE_ACCELERATOR | CL_DEVICE_TYPE_DEFAULT)) && type != CL_DEVICE_TYPE_ALL) {
        set_err(errp, CL_DEVICE_NOT_FOUND);
        return NULL;
    }
    return f_CreateContext(props, 1, &d, cb, user, errp);
}

static cl_int CL_API_CALL f_RetainContext(cl_context c) { return retain(c, M_CONTEXT, CL_INVALID_CONTEXT); }
static cl_int CL_API_CALL f_ReleaseContext(cl_context c) { return release(c, M_CONTEXT, CL_INVALID_CONTEXT); }

static cl_int CL_API_CALL f_GetContextInfo(cl_context c, cl_context_info what, size_t size, void *val,
                                           size_t *size_ret)
{
    if (!is(c, M_CONTEXT))
        return CL_INVALID_CONTEXT;
    switch (what) {
    case CL_CONTEXT_REFERENCE_COUNT: INFO_VAL(cl_uint, (cl_uint)c->refs);
    case CL_CONTEXT_NUM_DEVICES: INFO_VAL(cl_uint, 1);
    case CL_CONTEXT_DEVICES: INFO_VAL(cl_device_id, &device);
    case CL_CONTEXT_PROPERTIES: return info(NULL, 0, size, val, size_ret);
    default: return CL_INVALID_VALUE;
    }
}

/* ---- queues ---- */

static cl_command_queue make_queue(cl_context c, cl_device_id d, cl_command_queue_properties props,
                                   const cl_queue_properties *array, cl_int *errp)
{
    cl_command_queue q;
    cl_int err = CL_SUCCESS;
    if (!is(c, M_CONTEXT))
        err = CL_INVALID_CONTEXT;
    else if (d != &device)
        err = CL_INVALID_DEVICE;
    else if (props & ~(cl_command_queue_properties)(CL_QUEUE_PROFILING_ENABLE | CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE))
        err = CL_INVALID_QUEUE_PROPERTIES;
    q = err == CL_SUCCESS ? make(sizeof *q, M_QUEUE) : NULL;
    if (q) {
        q->ctx = c;
        q->props = props;
        if (array) {
            size_t n = 0;
            while (array[n] && n + 3 < 16)
                q->array[n] = array[n], q->array[n + 1] = array[n + 1], n += 2;
            q->array[n] = 0;
            q->array_n = n + 1;
        }
    } else if (err == CL_SUCCESS) {
        err = CL_OUT_OF_HOST_MEMORY;
    }
    logf_("create_queue props=0x%llx -> %d", (unsigned long long)props, err);
    set_err(errp, err);
    return q;
}

static cl_command_queue CL_API_CALL f_CreateCommandQueue(cl_context c, cl_device_id d,
                                                         cl_command_queue_properties props, cl_int *errp)
{
    return make_queue(c, d, props, NULL, errp);
}

static cl_command_queue CL_API_CALL f_CreateCommandQueueWithProperties(cl_context c, cl_device_id d,
                                                                       const cl_queue_properties *props,
                                                                       cl_int *errp)
{
    static const cl_queue_properties none[1] = { 0 };
    cl_command_queue_properties p = 0;
    for (size_t i = 0; props && props[i]; i += 2) {
        if (props[i] == CL_QUEUE_PROPERTIES) {
            p = props[i + 1];
        } else {
            set_err(errp, CL_INVALID_VALUE);
            return NULL;
        }
    }
    return make_queue(c, d, p, props ? props : none, errp);
}

static cl_int CL_API_CALL f_RetainCommandQueue(cl_command_queue q)
{
    return retain(q, M_QUEUE, CL_INVALID_COMMAND_QUEUE);
}

static cl_int CL_API_CALL f_ReleaseCommandQueue(cl_command_queue q)
{
    return release(q, M_QUEUE, CL_INVALID_COMMAND_QUEUE);
}

static cl_int CL_API_CALL f_GetCommandQueueInfo(cl_command_queue q, cl_command_queue_info what, size_t size,
                                                void *val, size_t *size_ret)
{
    if (!is(q, M_QUEUE))
        return CL_INVALID_COMMAND_QUEUE;
    switch (what) {
    case CL_QUEUE_CONTEXT: INFO_VAL(cl_context, q->ctx);
    case CL_QUEUE_DEVICE: INFO_VAL(cl_device_id, &device);
    case CL_QUEUE_REFERENCE_COUNT: INFO_VAL(cl_uint, (cl_uint)q->refs);
    case CL_QUEUE_PROPERTIES: INFO_VAL(cl_command_queue_properties, q->props);
    case CL_QUEUE_PROPERTIES_ARRAY:
        return info(q->array, q->array_n * sizeof(cl_queue_properties), size, val, size_ret);
    default: return CL_INVALID_VALUE;
    }
}

static cl_int CL_API_CALL f_Flush(cl_command_queue q)
{
    return is(q, M_QUEUE) ? CL_SUCCESS : CL_INVALID_COMMAND_QUEUE;
}

static cl_int CL_API_CALL f_Finish(cl_command_queue q)
{
    return is(q, M_QUEUE) ? CL_SUCCESS : CL_INVALID_COMMAND_QUEUE;
}

/* ---- buffers ---- */

static cl_mem CL_API_CALL f_CreateBuffer(cl_context c, cl_mem_flags flags, size_t size, void *host, cl_int *errp)
{
    cl_mem m;
    if (!is(c, M_CONTEXT)) {
        set_err(errp, CL_INVALID_CONTEXT);
        return NULL;
    }
    if (size == 0 || size > (1u << 28) || (!host != !(flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR)))) {
        set_err(errp, size == 0 || size > (1u << 28) ? CL_INVALID_BUFFER_SIZE : CL_INVALID_HOST_PTR);
        return NULL;
    }
    m = make(sizeof *m, M_MEM);
    if (m && !(m->data = calloc(1, size))) {
        free(m);
        m = NULL;
    }
    if (!m) {
        set_err(errp, CL_OUT_OF_HOST_MEMORY);
        return NULL;
    }
    m->ctx = c;
    m->size = size;
    m->flags = flags;
    if (host)
        memcpy(m->data, host, size);
    set_err(errp, CL_SUCCESS);
    return m;
}

static cl_int CL_API_CALL f_RetainMemObject(cl_mem m) { return retain(m, M_MEM, CL_INVALID_MEM_OBJECT); }
static cl_int CL_API_CALL f_ReleaseMemObject(cl_mem m) { return release(m, M_MEM, CL_INVALID_MEM_OBJECT); }

static cl_int CL_API_CALL f_GetMemObjectInfo(cl_mem m, cl_mem_info what, size_t size, void *val, size_t *size_ret)
{
    if (!is(m, M_MEM))
        return CL_INVALID_MEM_OBJECT;
    switch (what) {
    case CL_MEM_TYPE: INFO_VAL(cl_mem_object_type, CL_MEM_OBJECT_BUFFER);
    case CL_MEM_FLAGS: INFO_VAL(cl_mem_flags, m->flags);
    case CL_MEM_SIZE: INFO_VAL(size_t, m->size);
    case CL_MEM_REFERENCE_COUNT: INFO_VAL(cl_uint, (cl_uint)m->refs);
    default: return CL_INVALID_VALUE;
    }
}

static cl_int finish_enqueue(cl_command_queue q, cl_command_type type, size_t items, cl_event *ev)
{
    if (ev && !(*ev = new_event(q, type, items)))
        return CL_OUT_OF_HOST_MEMORY;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_EnqueueReadBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t off, size_t n,
                                              void *ptr, cl_uint nw, const cl_event *w, cl_event *ev)
{
    cl_int err;
    (void)blocking;
    if (!is(q, M_QUEUE))
        return CL_INVALID_COMMAND_QUEUE;
    if (!is(m, M_MEM))
        return CL_INVALID_MEM_OBJECT;
    if (!ptr || off + n > m->size || n == 0)
        return CL_INVALID_VALUE;
    if ((err = check_wait(nw, w)) != CL_SUCCESS)
        return err;
    memcpy(ptr, m->data + off, n);
    return finish_enqueue(q, CL_COMMAND_READ_BUFFER, 0, ev);
}

static cl_int CL_API_CALL f_EnqueueWriteBuffer(cl_command_queue q, cl_mem m, cl_bool blocking, size_t off, size_t n,
                                               const void *ptr, cl_uint nw, const cl_event *w, cl_event *ev)
{
    cl_int err;
    (void)blocking;
    if (!is(q, M_QUEUE))
        return CL_INVALID_COMMAND_QUEUE;
    if (!is(m, M_MEM))
        return CL_INVALID_MEM_OBJECT;
    if (!ptr || off + n > m->size || n == 0)
        return CL_INVALID_VALUE;
    if ((err = check_wait(nw, w)) != CL_SUCCESS)
        return err;
    memcpy(m->data + off, ptr, n);
    return finish_enqueue(q, CL_COMMAND_WRITE_BUFFER, 0, ev);
}

/* ---- programs and kernels ---- */

/* Kernel names and argument counts from the source: `__kernel void NAME(a, b, ...)`. */
static void parse_kernels(cl_program p)
{
    const char *s = p->src;
    p->nk = 0;
    while (s && (s = strstr(s, "kernel")) && p->nk < MAXK) {
        const char *w = s - p->src >= 2 && s[-1] == '_' && s[-2] == '_' ? s - 2 : s;   /* __kernel or kernel */
        int word = (w == p->src || !(isalnum((unsigned char)w[-1]) || w[-1] == '_')) &&
                   !(isalnum((unsigned char)s[6]) || s[6] == '_');
        s += 6;
        if (!word)
            continue;
        while (isspace((unsigned char)*s))
            s++;
        if (strncmp(s, "void", 4) != 0)
            continue;
        s += 4;
        while (isspace((unsigned char)*s))
            s++;
        struct kdesc *k = &p->k[p->nk];
        size_t n = 0;
        while ((isalnum((unsigned char)*s) || *s == '_') && n + 1 < sizeof k->name)
            k->name[n++] = *s++;
        k->name[n] = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (!n || *s != '(')
            continue;
        int depth = 0, any = 0;
        k->nargs = 0;
        for (s++; *s && !(*s == ')' && depth == 0); s++) {
            if (*s == '(')
                depth++;
            else if (*s == ')')
                depth--;
            else if (*s == ',' && depth == 0)
                k->nargs++;
            else if (!isspace((unsigned char)*s))
                any = 1;
        }
        if (any)
            k->nargs++;
        p->nk++;
    }
}

static cl_program CL_API_CALL f_CreateProgramWithSource(cl_context c, cl_uint n, const char **src,
                                                        const size_t *lens, cl_int *errp)
{
    cl_program p;
    size_t total = 0, at = 0;
    if (!is(c, M_CONTEXT)) {
        set_err(errp, CL_INVALID_CONTEXT);
        return NULL;
    }
    if (n == 0 || !src) {
        set_err(errp, CL_INVALID_VALUE);
        return NULL;
    }
    for (cl_uint i = 0; i < n; i++) {
        if (!src[i]) {
            set_err(errp, CL_INVALID_VALUE);
            return NULL;
        }
        total += lens && lens[i] ? lens[i] : strlen(src[i]);
    }
    p = make(sizeof *p, M_PROGRAM);
    if (!p || !(p->src = malloc(total + 1))) {
        free(p);
        set_err(errp, CL_OUT_OF_HOST_MEMORY);
        return NULL;
    }
    for (cl_uint i = 0; i < n; i++) {
        size_t l = lens && lens[i] ? lens[i] : strlen(src[i]);
        memcpy(p->src + at, src[i], l);
        at += l;
    }
    p->src[at] = '\0';
    p->ctx = c;
    set_err(errp, CL_SUCCESS);
    return p;
}

typedef void(CL_CALLBACK *prog_notify)(cl_program, void *);

static cl_int CL_API_CALL f_BuildProgram(cl_program p, cl_uint n, const cl_device_id *ds, const char *opts,
                                         prog_notify cb, void *user)
{
    (void)opts;
    if (!is(p, M_PROGRAM))
        return CL_INVALID_PROGRAM;
    if ((n == 0) != (ds == NULL) || (n && (n != 1 || ds[0] != &device)))
        return n && ds ? CL_INVALID_DEVICE : CL_INVALID_VALUE;
    parse_kernels(p);
    p->built = 1;
    if (cb)
        cb(p, user);
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_RetainProgram(cl_program p) { return retain(p, M_PROGRAM, CL_INVALID_PROGRAM); }
static cl_int CL_API_CALL f_ReleaseProgram(cl_program p) { return release(p, M_PROGRAM, CL_INVALID_PROGRAM); }

static cl_int CL_API_CALL f_GetProgramInfo(cl_program p, cl_program_info what, size_t size, void *val,
                                           size_t *size_ret)
{
    char names[MAXK * 65] = "";
    if (!is(p, M_PROGRAM))
        return CL_INVALID_PROGRAM;
    switch (what) {
    case CL_PROGRAM_REFERENCE_COUNT: INFO_VAL(cl_uint, (cl_uint)p->refs);
    case CL_PROGRAM_CONTEXT: INFO_VAL(cl_context, p->ctx);
    case CL_PROGRAM_NUM_DEVICES: INFO_VAL(cl_uint, 1);
    case CL_PROGRAM_DEVICES: INFO_VAL(cl_device_id, &device);
    case CL_PROGRAM_SOURCE: return INFO_STR(p->src);
    case CL_PROGRAM_NUM_KERNELS:
        if (!p->built)
            return CL_INVALID_PROGRAM_EXECUTABLE;
        INFO_VAL(size_t, (size_t)p->nk);
    case CL_PROGRAM_KERNEL_NAMES:
        if (!p->built)
            return CL_INVALID_PROGRAM_EXECUTABLE;
        for (int i = 0; i < p->nk; i++) {
            if (i)
                strcat(names, ";");
            strcat(names, p->k[i].name);
        }
        return INFO_STR(names);
    default: return CL_INVALID_VALUE;
    }
}

static cl_int CL_API_CALL f_GetProgramBuildInfo(cl_program p, cl_device_id d, cl_program_build_info what,
                                                size_t size, void *val, size_t *size_ret)
{
    if (!is(p, M_PROGRAM))
        return CL_INVALID_PROGRAM;
    if (d != &device)
        return CL_INVALID_DEVICE;
    switch (what) {
    case CL_PROGRAM_BUILD_STATUS: INFO_VAL(cl_build_status, p->built ? CL_BUILD_SUCCESS : CL_BUILD_NONE);
    case CL_PROGRAM_BUILD_OPTIONS:
    case CL_PROGRAM_BUILD_LOG: return INFO_STR("");
    default: return CL_INVALID_VALUE;
    }
}

static cl_kernel CL_API_CALL f_CreateKernel(cl_program p, const char *name, cl_int *errp)
{
    cl_kernel k;
    if (!is(p, M_PROGRAM)) {
        set_err(errp, CL_INVALID_PROGRAM);
        return NULL;
    }
    if (!p->built) {
        set_err(errp, CL_INVALID_PROGRAM_EXECUTABLE);
        return NULL;
    }
    if (!name) {
        set_err(errp, CL_INVALID_VALUE);
        return NULL;
    }
    for (int i = 0; i < p->nk; i++)
        if (strcmp(p->k[i].name, name) == 0) {
            if (!(k = make(sizeof *k, M_KERNEL))) {
                set_err(errp, CL_OUT_OF_HOST_MEMORY);
                return NULL;
            }
            k->prog = p;
            k->d = p->k[i];
            set_err(errp, CL_SUCCESS);
            return k;
        }
    set_err(errp, CL_INVALID_KERNEL_NAME);
    return NULL;
}

static cl_int CL_API_CALL f_RetainKernel(cl_kernel k) { return retain(k, M_KERNEL, CL_INVALID_KERNEL); }
static cl_int CL_API_CALL f_ReleaseKernel(cl_kernel k) { return release(k, M_KERNEL, CL_INVALID_KERNEL); }

static cl_int CL_API_CALL f_SetKernelArg(cl_kernel k, cl_uint idx, size_t size, const void *val)
{
    cl_mem m = NULL;
    if (!is(k, M_KERNEL))
        return CL_INVALID_KERNEL;
    if (idx >= k->d.nargs || idx >= MAXA)
        return CL_INVALID_ARG_INDEX;
    if (size == sizeof(cl_mem) && val) {
        memcpy(&m, val, sizeof m);
        if (m && !is(m, M_MEM))
            return CL_INVALID_MEM_OBJECT;
    }
    k->set[idx] = 1;
    k->mem[idx] = m;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_GetKernelInfo(cl_kernel k, cl_kernel_info what, size_t size, void *val,
                                          size_t *size_ret)
{
    if (!is(k, M_KERNEL))
        return CL_INVALID_KERNEL;
    switch (what) {
    case CL_KERNEL_FUNCTION_NAME: return INFO_STR(k->d.name);
    case CL_KERNEL_NUM_ARGS: INFO_VAL(cl_uint, k->d.nargs);
    case CL_KERNEL_REFERENCE_COUNT: INFO_VAL(cl_uint, (cl_uint)k->refs);
    case CL_KERNEL_CONTEXT: INFO_VAL(cl_context, k->prog->ctx);
    case CL_KERNEL_PROGRAM: INFO_VAL(cl_program, k->prog);
    case CL_KERNEL_ATTRIBUTES: return INFO_STR("");
    default: return CL_INVALID_VALUE;
    }
}

static cl_int CL_API_CALL f_GetKernelWorkGroupInfo(cl_kernel k, cl_device_id d, cl_kernel_work_group_info what,
                                                   size_t size, void *val, size_t *size_ret)
{
    static const size_t zero3[3] = { 0, 0, 0 };
    if (!is(k, M_KERNEL))
        return CL_INVALID_KERNEL;
    if (d && d != &device)
        return CL_INVALID_DEVICE;
    switch (what) {
    case CL_KERNEL_WORK_GROUP_SIZE: INFO_VAL(size_t, 256);
    case CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE: INFO_VAL(size_t, 8);
    case CL_KERNEL_COMPILE_WORK_GROUP_SIZE: return info(zero3, sizeof zero3, size, val, size_ret);
    case CL_KERNEL_LOCAL_MEM_SIZE:
    case CL_KERNEL_PRIVATE_MEM_SIZE: INFO_VAL(cl_ulong, 0);
    default: return CL_INVALID_VALUE;
    }
}

/* ---- launches, events ---- */

static cl_int CL_API_CALL f_EnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *off,
                                                 const size_t *gws, const size_t *lws, cl_uint nw,
                                                 const cl_event *w, cl_event *ev)
{
    char so[64], sg[64], sl[64];
    cl_int err;
    int call;
    size_t items = 0;
    if (!is(q, M_QUEUE))
        err = CL_INVALID_COMMAND_QUEUE;
    else if ((err = check_range(k, dim, gws, lws)) == CL_SUCCESS && k->prog->ctx != q->ctx)
        err = CL_INVALID_CONTEXT;
    else if (err == CL_SUCCESS && (err = check_wait(nw, w)) == CL_SUCCESS) {
        items = run_range(k->mem[0], dim, off, gws);
        err = finish_enqueue(q, CL_COMMAND_NDRANGE_KERNEL, items, ev);
    }
    pthread_mutex_lock(&lock);
    call = ++n_enqueue_ndrange;
    pthread_mutex_unlock(&lock);
    if (!log_on())
        return err;
    dims(so, sizeof so, off, dim), dims(sg, sizeof sg, gws, dim), dims(sl, sizeof sl, lws, dim);
    logf_("clEnqueueNDRangeKernel call=%d kernel=%s dim=%u off=%s gws=%s lws=%s event=%s -> %d", call,
          is(k, M_KERNEL) ? k->d.name : "?", dim, so, sg, sl, ev ? "yes" : "null", err);
    return err;
}

static cl_int CL_API_CALL f_WaitForEvents(cl_uint n, const cl_event *list)
{
    if (n == 0 || !list)
        return CL_INVALID_VALUE;
    for (cl_uint i = 0; i < n; i++)
        if (!is(list[i], M_EVENT))
            return CL_INVALID_EVENT;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_GetEventInfo(cl_event e, cl_event_info what, size_t size, void *val, size_t *size_ret)
{
    if (!is(e, M_EVENT))
        return CL_INVALID_EVENT;
    switch (what) {
    case CL_EVENT_COMMAND_QUEUE: INFO_VAL(cl_command_queue, e->q);
    case CL_EVENT_CONTEXT: INFO_VAL(cl_context, e->q ? e->q->ctx : NULL);
    case CL_EVENT_COMMAND_TYPE: INFO_VAL(cl_command_type, e->type);
    case CL_EVENT_COMMAND_EXECUTION_STATUS: INFO_VAL(cl_int, CL_COMPLETE);
    case CL_EVENT_REFERENCE_COUNT: INFO_VAL(cl_uint, (cl_uint)e->refs);
    default: return CL_INVALID_VALUE;
    }
}

static cl_int CL_API_CALL f_GetEventProfilingInfo(cl_event e, cl_profiling_info what, size_t size, void *val,
                                                  size_t *size_ret)
{
    if (!is(e, M_EVENT))
        return CL_INVALID_EVENT;
    if (!e->q || !(e->q->props & CL_QUEUE_PROFILING_ENABLE))
        return CL_PROFILING_INFO_NOT_AVAILABLE;
    switch (what) {
    case CL_PROFILING_COMMAND_QUEUED: INFO_VAL(cl_ulong, e->t[0]);
    case CL_PROFILING_COMMAND_SUBMIT: INFO_VAL(cl_ulong, e->t[1]);
    case CL_PROFILING_COMMAND_START: INFO_VAL(cl_ulong, e->t[2]);
    case CL_PROFILING_COMMAND_END:
    case CL_PROFILING_COMMAND_COMPLETE: INFO_VAL(cl_ulong, e->t[3]);
    default: return CL_INVALID_VALUE;
    }
}

static cl_int CL_API_CALL f_RetainEvent(cl_event e) { return retain(e, M_EVENT, CL_INVALID_EVENT); }
static cl_int CL_API_CALL f_ReleaseEvent(cl_event e) { return release(e, M_EVENT, CL_INVALID_EVENT); }

typedef void(CL_CALLBACK *event_notify)(cl_event, cl_int, void *);

static cl_int CL_API_CALL f_SetEventCallback(cl_event e, cl_int type, event_notify cb, void *user)
{
    if (!is(e, M_EVENT))
        return CL_INVALID_EVENT;
    if (!cb || (type != CL_COMPLETE && type != CL_RUNNING && type != CL_SUBMITTED))
        return CL_INVALID_VALUE;
    cb(e, CL_COMPLETE, user);   /* every command of ours is complete when its enqueue returns */
    return CL_SUCCESS;
}

/* ---- cl_khr_command_buffer ---- */

static cl_command_buffer_khr CL_API_CALL f_CreateCommandBufferKHR(cl_uint nq, const cl_command_queue *qs,
                                                                  const cl_command_buffer_properties_khr *props,
                                                                  cl_int *errp)
{
    cl_command_buffer_khr cb;
    if (nq != 1 || !qs) {
        set_err(errp, CL_INVALID_VALUE);
        return NULL;
    }
    if (!is(qs[0], M_QUEUE)) {
        set_err(errp, CL_INVALID_COMMAND_QUEUE);
        return NULL;
    }
    for (size_t i = 0; props && props[i]; i += 2)
        if (props[i] != CL_COMMAND_BUFFER_FLAGS_KHR || props[i + 1] != 0) {
            set_err(errp, CL_INVALID_VALUE);
            return NULL;
        }
    if (!(cb = calloc(1, sizeof *cb))) {
        set_err(errp, CL_OUT_OF_HOST_MEMORY);
        return NULL;
    }
    cb->magic = M_CMDBUF;
    cb->refs = 1;
    cb->owner = &platform;
    cb->q = qs[0];
    cb->state = CL_COMMAND_BUFFER_STATE_RECORDING_KHR;
    pthread_mutex_lock(&lock);
    cb->id = ++n_cmdbufs;
    pthread_mutex_unlock(&lock);
    set_err(errp, CL_SUCCESS);
    return cb;
}

static int is_cb(cl_command_buffer_khr cb) { return cb && cb->magic == M_CMDBUF && cb->refs > 0; }

static cl_int CL_API_CALL f_CommandNDRangeKernelKHR(cl_command_buffer_khr cb, cl_command_queue q,
                                                    const cl_ndrange_kernel_command_properties_khr *props,
                                                    cl_kernel k, cl_uint dim, const size_t *off, const size_t *gws,
                                                    const size_t *lws, cl_uint nsync, const cl_sync_point_khr *sync,
                                                    cl_sync_point_khr *sp, cl_mutable_command_khr *mh)
{
    char so[64], sg[64], sl[64], ss[64] = "-";
    cl_int err = CL_SUCCESS;
    cl_sync_point_khr mine = 0;
    const char *why = "";
    int call;
    if (!is_cb(cb)) {
        err = CL_INVALID_COMMAND_BUFFER_KHR;
    } else if (cb->owner != &platform) {
        err = CL_INVALID_COMMAND_BUFFER_KHR;
        why = " (command buffer of another vendor library)";
    } else if (cb->state != CL_COMMAND_BUFFER_STATE_RECORDING_KHR) {
        err = CL_INVALID_OPERATION;
    } else if (q != NULL) {
        err = CL_INVALID_COMMAND_QUEUE;     /* no cl_khr_command_buffer_multi_device here */
    } else if (props && props[0] != 0) {
        err = CL_INVALID_VALUE;
    } else if (mh != NULL) {
        err = CL_INVALID_VALUE;             /* no cl_khr_command_buffer_mutable_dispatch here */
    } else if ((err = check_range(k, dim, gws, lws)) != CL_SUCCESS) {
    } else if (k->prog->ctx != cb->q->ctx) {
        err = CL_INVALID_CONTEXT;
    } else if ((nsync == 0) != (sync == NULL)) {
        err = CL_INVALID_SYNC_POINT_WAIT_LIST_KHR;
    } else {
        for (cl_uint i = 0; i < nsync; i++)
            if (sync[i] == 0 || sync[i] > (cl_sync_point_khr)cb->n)
                err = CL_INVALID_SYNC_POINT_WAIT_LIST_KHR;
        if (err == CL_SUCCESS && cb->n >= MAXCMD)
            err = CL_OUT_OF_RESOURCES;
    }
    if (err == CL_SUCCESS) {
        struct cmd *c = &cb->c[cb->n++];
        c->k = k;
        c->arg0 = k->mem[0];
        c->dim = dim;
        for (cl_uint i = 0; i < dim; i++)
            c->gws[i] = gws[i], c->off[i] = off ? off[i] : 0;
        mine = (cl_sync_point_khr)cb->n;
        if (sp)
            *sp = mine;
    }
    pthread_mutex_lock(&lock);
    call = ++n_cmd_ndrange;
    fake_icd_cmd_ndrange_calls = call;
    pthread_mutex_unlock(&lock);
    dims(so, sizeof so, off, dim), dims(sg, sizeof sg, gws, dim), dims(sl, sizeof sl, lws, dim);
    if (nsync && sync) {
        size_t n = 0;
        for (cl_uint i = 0; i < nsync && n < sizeof ss; i++)
            n += (size_t)snprintf(ss + n, sizeof ss - n, i ? ",%u" : "%u", sync[i]);
    }
    logf_("clCommandNDRangeKernelKHR call=%d cb=%d kernel=%s dim=%u off=%s gws=%s lws=%s props=%s nsync=%u "
          "sync=%s mutable=%s -> %d sp=%u%s",
          call, is_cb(cb) ? cb->id : 0, is(k, M_KERNEL) ? k->d.name : "?", dim, so, sg, sl, props ? "list" : "null",
          nsync, ss, mh ? "ptr" : "null", err, mine, why);
    return err;
}

static cl_int CL_API_CALL f_FinalizeCommandBufferKHR(cl_command_buffer_khr cb)
{
    if (!is_cb(cb) || cb->owner != &platform)
        return CL_INVALID_COMMAND_BUFFER_KHR;
    if (cb->state != CL_COMMAND_BUFFER_STATE_RECORDING_KHR)
        return CL_INVALID_OPERATION;
    cb->state = CL_COMMAND_BUFFER_STATE_EXECUTABLE_KHR;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_EnqueueCommandBufferKHR(cl_uint nq, cl_command_queue *qs, cl_command_buffer_khr cb,
                                                    cl_uint nw, const cl_event *w, cl_event *ev)
{
    cl_int err = CL_SUCCESS;
    size_t items = 0;
    int call;
    if (!is_cb(cb) || cb->owner != &platform)
        err = CL_INVALID_COMMAND_BUFFER_KHR;
    else if ((nq == 0) != (qs == NULL) || nq > 1)
        err = CL_INVALID_VALUE;
    else if (nq == 1 && qs[0] != cb->q)
        err = CL_INCOMPATIBLE_COMMAND_QUEUE_KHR;
    else if (cb->state != CL_COMMAND_BUFFER_STATE_EXECUTABLE_KHR)
        err = CL_INVALID_OPERATION;
    else if ((err = check_wait(nw, w)) == CL_SUCCESS) {
        for (int i = 0; i < cb->n; i++)
            items += run_range(cb->c[i].arg0, cb->c[i].dim, cb->c[i].off, cb->c[i].gws);
        err = finish_enqueue(cb->q, CL_COMMAND_COMMAND_BUFFER_KHR, items, ev);
    }
    pthread_mutex_lock(&lock);
    call = ++n_enqueue_cmdbuf;
    pthread_mutex_unlock(&lock);
    logf_("clEnqueueCommandBufferKHR call=%d cb=%d commands=%d -> %d", call, is_cb(cb) ? cb->id : 0,
          is_cb(cb) ? cb->n : 0, err);
    return err;
}

static cl_int CL_API_CALL f_RetainCommandBufferKHR(cl_command_buffer_khr cb)
{
    if (!is_cb(cb) || cb->owner != &platform)
        return CL_INVALID_COMMAND_BUFFER_KHR;
    cb->refs++;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_ReleaseCommandBufferKHR(cl_command_buffer_khr cb)
{
    if (!is_cb(cb) || cb->owner != &platform)
        return CL_INVALID_COMMAND_BUFFER_KHR;
    cb->refs--;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL f_GetCommandBufferInfoKHR(cl_command_buffer_khr cb, cl_command_buffer_info_khr what,
                                                    size_t size, void *val, size_t *size_ret)
{
    if (!is_cb(cb) || cb->owner != &platform)
        return CL_INVALID_COMMAND_BUFFER_KHR;
    switch (what) {
    case CL_COMMAND_BUFFER_QUEUES_KHR: INFO_VAL(cl_command_queue, cb->q);
    case CL_COMMAND_BUFFER_NUM_QUEUES_KHR: INFO_VAL(cl_uint, 1);
    case CL_COMMAND_BUFFER_REFERENCE_COUNT_KHR: INFO_VAL(cl_uint, (cl_uint)cb->refs);
    case CL_COMMAND_BUFFER_STATE_KHR: INFO_VAL(cl_command_buffer_state_khr, cb->state);
    default: return CL_INVALID_VALUE;
    }
}

/* ---- extension lookup ---- */

static void *f_GetExtensionFunctionAddress(const char *name)
{
    static const struct { const char *name; void *fn; } ext[] = {
        { "clIcdGetPlatformIDsKHR", (void *)f_GetPlatformIDs },
        { "clCreateCommandBufferKHR", (void *)f_CreateCommandBufferKHR },
        { "clCommandNDRangeKernelKHR", (void *)f_CommandNDRangeKernelKHR },
        { "clFinalizeCommandBufferKHR", (void *)f_FinalizeCommandBufferKHR },
        { "clEnqueueCommandBufferKHR", (void *)f_EnqueueCommandBufferKHR },
        { "clRetainCommandBufferKHR", (void *)f_RetainCommandBufferKHR },
        { "clReleaseCommandBufferKHR", (void *)f_ReleaseCommandBufferKHR },
        { "clGetCommandBufferInfoKHR", (void *)f_GetCommandBufferInfoKHR },
    };
    for (size_t i = 0; name && i < sizeof ext / sizeof ext[0]; i++)
        if (strcmp(name, ext[i].name) == 0)
            return ext[i].fn;
    return NULL;
}

static void *CL_API_CALL f_GetExtensionFunctionAddressForPlatform(cl_platform_id p, const char *name)
{
    return p == &platform ? f_GetExtensionFunctionAddress(name) : NULL;
}

static void *CL_API_CALL d_GetExtensionFunctionAddress(const char *name) { return f_GetExtensionFunctionAddress(name); }

/* ---- the dispatch table ---- */

static cl_int CL_API_CALL unimplemented(void) { return CL_INVALID_OPERATION; }
static void *CL_API_CALL unimplemented_object(void) { return NULL; }

__attribute__((constructor)) static void fill_dispatch(void)
{
    void **slot = (void **)&disp;
    for (size_t i = 0; i < sizeof disp / sizeof(void *); i++)
        slot[i] = (void *)unimplemented;
    /* the calls that return an object (or a pointer) answer NULL rather than an error code */
#define NULLS(X)                                                                                           \
    X(clCreateImage2D) X(clCreateImage3D) X(clCreateSampler) X(clCreateProgramWithBinary)                  \
    X(clEnqueueMapBuffer) X(clEnqueueMapImage) X(clCreateFromGLBuffer) X(clCreateFromGLTexture2D)          \
    X(clCreateFromGLTexture3D) X(clCreateFromGLRenderbuffer) X(clCreateSubBuffer) X(clCreateUserEvent)     \
    X(clCreateEventFromGLsyncKHR) X(clCreateImage) X(clCreateProgramWithBuiltInKernels) X(clLinkProgram)   \
    X(clCreateFromGLTexture) X(clCreateFromEGLImageKHR) X(clCreateEventFromEGLSyncKHR) X(clCreatePipe)     \
    X(clSVMAlloc) X(clCreateSamplerWithProperties) X(clCloneKernel) X(clCreateProgramWithIL)               \
    X(clCreateBufferWithProperties) X(clCreateImageWithProperties)
#define SET_NULL(name) disp.name = (__typeof__(disp.name))(void *)unimplemented_object;
    NULLS(SET_NULL)
#undef SET_NULL
#define IMPL(X)                                                                                            \
    X(GetPlatformIDs) X(GetPlatformInfo) X(GetDeviceIDs) X(GetDeviceInfo) X(CreateContext)                 \
    X(CreateContextFromType) X(RetainContext) X(ReleaseContext) X(GetContextInfo) X(CreateCommandQueue)    \
    X(CreateCommandQueueWithProperties) X(RetainCommandQueue) X(ReleaseCommandQueue)                       \
    X(GetCommandQueueInfo) X(Flush) X(Finish) X(CreateBuffer) X(RetainMemObject) X(ReleaseMemObject)        \
    X(GetMemObjectInfo) X(EnqueueReadBuffer) X(EnqueueWriteBuffer) X(CreateProgramWithSource)              \
    X(BuildProgram) X(RetainProgram) X(ReleaseProgram) X(GetProgramInfo) X(GetProgramBuildInfo)            \
    X(CreateKernel) X(RetainKernel) X(ReleaseKernel) X(SetKernelArg) X(GetKernelInfo)                      \
    X(GetKernelWorkGroupInfo) X(EnqueueNDRangeKernel) X(WaitForEvents) X(GetEventInfo)                     \
    X(GetEventProfilingInfo) X(RetainEvent) X(ReleaseEvent) X(SetEventCallback)                            \
    X(GetExtensionFunctionAddressForPlatform)
#define SET(name) disp.cl##name = f_##name;
    IMPL(SET)
#undef SET
    disp.clGetExtensionFunctionAddress = d_GetExtensionFunctionAddress;
}

__attribute__((destructor)) static void summary(void)
{
    logf_("summary cmd_ndrange=%d enqueue_ndrange=%d enqueue_cmdbuf=%d live_events=%d", n_cmd_ndrange,
          n_enqueue_ndrange, n_enqueue_cmdbuf, live_events);
}

/* ---- what ocl-icd looks up with dlsym ---- */

EXPORT cl_int CL_API_CALL clIcdGetPlatformIDsKHR(cl_uint n, cl_platform_id *ps, cl_uint *nret)
{
    return f_GetPlatformIDs(n, ps, nret);
}

EXPORT cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id p, cl_platform_info what, size_t size, void *val,
                                            size_t *size_ret)
{
    return f_GetPlatformInfo(p, what, size, val, size_ret);
}

EXPORT void *CL_API_CALL clGetExtensionFunctionAddress(const char *name)
{
    return f_GetExtensionFunctionAddress(name);
}
