/*
 * cltrace.h: in-process regions and tags for programs traced by cltrace.
 * Header only, no link-time dependency: the functions are looked up at run
 * time in the shim named by $CLTRACE_SHIM (set by `cltrace run`). Untraced,
 * every call is a test of one cached pointer.
 *
 *   cltrace_region_begin("L16", "channels=92,method=gemm");
 *   ... enqueue the layer's kernels ...
 *   cltrace_region_end();
 *
 * Regions nest per thread; each launch is attributed to the innermost region
 * open on its thread. Tags are comma-separated key=value pairs.
 * Needs dlopen (in libc since glibc 2.34; add -ldl on older systems).
 */
#ifndef CLTRACE_H
#define CLTRACE_H

#include <dlfcn.h>
#include <stdlib.h>

typedef void (*cltrace_begin_fn)(const char *name, const char *tags);
typedef void (*cltrace_end_fn)(void);

struct cltrace_api_ { int resolved; cltrace_begin_fn begin; cltrace_end_fn end; };

static struct cltrace_api_ cltrace_api_state_;

static inline struct cltrace_api_ *cltrace_api_(void)
{
    if (!cltrace_api_state_.resolved) {
        const char *path = getenv("CLTRACE_SHIM");
        void *h = (path && *path) ? dlopen(path, RTLD_LAZY | RTLD_LOCAL) : NULL;
        if (h) {
            cltrace_api_state_.begin = (cltrace_begin_fn)dlsym(h, "cltrace_region_begin_impl");
            cltrace_api_state_.end = (cltrace_end_fn)dlsym(h, "cltrace_region_end_impl");
        }
        cltrace_api_state_.resolved = 1;
    }
    return &cltrace_api_state_;
}

static inline void cltrace_region_begin(const char *name, const char *tags)
{
    struct cltrace_api_ *a = cltrace_api_();
    if (a->begin) a->begin(name, tags ? tags : "");
}

static inline void cltrace_region_end(void)
{
    struct cltrace_api_ *a = cltrace_api_();
    if (a->end) a->end();
}

#endif
