/* Records that describe OpenCL objects and launches, read through the next
 * dispatch (never through the app-visible entry points). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clt.h"

#define NX(obj) clt_next(obj)

/* A device info string, whole: in buf when it fits, else in memory from malloc (device recording is once per
 * device and process, never on the launch path). NULL when the query fails or gives no string. */
static char *device_string(const struct _cl_icd_dispatch *d, cl_device_id dev, cl_device_info what, char *buf,
                           size_t bufsize)
{
    size_t need = 0;
    char *p = buf;
    if (d->clGetDeviceInfo(dev, what, 0, NULL, &need) != CL_SUCCESS || need == 0 || need > (64u << 20))
        return NULL;
    if (need > bufsize && !(p = malloc(need)))
        return NULL;
    if (d->clGetDeviceInfo(dev, what, need, p, NULL) != CL_SUCCESS) {
        if (p != buf)
            free(p);
        return NULL;
    }
    p[need - 1] = '\0';
    return p;
}

/* Length of s as stored: at most the longest string a record may carry; a
 * longer one is cut and ends with a visible marker (written by put_cut). */
#define CUT_MARK_MAX 40
static size_t cut_len(size_t len)
{
    size_t m = clt_max_string();
    return len <= m ? len : m;
}

static void put_cut(char *dst, const char *s, size_t len)
{
    size_t stored = cut_len(len);
    if (stored == len) {
        memcpy(dst, s, len);
    } else {
        char mark[CUT_MARK_MAX];
        int n = snprintf(mark, sizeof mark, "...[cut: %zu bytes]", len);
        size_t keep = stored > (size_t)n ? stored - (size_t)n : 0;
        memcpy(dst, s, keep);
        memcpy(dst + keep, mark, stored - keep);
    }
    dst[stored] = '\0';
}

/* The device's OpenCL level (clt_device_cl), right after its clt_device record: the version strings, the
 * extensions and CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, each query through the next dispatch like the
 * others, its failure recorded as such (an OpenCL 1.x/2.x driver refuses the 3.0 query: unknown, not 0). */
static void clt_write_device_cl(const struct _cl_icd_dispatch *d, cl_device_id dev)
{
    char vbuf[256], cbuf[256], ebuf[2048];
    char *ver = device_string(d, dev, CL_DEVICE_VERSION, vbuf, sizeof vbuf);
    char *cver = device_string(d, dev, CL_DEVICE_OPENCL_C_VERSION, cbuf, sizeof cbuf);
    char *ext = device_string(d, dev, CL_DEVICE_EXTENSIONS, ebuf, sizeof ebuf);
    cl_bool nu = CL_FALSE;
    size_t nu_size = 0;
    uint32_t failed = 0, sz;
    size_t lv, lc, le;
    clt_device_cl *r;

    if (d->clGetDeviceInfo(dev, CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, sizeof nu, &nu, &nu_size) != CL_SUCCESS
            || nu_size != sizeof nu) {
        failed |= CLT_DEVCL_NO_NON_UNIFORM;
        nu = CL_FALSE;
    }
    failed |= (ver ? 0 : CLT_DEVCL_NO_VERSION) | (cver ? 0 : CLT_DEVCL_NO_C_VERSION) |
              (ext ? 0 : CLT_DEVCL_NO_EXTENSIONS);
    lv = ver ? strlen(ver) : 0, lc = cver ? strlen(cver) : 0, le = ext ? strlen(ext) : 0;
    sz = clt_rec_size(sizeof *r, cut_len(lv) + cut_len(lc) + cut_len(le) + 3);
    if ((r = clt_reserve(sz))) {
        char *s = (char *)(r + 1);
        r->seq = clt_next_seq();
        r->device = (uintptr_t)dev;
        r->failed = failed;
        r->non_uniform_wg = nu ? 1 : 0;
        r->len_version = (uint32_t)cut_len(lv);
        r->len_c_version = (uint32_t)cut_len(lc);
        r->len_extensions = (uint32_t)cut_len(le);
        r->pad = 0;
        put_cut(s, ver ? ver : "", lv), s += cut_len(lv) + 1;
        put_cut(s, cver ? cver : "", lc), s += cut_len(lc) + 1;
        put_cut(s, ext ? ext : "", le);
        clt_commit(r, CLT_REC_DEVICE_CL, sz);
    }
    if (ver && ver != vbuf)
        free(ver);
    if (cver && cver != cbuf)
        free(cver);
    if (ext && ext != ebuf)
        free(ext);
}

void clt_write_device(cl_device_id dev)
{
    const struct _cl_icd_dispatch *d = NX(dev);
    char name[256] = "", vendor[256] = "", driver[128] = "", plat[256] = "";
    cl_platform_id pid = NULL;
    cl_device_type type = 0;
    size_t wg = 0;
    cl_ulong gmem = 0;
    cl_uint cu = 0, mhz = 0;
    size_t ln, lv, ld, lp;
    uint32_t sz;
    clt_device *r;

    d->clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_VENDOR, sizeof vendor - 1, vendor, NULL);
    d->clGetDeviceInfo(dev, CL_DRIVER_VERSION, sizeof driver - 1, driver, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof pid, &pid, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    d->clGetDeviceInfo(dev, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL);
    if (pid)
        NX(pid)->clGetPlatformInfo(pid, CL_PLATFORM_NAME, sizeof plat - 1, plat, NULL);
    ln = strlen(name), lv = strlen(vendor), ld = strlen(driver), lp = strlen(plat);
    sz = clt_rec_size(sizeof *r, ln + lv + ld + lp + 4);
    if (!(r = clt_reserve(sz)))
        return;
    r->seq = clt_next_seq();
    r->device = (uintptr_t)dev;
    r->platform = (uintptr_t)pid;
    r->device_type = type;
    r->max_work_group_size = wg;
    r->global_mem_size = gmem;
    r->compute_units = cu;
    r->max_clock_mhz = mhz;
    r->len_name = (uint32_t)ln, r->len_vendor = (uint32_t)lv;
    r->len_driver = (uint32_t)ld, r->len_platform = (uint32_t)lp;
    char *s = (char *)(r + 1);
    memcpy(s, name, ln + 1), s += ln + 1;
    memcpy(s, vendor, lv + 1), s += lv + 1;
    memcpy(s, driver, ld + 1), s += ld + 1;
    memcpy(s, plat, lp + 1);
    clt_commit(r, CLT_REC_DEVICE, sz);
    clt_write_device_cl(d, dev);
}

void clt_write_queue(cl_command_queue q, cl_context ctx, cl_device_id dev,
                        cl_command_queue_properties app, cl_command_queue_properties used, cl_int err)
{
    uint32_t sz = clt_rec_size(sizeof(clt_queue), 0);
    clt_queue *r;
    clt_register_exit();
    if (dev && clt_device_first_seen(dev))
        clt_write_device(dev);
    if (!(r = clt_reserve(sz)))
        return;
    r->seq = clt_next_seq();
    r->t_ns = clt_now();
    r->queue = (uintptr_t)q;
    r->context = (uintptr_t)ctx;
    r->device = (uintptr_t)dev;
    r->app_properties = app;
    r->used_properties = used;
    r->error = err;
    clt_commit(r, CLT_REC_QUEUE, sz);
}

void clt_write_program(cl_program p, cl_context ctx, uint64_t t0, uint64_t t1, cl_int err,
                          uint32_t kind, const char *options)
{
    size_t lo = options ? strlen(options) : 0;
    uint32_t sz;
    clt_program *r;
    if (lo > clt_max_string())
        lo = clt_max_string();
    if (!ctx && p)
        NX(p)->clGetProgramInfo(p, CL_PROGRAM_CONTEXT, sizeof ctx, &ctx, NULL);
    sz = clt_rec_size(sizeof *r, lo + 1);
    if (!(r = clt_reserve(sz)))
        return;
    r->seq = clt_next_seq();
    r->program = (uintptr_t)p;
    r->context = (uintptr_t)ctx;
    r->t_start_ns = t0;
    r->t_end_ns = t1;
    r->error = err;
    r->kind = kind;
    r->len_options = (uint32_t)lo;
    memcpy(r + 1, options ? options : "", lo);
    ((char *)(r + 1))[lo] = '\0';
    clt_commit(r, CLT_REC_PROGRAM, sz);
}

/* A kernel info string, whole: in buf when it fits, else in memory from malloc
 * (kernel creation is not the launch path); "" when the driver gives none. */
static char *kernel_string(const struct _cl_icd_dispatch *d, cl_kernel k, cl_kernel_info what, char *buf,
                           size_t bufsize)
{
    size_t need = 0;
    char *p = buf;
    buf[0] = '\0';
    if (d->clGetKernelInfo(k, what, 0, NULL, &need) != CL_SUCCESS || need == 0)
        return buf;
    if (need > bufsize && !(p = malloc(need + 1)))
        return buf;
    if (d->clGetKernelInfo(k, what, need, p, NULL) != CL_SUCCESS)
        p[0] = '\0';
    p[need - 1] = '\0';
    return p;
}

void clt_write_kernel(cl_kernel k)
{
    const struct _cl_icd_dispatch *d = NX(k);
    char name_buf[256], attrs_buf[512];
    char *name, *attrs;
    cl_program prog = NULL;
    cl_device_id devs[16];
    size_t devbytes = 0, wg = 0, mult = 0, ln, la;
    cl_uint nargs = 0;
    uint32_t sz;
    clt_kernel *r;

    name = kernel_string(d, k, CL_KERNEL_FUNCTION_NAME, name_buf, sizeof name_buf);
    attrs = kernel_string(d, k, CL_KERNEL_ATTRIBUTES, attrs_buf, sizeof attrs_buf);
    d->clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof nargs, &nargs, NULL);
    d->clGetKernelInfo(k, CL_KERNEL_PROGRAM, sizeof prog, &prog, NULL);
    if (prog && NX(prog)->clGetProgramInfo(prog, CL_PROGRAM_DEVICES, sizeof devs, devs, &devbytes) ==
                    CL_SUCCESS && devbytes >= sizeof devs[0]) {
        d->clGetKernelWorkGroupInfo(k, devs[0], CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
        d->clGetKernelWorkGroupInfo(k, devs[0], CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                    sizeof mult, &mult, NULL);
    }
    clt_kernel_reset(k, nargs);
    ln = strlen(name), la = strlen(attrs);
    sz = clt_rec_size(sizeof *r, cut_len(ln) + cut_len(la) + 2);
    if (!(r = clt_reserve(sz)))
        goto out;
    r->seq = clt_next_seq();
    r->kernel = (uintptr_t)k;
    r->program = (uintptr_t)prog;
    r->work_group_size = wg;
    r->preferred_multiple = mult;
    r->num_args = nargs;
    r->len_name = (uint32_t)cut_len(ln);
    r->len_attributes = (uint32_t)cut_len(la);
    put_cut((char *)(r + 1), name, ln);
    put_cut((char *)(r + 1) + cut_len(ln) + 1, attrs, la);
    clt_commit(r, CLT_REC_KERNEL, sz);
out:
    if (name != name_buf)
        free(name);
    if (attrs != attrs_buf)
        free(attrs);
}

void clt_write_mem(cl_mem m, uint64_t size, cl_mem_flags flags)
{
    uint32_t sz = clt_rec_size(sizeof(clt_mem), 0);
    clt_mem *r;
    if (!m)
        return;
    clt_mem_add(m, size);
    if (!(r = clt_reserve(sz)))
        return;
    r->seq = clt_next_seq();
    r->mem = (uintptr_t)m;
    r->size = size;
    r->flags = flags;
    clt_commit(r, CLT_REC_MEM, sz);
}

/* ---- launches ---- */

/* dst[0..2] = the first `dim` of src, zeros after (all zeros when src is NULL). */
static inline void put_dims(uint64_t dst[CLT_MAX_DIMS], const size_t *src, cl_uint dim)
{
    if (!src)
        dim = 0;
    dst[0] = dim > 0 ? src[0] : 0;
    dst[1] = dim > 1 ? src[1] : 0;
    dst[2] = dim > 2 ? src[2] : 0;
}

/* The launch fits a clt_launch_small: no offset but 0, every size and the call's duration below 2^32. */
static inline int fits_small(uint64_t t0, uint64_t t1, cl_uint dim, const size_t *off, const size_t *gws,
                             const size_t *lws)
{
    if (dim > CLT_MAX_DIMS || t1 - t0 > UINT32_MAX)
        return 0;
    for (cl_uint d = 0; d < dim; d++) {
        if ((off && off[d]) || (gws && gws[d] > UINT32_MAX) || (lws && lws[d] > UINT32_MAX))
            return 0;
    }
    return 1;
}

static inline void put_dims32(uint32_t dst[CLT_MAX_DIMS], const size_t *src, cl_uint dim)
{
    if (!src)
        dim = 0;
    dst[0] = dim > 0 ? (uint32_t)src[0] : 0;
    dst[1] = dim > 1 ? (uint32_t)src[1] : 0;
    dst[2] = dim > 2 ? (uint32_t)src[2] : 0;
}

/* The fields both launch records share. */
#define PUT_LAUNCH_COMMON(r)                                                                               \
    do {                                                                                                   \
        (r)->seq = seq;                                                                                    \
        (r)->t_enqueue_ns = t0;                                                                            \
        (r)->queue = (uintptr_t)q;                                                                         \
        (r)->kernel = (uintptr_t)k;                                                                        \
        (r)->arg_bytes = clt_opt.CLTRACE_ARG_BYTES ? clt_kernel_argbytes(t, k) : 0;                        \
        (r)->tid = t->tid;                                                                                 \
        (r)->error = err;                                                                                  \
    } while (0)

uint64_t clt_write_launch(struct clt_thread *t, uint64_t t0, uint64_t t1, cl_command_queue q, cl_kernel k, cl_uint dim,
                             const size_t *off, const size_t *gws, const size_t *lws, cl_int err,
                             uint32_t flags)
{
    uint64_t seq;
    if (!lws)
        flags |= CLT_LAUNCH_LOCAL_NULL;
    if (!off)
        flags |= CLT_LAUNCH_OFFSET_NULL;
    if (__builtin_expect(fits_small(t0, t1, dim, off, gws, lws), 1)) {
        uint32_t sz = clt_rec_size(sizeof(clt_launch_small), 0);
        clt_launch_small *r = clt_reserve_t(t, sz);
        seq = clt_next_seq();
        if (!r)
            return seq;
        PUT_LAUNCH_COMMON(r);
        r->return_dns = (uint32_t)(t1 - t0);
        put_dims32(r->global, gws, dim);
        put_dims32(r->local, lws, dim);
        r->flags = flags | (uint32_t)dim << CLT_LAUNCH_DIM_SHIFT;
        clt_commit(r, CLT_REC_LAUNCH_SMALL, sz);
        return seq;
    }
    uint32_t sz = clt_rec_size(sizeof(clt_launch), 0);
    clt_launch *r = clt_reserve_t(t, sz);
    seq = clt_next_seq();
    if (!r)
        return seq;
    PUT_LAUNCH_COMMON(r);
    r->t_return_ns = t1;
    put_dims(r->offset, off, dim);
    put_dims(r->global, gws, dim);
    put_dims(r->local, lws, dim);
    r->work_dim = dim;
    r->flags = flags;
    clt_commit(r, CLT_REC_LAUNCH, sz);
    return seq;
}

