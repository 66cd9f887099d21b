/* acl_compat: an OpenCL loader layer (cl_loader_layers) that lets Arm Compute Library 20.08 run on PoCL.
 *
 * Not part of cltrace. It exists only so that ACL-on-PoCL runs (./dev acl, docs/acl.md) work at all:
 *   - advertises cl_arm_non_uniform_work_group_size (ACL 20.08 refuses a device without it) and strips
 *     -cl-arm-non-uniform-work-group-size from build options (PoCL's clang does not know the option);
 *   - when ACL's local size does not divide its global size (legal on Mali with that extension, not on
 *     PoCL), launches with the largest local size that divides it, per dimension;
 *   - rewrites CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(x, 0) to (x, 1) in program sources (a % 0 that clang 15
 *     compiles to a trap; the offset stays zero);
 *   - with ACL_COMPAT_DEVICE_NAME set (e.g. Mali-G72), reports that CL_DEVICE_NAME, so that ACL picks the
 *     heuristics of that GPU (ACL chooses Midgard or Bifrost kernels from the device name).
 *
 * Load it as the layer closest to the driver: OPENCL_LAYERS=<cltrace layer>:<this layer> (ocl-icd puts the
 * first listed layer nearest the application). cltrace then records the launch ACL asked for, and this layer
 * alone changes what PoCL receives. ACL_COMPAT_LOG=1 prints what was changed, at exit, on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define CL_TARGET_OPENCL_VERSION 300
#define CL_USE_DEPRECATED_OPENCL_1_0_APIS
#define CL_USE_DEPRECATED_OPENCL_1_1_APIS
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl_layer.h>
#include "acl_compat_rewrite.h"

#define EXPORT __attribute__((visibility("default")))

static const struct _cl_icd_dispatch *next;
static struct _cl_icd_dispatch table;
static unsigned long n_launches, n_fitted, n_sources, n_options;

static void report(void)
{
    fprintf(stderr, "acl_compat: %lu of %lu launches ran with a local size fitted for PoCL; "
                    "%lu program sources and %lu build option strings rewritten\n",
            n_fitted, n_launches, n_sources, n_options);
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
    return next->clGetDeviceInfo(dev, name, size, value, size_ret);
}

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

static cl_int CL_API_CALL enqueue_nd_range(cl_command_queue q, cl_kernel k, cl_uint dims, const size_t *offset,
                                           const size_t *global, const size_t *local, cl_uint n_wait,
                                           const cl_event *wait, cl_event *ev)
{
    size_t fitted[3];
    __atomic_add_fetch(&n_launches, 1, __ATOMIC_RELAXED);
    if (local && global && dims >= 1 && dims <= 3 && acl_compat_fit_local(dims, global, local, fitted)) {
        __atomic_add_fetch(&n_fitted, 1, __ATOMIC_RELAXED);
        local = fitted;
    }
    return next->clEnqueueNDRangeKernel(q, k, dims, offset, global, local, n_wait, wait, ev);
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
        return copy_out("acl_compat (ACL 20.08 on PoCL)", size, value, size_ret);
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
    table.clCreateProgramWithSource = create_program;
    table.clBuildProgram = build_program;
    table.clCompileProgram = compile_program;
    table.clEnqueueNDRangeKernel = enqueue_nd_range;
    *layer = &table;
    *num_entries_ret = n;
    if (getenv("ACL_COMPAT_LOG") && strcmp(getenv("ACL_COMPAT_LOG"), "0") != 0)
        atexit(report);
    return CL_SUCCESS;
}
