/* Capture mode "preload": LD_PRELOAD'ed library exporting the hooked cl*
 * symbols. Forwards to, in order: $CLTRACE_REAL_LIBOPENCL, the next
 * definition (RTLD_NEXT) when it is not one of ours, else the dispatch table
 * of the call's first object (the ICD's own table: pyopencl's private loader). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include "clt.h"

static struct _cl_icd_dispatch real;
static int have_real;
const struct _cl_icd_dispatch *clt_fwd;      /* = &real once have_real (clt.h: clt_next) */

/* Marker looked up by the shadow library (and by us, to recognise our own). */
CLT_EXPORT const int cltrace_preload_marker = 1;
CLT_EXPORT void *cltrace_preload_lookup(const char *name) { return clt_hook_lookup(name); }

static int is_ours(void *handle)
{
    return dlsym(handle, "cltrace_shadow_marker") || dlsym(handle, "cltrace_preload_marker");
}

static int fill_from(void *h)
{
    if (!h || is_ours(h) || !dlsym(h, "clGetPlatformIDs"))
        return 0;
#define CLT_DISPATCH(name) real.name = (__typeof__(real.name))dlsym(h, #name);
#include "cl_entries.h"
#undef CLT_DISPATCH
    return 1;
}

/* A loaded libOpenCL* that is not ours (pyopencl's private loader), for calls without an object. */
static int find_loaded(struct dl_phdr_info *info, size_t size, void *data)
{
    const char *base = strrchr(info->dlpi_name, '/');
    void *h;
    base = base ? base + 1 : info->dlpi_name;
    if (strncmp(base, "libOpenCL", 9) != 0)
        return 0;
    h = dlopen(info->dlpi_name, RTLD_NOLOAD | RTLD_LAZY);
    if (h && fill_from(h)) {
        *(const char **)data = info->dlpi_name;
        return 1;
    }
    if (h)
        dlclose(h);
    return 0;
}

/* Resolved on the first forwarded call, not in the constructor: loading the
 * real libOpenCL.so.1 early would make a later dlopen("libOpenCL.so.1") by
 * the app match it by SONAME instead of finding the shadow library. */
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static int resolved;          /* set (release) when resolve() is done: skips pthread_once */

static inline void ensure_resolved(void);

static void resolve(void)
{
    const char *path, *how = "object dispatch tables";
    void *sym;
    Dl_info di;
    path = clt_opt.CLTRACE_REAL_LIBOPENCL;
    if (path[0] && fill_from(dlopen(path, RTLD_NOW | RTLD_LOCAL)))
        have_real = 1, how = path;
    else if ((sym = dlsym(RTLD_NEXT, "clGetPlatformIDs")) && dladdr(sym, &di) &&
             fill_from(dlopen(di.dli_fname, RTLD_NOLOAD | RTLD_LAZY)))
        have_real = 1, how = di.dli_fname;
    clt_debug("preload: forwarding to %s", how);
    if (have_real)
        __atomic_store_n(&clt_fwd, &real, __ATOMIC_RELEASE);
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
}

static inline void ensure_resolved(void)
{
    if (__builtin_expect(!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE), 0))
        pthread_once(&resolve_once, resolve);
}

__attribute__((constructor)) static void preload_init(void) { clt_init("preload"); }

/* clt_next's slow path: before the first forwarded call, and for good when no
 * real loader is reachable (then each object's own table). */
const struct _cl_icd_dispatch *clt_next_slow(const void *obj)
{
    ensure_resolved();
    if (have_real || !obj)
        return clt_next_global();
    return *(const struct _cl_icd_dispatch *const *)obj;
}

const struct _cl_icd_dispatch *clt_next_global(void)
{
    static int searched;
    ensure_resolved();
    if (!have_real && !__atomic_exchange_n(&searched, 1, __ATOMIC_ACQ_REL)) {
        const char *name = NULL;
        if (dl_iterate_phdr(find_loaded, &name)) {
            clt_debug("preload: calls without an object go to %s", name);
            __atomic_store_n(&have_real, 2, __ATOMIC_RELEASE);
            __atomic_store_n(&clt_fwd, &real, __ATOMIC_RELEASE);   /* as clt_next_slow does from now on */
        }
    }
    return &real;   /* all NULL when nothing was found: only reached with invalid (NULL) objects */
}
