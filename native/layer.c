/* Capture mode "layer": an OpenCL loader layer (cl_loader_layers; OPENCL_LAYERS).
 * The loader hands us the next dispatch table; we return a copy with the hooks. */
#include <string.h>
#include <CL/cl_layer.h>
#include "clt.h"

static const struct _cl_icd_dispatch *target;
static struct _cl_icd_dispatch layer_dispatch;

const struct _cl_icd_dispatch *clt_fwd;      /* = target once clInitLayer ran (clt.h: clt_next) */
const struct _cl_icd_dispatch *clt_next_slow(const void *obj) { (void)obj; return target; }
const struct _cl_icd_dispatch *clt_next_global(void) { return target; }

CLT_EXPORT cl_int CL_API_CALL clGetLayerInfo(cl_layer_info name, size_t size, void *val, size_t *size_ret)
{
    static const char lname[] = "cltrace";
    static const cl_layer_api_version ver = CL_LAYER_API_VERSION_100;
    const void *src;
    size_t n;
    switch (name) {
    case CL_LAYER_API_VERSION: src = &ver, n = sizeof ver; break;
    case CL_LAYER_NAME: src = lname, n = sizeof lname; break;
    default: return CL_INVALID_VALUE;
    }
    return clt_return_info(src, n, size, val, size_ret);
}

CLT_EXPORT cl_int CL_API_CALL clInitLayer(cl_uint num_entries, const cl_icd_dispatch *target_dispatch,
                                          cl_uint *num_entries_ret, const cl_icd_dispatch **layer_dispatch_ret)
{
    cl_uint n = num_entries;
    if (!target_dispatch || !num_entries_ret || !layer_dispatch_ret)
        return CL_INVALID_VALUE;
    if (n > sizeof layer_dispatch / sizeof(void *))
        n = sizeof layer_dispatch / sizeof(void *);
    clt_init("layer");
    target = target_dispatch;
    __atomic_store_n(&clt_fwd, target, __ATOMIC_RELEASE);
    memcpy(&layer_dispatch, target_dispatch, n * sizeof(void *));
    if (clt_on)               /* inert (no CLTRACE_DIR, or a setuid/setgid program): the table as given */
        clt_hooks_fill(&layer_dispatch, n);
    *layer_dispatch_ret = &layer_dispatch;
    *num_entries_ret = n;
    clt_debug("layer initialised: %u dispatch entries", n);
    return CL_SUCCESS;
}
