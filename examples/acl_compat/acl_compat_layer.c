/* acl_compat: an OpenCL loader layer (cl_loader_layers) that lets Arm Compute Library 20.08 run on PoCL, and,
 * built with -DACL_COMPAT_SPLIT_ONLY, the "split" layer that gives any OpenCL 2.0 program on PoCL non-uniform
 * work-groups (docs/acl.md).
 *
 * Not part of cltrace. It exists only so that ACL-on-PoCL runs (./dev acl, docs/acl.md) work at all:
 *   - advertises cl_arm_non_uniform_work_group_size (ACL 20.08 refuses a device without it) and strips
 *     -cl-arm-non-uniform-work-group-size from build options (PoCL's clang does not know the option);
 *   - runs a launch whose local size does not divide its global size (legal on Mali with that extension and in
 *     OpenCL 2.0, refused by PoCL 3.1) as its uniform regions, the way Intel NEO and clvk do and a Mali driver
 *     must (one job per region): per dimension a bulk alignDown(g, l) with local l and a remainder g mod l with
 *     local g mod l, each region launched with the global offset of its start (acl_compat_split_regions). The
 *     caller's event stands for the whole launch (see "Events" below);
 *   - rewrites CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(x, 0) to (x, 1) in program sources (a % 0 that clang 15
 *     compiles to a trap; the offset stays zero);
 *   - with ACL_COMPAT_DEVICE_NAME set (e.g. Mali-G72), reports that CL_DEVICE_NAME, so that ACL picks the
 *     heuristics of that GPU (ACL chooses Midgard or Bifrost kernels from the device name).
 * The split layer (ACL_COMPAT_SPLIT_ONLY) does the split and nothing else.
 *
 * Load it as the layer closest to the driver: ocl-icd puts the *last* layer of OPENCL_LAYERS nearest the
 * application, and `cltrace run` appends its own layer, so OPENCL_LAYERS=<this layer> cltrace run ... gives
 * <this layer>:<cltrace layer>: cltrace records the launch the program asked for, and this layer alone changes
 * what PoCL receives.
 *
 * Events: a split launch's event is the last region's on an in-order queue (it completes after all of them),
 * a marker waiting on all regions on an out-of-order one. Until the caller has released it (the layer counts
 * the retains and releases that pass through it) the layer keeps the regions' events and answers
 * clGetEventProfilingInfo for it over all regions: QUEUED and SUBMIT of the first, START the earliest, END and
 * COMPLETE the latest; clGetEventInfo(CL_EVENT_COMMAND_TYPE) of the marker says CL_COMMAND_NDRANGE_KERNEL.
 * The caller's wait list goes to every region. Return codes are the driver's.
 *
 * Counts: launches, launches split and jobs (regions launched; an unsplit launch is one job), in all and per
 * kernel. At exit they go, as one JSON object, to $CLTRACE_LAYER_NOTES/<layer>-<pid>.json when cltrace set
 * that directory (it records the object as a `layer` note of the run), and to stderr with ACL_COMPAT_LOG=1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <stdint.h>
#include <CL/cl_layer.h>
#include "acl_compat_rewrite.h"

#define EXPORT __attribute__((visibility("default")))

#ifdef ACL_COMPAT_SPLIT_ONLY
#define LAYER_ID "split"
#define LAYER_NAME "split (non-uniform work-groups run as uniform regions, on PoCL)"
#else
#define LAYER_ID "acl_compat"
#define LAYER_NAME "acl_compat (ACL 20.08 on PoCL)"
#endif

static const struct _cl_icd_dispatch *next;
static struct _cl_icd_dispatch table;
static unsigned long n_launches, n_split, n_jobs, n_sources, n_options;
static unsigned long n_tracked;      /* split launches whose event the caller still holds */

/* ---- counts per kernel (by name; a fixed table, the rest counted under "(other)") ---- */
#define MAX_KERNEL_STATS 64
struct kstat {
    char name[64];
    unsigned long launches, split, jobs;
};
static struct kstat kstats[MAX_KERNEL_STATS + 1];
static unsigned n_kstats;
static pthread_mutex_t kstat_lock = PTHREAD_MUTEX_INITIALIZER;

/* jobs: regions launched; non_uniform: the launch's local size did not divide its global size */
static void count_launch(cl_kernel k, unsigned jobs, int non_uniform)
{
    char name[64] = "";
    size_t len = 0;
    unsigned i;
    __atomic_add_fetch(&n_launches, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&n_jobs, jobs, __ATOMIC_RELAXED);
    if (non_uniform)
        __atomic_add_fetch(&n_split, 1, __ATOMIC_RELAXED);
    if (next->clGetKernelInfo(k, CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, &len) != CL_SUCCESS)
        strcpy(name, "(unknown)");
    for (char *c = name; *c; ++c)      /* kernel names are identifiers; keep the JSON plain */
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
            *c = '?';
    pthread_mutex_lock(&kstat_lock);
    for (i = 0; i < n_kstats && strcmp(kstats[i].name, name) != 0; ++i)
        ;
    if (i == n_kstats) {
        if (n_kstats < MAX_KERNEL_STATS)
            snprintf(kstats[n_kstats++].name, sizeof kstats[0].name, "%s", name);
        else
            i = MAX_KERNEL_STATS, strcpy(kstats[i].name, "(other)");
    }
    kstats[i].launches++;
    kstats[i].split += non_uniform != 0;
    kstats[i].jobs += jobs;
    pthread_mutex_unlock(&kstat_lock);
}

static void write_counts(FILE *f)
{
    unsigned n = n_kstats + (kstats[MAX_KERNEL_STATS].launches ? 1 : 0);
    fprintf(f, "{\"layer\": \"%s\", \"pid\": %ld, \"launches\": %lu, \"split_launches\": %lu, \"jobs\": %lu, "
               "\"sources_rewritten\": %lu, \"options_rewritten\": %lu, \"kernels\": [",
            LAYER_ID, (long)getpid(), n_launches, n_split, n_jobs, n_sources, n_options);
    for (unsigned i = 0, j = 0; i <= MAX_KERNEL_STATS && j < n; ++i) {
        const struct kstat *s = &kstats[i];
        if (!s->launches)
            continue;
        fprintf(f, "%s{\"name\": \"%s\", \"launches\": %lu, \"split_launches\": %lu, \"jobs\": %lu}",
                j++ ? ", " : "", s->name, s->launches, s->split, s->jobs);
    }
    fputs("]}\n", f);
}

static void report(void)
{
    const char *dir = getenv("CLTRACE_LAYER_NOTES");
    const char *log = getenv("ACL_COMPAT_LOG");
    if (log && *log && strcmp(log, "0") != 0) {
        fprintf(stderr, "%s: %lu launches ran as %lu jobs (%lu split into uniform regions); "
                        "%lu program sources and %lu build option strings rewritten; "
                        "%lu split launches' events not yet released by their callers\n",
                LAYER_ID, n_launches, n_jobs, n_split, n_sources, n_options,
                __atomic_load_n(&n_tracked, __ATOMIC_RELAXED));
        fprintf(stderr, "%s: counts ", LAYER_ID);
        write_counts(stderr);
    }
    if (dir && *dir) {
        char path[4096], tmp[4200];
        FILE *f;
        mkdir(dir, 0700);               /* cltrace run makes it; a hand-set CLTRACE_LAYER_NOTES may not exist */
        snprintf(path, sizeof path, "%s/%s-%ld.json", dir, LAYER_ID, (long)getpid());
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        if ((f = fopen(tmp, "w")) != NULL) {
            write_counts(f);
            if (fclose(f) == 0)
                rename(tmp, path);      /* whole or not at all */
            else
                remove(tmp);
        }
    }
}

/* ---- the events that stand for a split launch ---- */
struct tracked {
    cl_event ev;                     /* what the caller got */
    cl_event regions[ACL_COMPAT_MAX_REGIONS];
    unsigned n;                      /* regions */
    unsigned refs;                   /* the caller's references (1 + retains - releases through this layer) */
    unsigned users;                  /* profiling queries in progress on regions[] */
    int marker;                      /* ev is a marker (out-of-order queue): held apart from regions[] */
    int dead;                        /* the caller released it; freed when users drops to 0 */
    struct tracked *link;
};
#define BUCKETS 256
static struct tracked *buckets[BUCKETS];
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned bucket(cl_event ev)
{
    uintptr_t x = (uintptr_t)ev;
    return (unsigned)((x >> 4) ^ (x >> 12)) % BUCKETS;
}

/* Lock held. */
static struct tracked **find(cl_event ev)
{
    struct tracked **p = &buckets[bucket(ev)];
    while (*p && (*p)->ev != ev)
        p = &(*p)->link;
    return p;
}

/* The regions' events that the entry holds (all but ev itself), released outside the lock. */
static void drop(struct tracked *t)
{
    for (unsigned i = 0; i < t->n; ++i)
        if (t->regions[i] != t->ev)
            next->clReleaseEvent(t->regions[i]);
    free(t);
}

static int track(cl_event ev, const cl_event *regions, unsigned n, int marker)
{
    struct tracked *t = calloc(1, sizeof *t), **p;
    if (!t)
        return -1;
    t->ev = ev;
    memcpy(t->regions, regions, n * sizeof *regions);
    t->n = n;
    t->refs = 1;
    t->marker = marker;
    pthread_mutex_lock(&ev_lock);
    p = find(ev);
    if (*p) {                        /* cannot happen: the driver reused a live event; keep the old entry */
        pthread_mutex_unlock(&ev_lock);
        free(t);
        return -1;
    }
    *p = t;
    __atomic_add_fetch(&n_tracked, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ev_lock);
    return 0;
}

static int anything_tracked(void)
{
    return __atomic_load_n(&n_tracked, __ATOMIC_ACQUIRE) != 0;
}

static cl_int CL_API_CALL retain_event(cl_event ev)
{
    if (anything_tracked()) {
        pthread_mutex_lock(&ev_lock);
        struct tracked *t = *find(ev);
        if (t)
            t->refs++;
        pthread_mutex_unlock(&ev_lock);
    }
    return next->clRetainEvent(ev);
}

static cl_int CL_API_CALL release_event(cl_event ev)
{
    struct tracked *gone = NULL;
    if (anything_tracked()) {
        pthread_mutex_lock(&ev_lock);
        struct tracked **p = find(ev), *t = *p;
        if (t && --t->refs == 0) {   /* the caller's last reference: forget ev before the driver may free it */
            *p = t->link;
            __atomic_sub_fetch(&n_tracked, 1, __ATOMIC_RELEASE);
            t->dead = 1;
            if (t->users == 0)
                gone = t;
        }
        pthread_mutex_unlock(&ev_lock);
    }
    if (gone)
        drop(gone);
    return next->clReleaseEvent(ev);
}

static cl_int copy_ulong(cl_ulong v, size_t size, void *value, size_t *size_ret)
{
    if (size_ret)
        *size_ret = sizeof v;
    if (value) {
        if (size < sizeof v)
            return CL_INVALID_VALUE;
        memcpy(value, &v, sizeof v);
    }
    return CL_SUCCESS;
}

static cl_int CL_API_CALL get_profiling_info(cl_event ev, cl_profiling_info name, size_t size, void *value,
                                             size_t *size_ret)
{
    struct tracked *t = NULL, *gone = NULL;
    cl_ulong best = 0, v;
    cl_int err = CL_SUCCESS;
    int latest = name == CL_PROFILING_COMMAND_END || name == CL_PROFILING_COMMAND_COMPLETE;
    int first_only = name == CL_PROFILING_COMMAND_QUEUED || name == CL_PROFILING_COMMAND_SUBMIT;
    if (!(latest || first_only || name == CL_PROFILING_COMMAND_START) || !anything_tracked())
        return next->clGetEventProfilingInfo(ev, name, size, value, size_ret);
    pthread_mutex_lock(&ev_lock);
    t = *find(ev);
    if (t)
        t->users++;
    pthread_mutex_unlock(&ev_lock);
    if (!t)
        return next->clGetEventProfilingInfo(ev, name, size, value, size_ret);
    /* the regions' events stay alive while users > 0 */
    for (unsigned i = 0; i < (first_only ? 1 : t->n) && err == CL_SUCCESS; ++i) {
        err = next->clGetEventProfilingInfo(t->regions[i], name, sizeof v, &v, NULL);
        if (err == CL_SUCCESS && (i == 0 || (latest ? v > best : v < best)))
            best = v;
    }
    pthread_mutex_lock(&ev_lock);
    if (--t->users == 0 && t->dead)
        gone = t;
    pthread_mutex_unlock(&ev_lock);
    if (gone)
        drop(gone);
    if (err != CL_SUCCESS)
        return err;
    return copy_ulong(best, size, value, size_ret);
}

static cl_int CL_API_CALL get_event_info(cl_event ev, cl_event_info name, size_t size, void *value, size_t *size_ret)
{
    int marker = 0;
    if (name == CL_EVENT_COMMAND_TYPE && anything_tracked()) {
        pthread_mutex_lock(&ev_lock);
        struct tracked *t = *find(ev);
        marker = t && t->marker;
        pthread_mutex_unlock(&ev_lock);
    }
    if (marker) {                    /* the marker stands for the kernel launch */
        cl_command_type type = CL_COMMAND_NDRANGE_KERNEL;
        if (size_ret)
            *size_ret = sizeof type;
        if (value) {
            if (size < sizeof type)
                return CL_INVALID_VALUE;
            memcpy(value, &type, sizeof type);
        }
        return CL_SUCCESS;
    }
    return next->clGetEventInfo(ev, name, size, value, size_ret);
}

static cl_int copy_out(const char *s, size_t size, void *value, size_t *size_ret)
{
    size_t n = strlen(s) + 1;
    if (size_ret)
        *size_ret = n;
    if (value) {
        if (size < n)
            return CL_INVALID_VALUE;
        memcpy(value, s, n);
    }
    return CL_SUCCESS;
}

static cl_int CL_API_CALL get_device_info(cl_device_id dev, cl_device_info name, size_t size, void *value,
                                          size_t *size_ret)
{
    if (name == CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT) {     /* what the split provides */
        cl_bool yes = CL_TRUE;
        if (size_ret)
            *size_ret = sizeof yes;
        if (value) {
            if (size < sizeof yes)
                return CL_INVALID_VALUE;
            memcpy(value, &yes, sizeof yes);
        }
        return CL_SUCCESS;
    }
#ifndef ACL_COMPAT_SPLIT_ONLY
    const char *spoof = getenv("ACL_COMPAT_DEVICE_NAME");
    if (name == CL_DEVICE_NAME && spoof && *spoof)
        return copy_out(spoof, size, value, size_ret);
    if (name == CL_DEVICE_EXTENSIONS) {
        size_t n = 0;
        char *real, *ext;
        cl_int err = next->clGetDeviceInfo(dev, name, 0, NULL, &n);
        if (err != CL_SUCCESS)
            return err;
        real = calloc(1, n + 1);
        if (!real)
            return CL_OUT_OF_HOST_MEMORY;
        err = next->clGetDeviceInfo(dev, name, n, real, NULL);
        ext = err == CL_SUCCESS ? acl_compat_append_extension(real, "cl_arm_non_uniform_work_group_size") : NULL;
        if (err == CL_SUCCESS)
            err = ext ? copy_out(ext, size, value, size_ret) : CL_OUT_OF_HOST_MEMORY;
        free(real);
        free(ext);
        return err;
    }
#endif
    return next->clGetDeviceInfo(dev, name, size, value, size_ret);
}

#ifndef ACL_COMPAT_SPLIT_ONLY

static cl_program CL_API_CALL create_program(cl_context ctx, cl_uint count, const char **strings,
                                             const size_t *lengths, cl_int *err)
{
    char **fixed = calloc(count ? count : 1, sizeof *fixed);
    cl_program prog;
    int changed = 0;
    if (!fixed) {
        if (err)
            *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    for (cl_uint i = 0; i < count; ++i) {
        size_t n = lengths && lengths[i] ? lengths[i] : strlen(strings[i]);
        char *copy = malloc(n + 1);
        int c = 0;
        if (!copy)
            break;
        memcpy(copy, strings[i], n);
        copy[n] = '\0';
        fixed[i] = acl_compat_rewrite_source(copy, &c);
        free(copy);
        changed += c;
        if (!fixed[i])
            break;
    }
    if (count && !fixed[count - 1]) {
        for (cl_uint i = 0; i < count; ++i)
            free(fixed[i]);
        free(fixed);
        if (err)
            *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    if (changed)
        __atomic_add_fetch(&n_sources, 1, __ATOMIC_RELAXED);
    prog = next->clCreateProgramWithSource(ctx, count, (const char **)fixed, NULL, err);
    for (cl_uint i = 0; i < count; ++i)
        free(fixed[i]);
    free(fixed);
    return prog;
}

static char *strip(const char *options)
{
    char *s = acl_compat_strip_options(options);
    if (s && options && strcmp(s, options) != 0)
        __atomic_add_fetch(&n_options, 1, __ATOMIC_RELAXED);
    return s;
}

static cl_int CL_API_CALL build_program(cl_program prog, cl_uint n, const cl_device_id *devs, const char *options,
                                        void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    char *s = strip(options);
    cl_int err = next->clBuildProgram(prog, n, devs, s ? s : options, notify, user);
    free(s);
    return err;
}

static cl_int CL_API_CALL compile_program(cl_program prog, cl_uint n, const cl_device_id *devs, const char *options,
                                          cl_uint n_headers, const cl_program *headers, const char **names,
                                          void(CL_CALLBACK *notify)(cl_program, void *), void *user)
{
    char *s = strip(options);
    cl_int err = next->clCompileProgram(prog, n, devs, s ? s : options, n_headers, headers, names, notify, user);
    free(s);
    return err;
}

#endif

/* A launch as its uniform regions (n >= 2). */
static cl_int split_launch(cl_command_queue q, cl_kernel k, cl_uint dims, const struct acl_compat_region *r,
                           unsigned n, cl_uint n_wait, const cl_event *wait, cl_event *ev)
{
    cl_event evs[ACL_COMPAT_MAX_REGIONS], out;
    cl_command_queue_properties props = 0;
    cl_int err = CL_SUCCESS;
    unsigned done = 0;
    for (; done < n && err == CL_SUCCESS; ++done)
        err = next->clEnqueueNDRangeKernel(q, k, dims, r[done].offset, r[done].global, r[done].local, n_wait, wait,
                                           ev ? &evs[done] : NULL);
    if (err != CL_SUCCESS) {         /* region done-1 failed: the earlier ones are queued already */
        if (ev)
            for (unsigned i = 0; i + 1 < done; ++i)
                next->clReleaseEvent(evs[i]);
        return err;
    }
    count_launch(k, n, 1);
    if (!ev)
        return CL_SUCCESS;
    next->clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) {
        err = next->clEnqueueMarkerWithWaitList(q, n, evs, &out);
        if (err != CL_SUCCESS) {
            for (unsigned i = 0; i < n; ++i)
                next->clReleaseEvent(evs[i]);
            return err;
        }
    } else {
        out = evs[n - 1];            /* in order: complete only after every region */
    }
    if (track(out, evs, n, out != evs[n - 1]) != 0)
        for (unsigned i = 0; i < n; ++i)    /* untracked: the caller's event times the last region only */
            if (evs[i] != out)
                next->clReleaseEvent(evs[i]);
    *ev = out;
    return CL_SUCCESS;
}

static cl_int CL_API_CALL enqueue_nd_range(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                                           const size_t *global, const size_t *local, cl_uint n_wait,
                                           const cl_event *wait, cl_event *ev)
{
    struct acl_compat_region r[ACL_COMPAT_MAX_REGIONS];
    unsigned n = acl_compat_split_regions(dims, offset, global, local, r);
    cl_int err;
    if (n >= 2)
        return split_launch(q, k, dims, r, n, n_wait, wait, ev);
    if (n == 1 && memcmp(r[0].local, local, dims * sizeof *local) != 0) {
        /* all remainder (local larger than global where it does not divide): one region, its own local size */
        err = next->clEnqueueNDRangeKernel(q, k, dims, r[0].offset, r[0].global, r[0].local, n_wait, wait, ev);
        if (err == CL_SUCCESS)
            count_launch(k, 1, 1);
        return err;
    }
    err = next->clEnqueueNDRangeKernel(q, k, dims, offset, global, local, n_wait, wait, ev);
    if (err == CL_SUCCESS)
        count_launch(k, 1, 0);
    return err;
}

EXPORT cl_int CL_API_CALL clGetLayerInfo(cl_layer_info name, size_t size, void *value, size_t *size_ret)
{
    static const cl_layer_api_version version = CL_LAYER_API_VERSION_100;
    if (name == CL_LAYER_API_VERSION) {
        if (size_ret)
            *size_ret = sizeof version;
        if (value) {
            if (size < sizeof version)
                return CL_INVALID_VALUE;
            memcpy(value, &version, sizeof version);
        }
        return CL_SUCCESS;
    }
    if (name == CL_LAYER_NAME)
        return copy_out(LAYER_NAME, size, value, size_ret);
    return CL_INVALID_VALUE;
}

EXPORT cl_int CL_API_CALL clInitLayer(cl_uint num_entries, const struct _cl_icd_dispatch *target,
                                      cl_uint *num_entries_ret, const struct _cl_icd_dispatch **layer)
{
    cl_uint n = num_entries;
    if (!target || !num_entries_ret || !layer)
        return CL_INVALID_VALUE;
    if (n > sizeof table / sizeof(void *))
        n = sizeof table / sizeof(void *);
    next = target;
    memcpy(&table, target, n * sizeof(void *));
    table.clGetDeviceInfo = get_device_info;
#ifndef ACL_COMPAT_SPLIT_ONLY
    table.clCreateProgramWithSource = create_program;
    table.clBuildProgram = build_program;
    table.clCompileProgram = compile_program;
#endif
    table.clEnqueueNDRangeKernel = enqueue_nd_range;
    table.clRetainEvent = retain_event;
    table.clReleaseEvent = release_event;
    table.clGetEventProfilingInfo = get_profiling_info;
    table.clGetEventInfo = get_event_info;
    *layer = &table;
    *num_entries_ret = n;
    atexit(report);
    return CL_SUCCESS;
}
