/* The hooked OpenCL calls, shared by every capture mode. Each forwards to
 * clt_next(obj) and returns the real call's result unchanged. In the preload
 * build the hooks are also exported under their API names. */
#include <stdlib.h>
#include <string.h>
#include <CL/cl_ext.h>
#include "clt.h"

#define NX(obj) clt_next(obj)
#define ON (clt_on)

/* Inlined into its two hooks: no second 10-argument call per launch. */
static inline __attribute__((always_inline)) cl_int
launch(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *off, const size_t *gws, const size_t *lws,
       cl_uint nwait, const cl_event *wait, cl_event *event, uint32_t api)
{
    static const size_t one = 1;
    struct clt_thread *t = clt_thread();
    uint64_t t0 = clt_now(), t1, seq;
    cl_event own = NULL, *evp = event;
    uint32_t flags = api;
    int timing = clt_opt.CLTRACE_TIMING;
    cl_int err;

    if (timing && !event) {
        evp = &own;
        flags |= CLT_LAUNCH_OWN_EVENT;
    }
    if (api == CLT_LAUNCH_API_TASK)
        err = NX(q)->clEnqueueTask(q, k, nwait, wait, evp);
    else
        err = NX(q)->clEnqueueNDRangeKernel(q, k, dim, off, gws, lws, nwait, wait, evp);
    t1 = clt_now();
    if (api == CLT_LAUNCH_API_TASK)
        dim = 1, gws = &one, lws = &one;
    if (!timing || err != CL_SUCCESS || !evp || !*evp)
        flags |= CLT_LAUNCH_UNTIMED;
    seq = clt_write_launch(t, t0, t1, q, k, dim, off, gws, lws, err, flags);
    if (!(flags & CLT_LAUNCH_UNTIMED)) {
        if (!own)
            NX(q)->clRetainEvent(*evp);
        clt_pending_add(t, *evp, seq, q);
    }
    return err;
}

static cl_int CL_API_CALL h_clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dim,
                                                   const size_t *off, const size_t *gws, const size_t *lws,
                                                   cl_uint nwait, const cl_event *wait, cl_event *event)
{
    if (!ON)
        return NX(q)->clEnqueueNDRangeKernel(q, k, dim, off, gws, lws, nwait, wait, event);
    return launch(q, k, dim, off, gws, lws, nwait, wait, event, CLT_LAUNCH_API_NDRANGE);
}

static cl_int CL_API_CALL h_clEnqueueTask(cl_command_queue q, cl_kernel k, cl_uint nwait,
                                          const cl_event *wait, cl_event *event)
{
    if (!ON)
        return NX(q)->clEnqueueTask(q, k, nwait, wait, event);
    return launch(q, k, 0, NULL, NULL, NULL, nwait, wait, event, CLT_LAUNCH_API_TASK);
}

/* ---- queues ---- */

static cl_command_queue CL_API_CALL h_clCreateCommandQueue(cl_context ctx, cl_device_id dev,
                                                           cl_command_queue_properties props, cl_int *errp)
{
    cl_command_queue_properties used = props;
    cl_command_queue q;
    cl_int err = CL_SUCCESS;
    if (!ON)
        return NX(ctx)->clCreateCommandQueue(ctx, dev, props, errp);
    if (clt_opt.CLTRACE_TIMING)
        used |= CL_QUEUE_PROFILING_ENABLE;
    q = NX(ctx)->clCreateCommandQueue(ctx, dev, used, &err);
    if (!q && used != props) {      /* the device refused profiling: be invisible */
        used = props;
        q = NX(ctx)->clCreateCommandQueue(ctx, dev, used, &err);
    }
    clt_write_queue(q, ctx, dev, props, used, err);
    if (q)
        clt_queue_add(q, props, used != props, NULL);
    if (errp)
        *errp = err;
    return q;
}

static cl_command_queue CL_API_CALL h_clCreateCommandQueueWithProperties(cl_context ctx, cl_device_id dev,
                                                                         const cl_queue_properties *props,
                                                                         cl_int *errp)
{
    cl_queue_properties mine[64];
    cl_command_queue_properties app = 0, used;
    cl_command_queue q;
    cl_int err = CL_SUCCESS;
    size_t n = 0, at = (size_t)-1;
    if (!ON)
        return NX(ctx)->clCreateCommandQueueWithProperties(ctx, dev, props, errp);
    while (props && props[n] && n + 3 < 64) {
        if (props[n] == CL_QUEUE_PROPERTIES)
            at = n + 1, app = props[n + 1];
        mine[n] = props[n], mine[n + 1] = props[n + 1];
        n += 2;
    }
    used = app;
    if (clt_opt.CLTRACE_TIMING && !(props && props[n])) {   /* skip arrays too long to copy */
        used |= CL_QUEUE_PROFILING_ENABLE;
        if (at == (size_t)-1)
            mine[n] = CL_QUEUE_PROPERTIES, mine[n + 1] = used, n += 2;
        else
            mine[at] = used;
    }
    mine[n] = 0;
    q = NX(ctx)->clCreateCommandQueueWithProperties(ctx, dev, used != app ? mine : props, &err);
    if (!q && used != app) {
        used = app;
        q = NX(ctx)->clCreateCommandQueueWithProperties(ctx, dev, props, &err);
    }
    clt_write_queue(q, ctx, dev, app, used, err);
    if (q) {
        static const cl_queue_properties empty[1] = { 0 };
        clt_queue_add(q, app, used != app, props ? props : empty);
    }
    if (errp)
        *errp = err;
    return q;
}

static cl_int CL_API_CALL h_clGetCommandQueueInfo(cl_command_queue q, cl_command_queue_info what,
                                                  size_t size, void *val, size_t *size_ret)
{
    cl_command_queue_properties app;
    cl_queue_properties arr[32];
    size_t arr_bytes = 0;
    int forced = 0;
    if (ON && (what == CL_QUEUE_PROPERTIES || what == CL_QUEUE_PROPERTIES_ARRAY) &&
        clt_queue_lookup(q, &app, &forced, arr, &arr_bytes) && forced) {
        const void *src = what == CL_QUEUE_PROPERTIES ? (const void *)&app : (const void *)arr;
        size_t n = what == CL_QUEUE_PROPERTIES ? sizeof app : arr_bytes;
        return clt_return_info(src, n, size, val, size_ret);
    }
    return NX(q)->clGetCommandQueueInfo(q, what, size, val, size_ret);
}

static cl_int CL_API_CALL h_clGetEventProfilingInfo(cl_event ev, cl_profiling_info what, size_t size,
                                                    void *val, size_t *size_ret)
{
    if (ON && clt_opt.CLTRACE_TIMING) {
        cl_command_queue q = NULL;
        int forced = 0;
        if (NX(ev)->clGetEventInfo(ev, CL_EVENT_COMMAND_QUEUE, sizeof q, &q, NULL) == CL_SUCCESS && q &&
            clt_queue_lookup(q, NULL, &forced, NULL, NULL) && forced)
            return CL_PROFILING_INFO_NOT_AVAILABLE;
    }
    return NX(ev)->clGetEventProfilingInfo(ev, what, size, val, size_ret);
}

/* The app is about to wait for the device. What can be done now overlaps with
 * the device's work instead of following the wait (or landing on a later
 * launch): read the times of this thread's launches that have completed
 * already, and fault in the rest of its capture chunk. Non-blocking. */
static void before_wait(void)
{
    struct clt_thread *t = clt_thread();
    clt_pending_harvest_ready(t);
    clt_capture_prepare(t);
}

static cl_int CL_API_CALL h_clFinish(cl_command_queue q)
{
    uint64_t mark = 0;
    cl_int err;
    if (ON) {
        mark = clt_pending_mark();
        before_wait();
    }
    err = NX(q)->clFinish(q);
    if (ON && err == CL_SUCCESS)
        clt_pending_harvest_queue(q, mark);
    else if (ON)
        clt_pending_poll_all();     /* q's launches may not all be complete */
    return err;
}

static cl_int CL_API_CALL h_clWaitForEvents(cl_uint n, const cl_event *list)
{
    cl_int err;
    if (ON)
        before_wait();
    err = NX(n && list ? list[0] : NULL)->clWaitForEvents(n, list);
    if (ON)
        clt_pending_poll_all();
    return err;
}

static cl_int CL_API_CALL h_clReleaseCommandQueue(cl_command_queue q)
{
    cl_uint refs = 0;
    cl_int err;
    if (ON) {
        clt_pending_poll_all();
        NX(q)->clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, NULL);
    }
    err = NX(q)->clReleaseCommandQueue(q);
    if (ON && err == CL_SUCCESS && refs == 1)
        clt_queue_del(q);
    return err;
}

static cl_int CL_API_CALL h_clReleaseContext(cl_context ctx)
{
    if (ON)
        clt_pending_poll_all();
    return NX(ctx)->clReleaseContext(ctx);
}

/* ---- programs and kernels ---- */

static cl_program CL_API_CALL h_clCreateProgramWithSource(cl_context ctx, cl_uint n, const char **src,
                                                          const size_t *lens, cl_int *errp)
{
    cl_int err = CL_SUCCESS;
    cl_program p = NX(ctx)->clCreateProgramWithSource(ctx, n, src, lens, &err);
    if (ON) {
        uint64_t t = clt_now();
        clt_write_program(p, ctx, t, t, err, CLT_CREATE, "");
    }
    if (errp)
        *errp = err;
    return p;
}

static cl_program CL_API_CALL h_clCreateProgramWithBinary(cl_context ctx, cl_uint n, const cl_device_id *devs,
                                                          const size_t *lens, const unsigned char **bins,
                                                          cl_int *status, cl_int *errp)
{
    cl_int err = CL_SUCCESS;
    cl_program p = NX(ctx)->clCreateProgramWithBinary(ctx, n, devs, lens, bins, status, &err);
    if (ON) {
        uint64_t t = clt_now();
        clt_write_program(p, ctx, t, t, err, CLT_CREATE, "");
    }
    if (errp)
        *errp = err;
    return p;
}

static cl_program CL_API_CALL h_clCreateProgramWithIL(cl_context ctx, const void *il, size_t len, cl_int *errp)
{
    cl_int err = CL_SUCCESS;
    cl_program p = NX(ctx)->clCreateProgramWithIL(ctx, il, len, &err);
    if (ON) {
        uint64_t t = clt_now();
        clt_write_program(p, ctx, t, t, err, CLT_CREATE, "");
    }
    if (errp)
        *errp = err;
    return p;
}

typedef void(CL_CALLBACK *prog_notify)(cl_program, void *);

static cl_int CL_API_CALL h_clBuildProgram(cl_program p, cl_uint n, const cl_device_id *devs, const char *opts,
                                           prog_notify cb, void *user)
{
    uint64_t t0 = clt_now();
    cl_int err = NX(p)->clBuildProgram(p, n, devs, opts, cb, user);
    if (ON)
        clt_write_program(p, NULL, t0, clt_now(), err, CLT_BUILD, opts);
    return err;
}

static cl_int CL_API_CALL h_clCompileProgram(cl_program p, cl_uint n, const cl_device_id *devs, const char *opts,
                                             cl_uint nh, const cl_program *hdrs, const char **names,
                                             prog_notify cb, void *user)
{
    uint64_t t0 = clt_now();
    cl_int err = NX(p)->clCompileProgram(p, n, devs, opts, nh, hdrs, names, cb, user);
    if (ON)
        clt_write_program(p, NULL, t0, clt_now(), err, CLT_COMPILE, opts);
    return err;
}

static cl_program CL_API_CALL h_clLinkProgram(cl_context ctx, cl_uint n, const cl_device_id *devs,
                                              const char *opts, cl_uint np, const cl_program *progs,
                                              prog_notify cb, void *user, cl_int *errp)
{
    uint64_t t0 = clt_now();
    cl_int err = CL_SUCCESS;
    cl_program p = NX(ctx)->clLinkProgram(ctx, n, devs, opts, np, progs, cb, user, &err);
    if (ON)
        clt_write_program(p, ctx, t0, clt_now(), err, CLT_LINK, opts);
    if (errp)
        *errp = err;
    return p;
}

static cl_kernel CL_API_CALL h_clCreateKernel(cl_program p, const char *name, cl_int *errp)
{
    cl_kernel k = NX(p)->clCreateKernel(p, name, errp);
    if (ON && k)
        clt_write_kernel(k);
    return k;
}

static cl_int CL_API_CALL h_clCreateKernelsInProgram(cl_program p, cl_uint n, cl_kernel *ks, cl_uint *nret)
{
    cl_uint cnt = 0;
    cl_int err = NX(p)->clCreateKernelsInProgram(p, n, ks, &cnt);
    if (nret)
        *nret = cnt;
    if (ON && err == CL_SUCCESS && ks)
        for (cl_uint i = 0; i < cnt && i < n; i++)
            clt_write_kernel(ks[i]);
    return err;
}

static cl_kernel CL_API_CALL h_clCloneKernel(cl_kernel src, cl_int *errp)
{
    cl_kernel k = NX(src)->clCloneKernel(src, errp);
    if (ON && k) {
        clt_write_kernel(k);
        clt_kernel_clone(src, k);
    }
    return k;
}

static cl_int CL_API_CALL h_clSetKernelArg(cl_kernel k, cl_uint idx, size_t size, const void *val)
{
    cl_int err = NX(k)->clSetKernelArg(k, idx, size, val);
    if (ON && err == CL_SUCCESS && clt_opt.CLTRACE_ARG_BYTES) {
        uint64_t bytes = 0;
        if (size == sizeof(cl_mem) && val) {
            const void *h;
            memcpy(&h, val, sizeof h);      /* the app's argument bytes; the handle itself is only looked up */
            bytes = clt_mem_size(h);
        }
        clt_kernel_setarg(k, idx, bytes);
    }
    return err;
}

/* ---- buffers ---- */

static cl_mem CL_API_CALL h_clCreateBuffer(cl_context ctx, cl_mem_flags flags, size_t size, void *host,
                                           cl_int *errp)
{
    cl_mem m = NX(ctx)->clCreateBuffer(ctx, flags, size, host, errp);
    if (ON)
        clt_write_mem(m, size, flags);
    return m;
}

static cl_mem CL_API_CALL h_clCreateBufferWithProperties(cl_context ctx, const cl_mem_properties *props,
                                                         cl_mem_flags flags, size_t size, void *host,
                                                         cl_int *errp)
{
    cl_mem m = NX(ctx)->clCreateBufferWithProperties(ctx, props, flags, size, host, errp);
    if (ON)
        clt_write_mem(m, size, flags);
    return m;
}

static cl_mem CL_API_CALL h_clCreateSubBuffer(cl_mem buf, cl_mem_flags flags, cl_buffer_create_type type,
                                              const void *info, cl_int *errp)
{
    cl_mem m = NX(buf)->clCreateSubBuffer(buf, flags, type, info, errp);
    if (ON && m) {
        size_t size = 0;
        NX(m)->clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL);
        clt_write_mem(m, size, flags);
    }
    return m;
}

static cl_int CL_API_CALL h_clReleaseMemObject(cl_mem m)
{
    cl_uint refs = 0;
    cl_int err;
    if (ON && clt_mem_size(m))
        NX(m)->clGetMemObjectInfo(m, CL_MEM_REFERENCE_COUNT, sizeof refs, &refs, NULL);
    err = NX(m)->clReleaseMemObject(m);
    if (err == CL_SUCCESS && refs == 1)
        clt_mem_del(m);
    return err;
}

/* ---- extension functions ---- */

/* clCommandNDRangeKernelKHR is per vendor library: each lookup that finds one gets the wrapper bound to
 * that real function (same function, same wrapper), so an app using two vendors' command buffers reaches
 * each vendor's own function. More distinct functions than wrappers: the real one, unrecorded. */
#define CMD_NDRANGE_PARAMS                                                                                 \
    cl_command_buffer_khr cb, cl_command_queue q, const cl_ndrange_kernel_command_properties_khr *props,   \
        cl_kernel k, cl_uint dim, const size_t *off, const size_t *gws, const size_t *lws, cl_uint nsync,  \
        const cl_sync_point_khr *sync, cl_sync_point_khr *sp, cl_mutable_command_khr *mh
#define CMD_NDRANGE_ARGS cb, q, props, k, dim, off, gws, lws, nsync, sync, sp, mh
#define CMD_NDRANGE_SLOTS 8

static clCommandNDRangeKernelKHR_fn real_cmd_ndrange[CMD_NDRANGE_SLOTS];
static clGetCommandBufferInfoKHR_fn real_cb_info[CMD_NDRANGE_SLOTS];   /* the same vendor's, NULL unknown */

/* The command's queue: the app passes NULL (the buffer's own queue is used), so ask the buffer, when it has
 * exactly one queue; NULL when it cannot be told. */
static cl_command_queue command_queue(int slot, cl_command_buffer_khr cb, cl_command_queue q)
{
    clGetCommandBufferInfoKHR_fn info = __atomic_load_n(&real_cb_info[slot], __ATOMIC_ACQUIRE);
    cl_uint n = 0;
    cl_command_queue own = NULL;
    if (q || !cb || !info)
        return q;
    if (info(cb, CL_COMMAND_BUFFER_NUM_QUEUES_KHR, sizeof n, &n, NULL) != CL_SUCCESS || n != 1 ||
        info(cb, CL_COMMAND_BUFFER_QUEUES_KHR, sizeof own, &own, NULL) != CL_SUCCESS)
        return NULL;
    return own;
}

static inline cl_int cmd_ndrange(int slot, CMD_NDRANGE_PARAMS)
{
    uint64_t t0 = clt_now();
    cl_int err = __atomic_load_n(&real_cmd_ndrange[slot], __ATOMIC_ACQUIRE)(CMD_NDRANGE_ARGS);
    uint64_t t1 = clt_now();
    if (ON)
        clt_write_launch(clt_thread(), t0, t1, command_queue(slot, cb, q), k, dim, off, gws, lws, err,
                         CLT_LAUNCH_API_CMDBUF | CLT_LAUNCH_UNTIMED);
    return err;
}

#define CMD_NDRANGE_WRAPPER(i)                                                                             \
    static cl_int CL_API_CALL w_clCommandNDRangeKernelKHR_##i(CMD_NDRANGE_PARAMS)                          \
    {                                                                                                      \
        return cmd_ndrange(i, CMD_NDRANGE_ARGS);                                                           \
    }
CMD_NDRANGE_WRAPPER(0) CMD_NDRANGE_WRAPPER(1) CMD_NDRANGE_WRAPPER(2) CMD_NDRANGE_WRAPPER(3)
CMD_NDRANGE_WRAPPER(4) CMD_NDRANGE_WRAPPER(5) CMD_NDRANGE_WRAPPER(6) CMD_NDRANGE_WRAPPER(7)
static const clCommandNDRangeKernelKHR_fn cmd_ndrange_wrappers[CMD_NDRANGE_SLOTS] = {
    w_clCommandNDRangeKernelKHR_0, w_clCommandNDRangeKernelKHR_1, w_clCommandNDRangeKernelKHR_2,
    w_clCommandNDRangeKernelKHR_3, w_clCommandNDRangeKernelKHR_4, w_clCommandNDRangeKernelKHR_5,
    w_clCommandNDRangeKernelKHR_6, w_clCommandNDRangeKernelKHR_7,
};

/* The wrapper bound to real function fn (binding a free one, with `info`, the same vendor's
 * clGetCommandBufferInfoKHR), or NULL when all are taken. */
static void *wrap_cmd_ndrange(clCommandNDRangeKernelKHR_fn fn, clGetCommandBufferInfoKHR_fn info)
{
    for (int i = 0; i < CMD_NDRANGE_SLOTS; i++) {
        if (fn == cmd_ndrange_wrappers[i])
            return (void *)fn;                  /* already ours (looked up through us twice) */
    }
    for (int i = 0; i < CMD_NDRANGE_SLOTS; i++) {
        clCommandNDRangeKernelKHR_fn cur = __atomic_load_n(&real_cmd_ndrange[i], __ATOMIC_ACQUIRE);
        if ((!cur && __atomic_compare_exchange_n(&real_cmd_ndrange[i], &cur, fn, 0, __ATOMIC_ACQ_REL,
                                                 __ATOMIC_ACQUIRE)) ||
            cur == fn) {                        /* (a failed exchange left the winner in cur) */
            if (info)
                __atomic_store_n(&real_cb_info[i], info, __ATOMIC_RELEASE);
            return (void *)cmd_ndrange_wrappers[i];
        }
    }
    return NULL;
}

/* What a lookup returns to the app; `d`/`p` (p NULL: the lookup without platform) find other functions of
 * the same vendor, past our hooks. */
static void *ext_result(const char *name, void *fn, const struct _cl_icd_dispatch *d, cl_platform_id p)
{
    int wrapped = 0;
    if (fn && name && strcmp(name, "clCommandNDRangeKernelKHR") == 0) {
        static const char info_name[] = "clGetCommandBufferInfoKHR";
        void *info = p ? d->clGetExtensionFunctionAddressForPlatform(p, info_name)
                       : d->clGetExtensionFunctionAddress(info_name);
        void *w = wrap_cmd_ndrange((clCommandNDRangeKernelKHR_fn)fn, (clGetCommandBufferInfoKHR_fn)info);
        if (w) {
            fn = w;
            wrapped = 1;
        }
    }
    if (ON)
        clt_write_note(CLT_NOTE_EXT_LOOKUP, (uint64_t)wrapped, name);
    return fn;
}

static void *CL_API_CALL h_clGetExtensionFunctionAddress(const char *name)
{
    const struct _cl_icd_dispatch *d = clt_next_global();
    return ext_result(name, d ? d->clGetExtensionFunctionAddress(name) : NULL, d, NULL);
}

static void *CL_API_CALL h_clGetExtensionFunctionAddressForPlatform(cl_platform_id p, const char *name)
{
    const struct _cl_icd_dispatch *d = p ? NX(p) : clt_next_global();
    return ext_result(name, d ? d->clGetExtensionFunctionAddressForPlatform(p, name) : NULL, d, p);
}

/* ---- tables ---- */

#define CLT_HOOKS(X)                                                                                       \
    X(clEnqueueNDRangeKernel) X(clEnqueueTask) X(clCreateCommandQueue) X(clCreateCommandQueueWithProperties) \
    X(clGetCommandQueueInfo) X(clGetEventProfilingInfo) X(clFinish) X(clWaitForEvents)                     \
    X(clReleaseCommandQueue) X(clReleaseContext) X(clCreateProgramWithSource) X(clCreateProgramWithBinary)  \
    X(clCreateProgramWithIL) X(clBuildProgram) X(clCompileProgram) X(clLinkProgram) X(clCreateKernel)      \
    X(clCreateKernelsInProgram) X(clCloneKernel) X(clSetKernelArg) X(clCreateBuffer)                       \
    X(clCreateBufferWithProperties) X(clCreateSubBuffer) X(clReleaseMemObject)                             \
    X(clGetExtensionFunctionAddress) X(clGetExtensionFunctionAddressForPlatform)

void clt_hooks_fill(struct _cl_icd_dispatch *d, cl_uint n)
{
#define FILL(name)                                                                                         \
    if (offsetof(struct _cl_icd_dispatch, name) < n * sizeof(void *))                                      \
        d->name = h_##name;
    CLT_HOOKS(FILL)
#undef FILL
}

void *clt_hook_lookup(const char *name)
{
#define LOOK(fn)                                                                                           \
    if (strcmp(name, #fn) == 0)                                                                            \
        return (void *)h_##fn;
    CLT_HOOKS(LOOK)
#undef LOOK
    return NULL;
}

#ifdef CLT_MODE_PRELOAD
/* Export the hooks under the API names (preload library only). */
#define EXPORT(name) extern __typeof__(h_##name) name __attribute__((alias("h_" #name), visibility("default")));
CLT_HOOKS(EXPORT)
#undef EXPORT
#endif
