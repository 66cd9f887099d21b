/* Internal declarations shared by the shim's translation units. */
#ifndef CLT_INTERNAL_H
#define CLT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <CL/cl_icd.h>
#include "cltrace_format.h"

#define CLT_HIDDEN __attribute__((visibility("hidden")))
#define CLT_EXPORT __attribute__((visibility("default")))

/* ---- options.c: one field per CLT_OPTION ---- */
typedef struct {
#define CLT_OPTION(name, kind, def, flag, help) CLT_OPT_TYPE_##kind name;
#define CLT_OPT_TYPE_STR const char *
#define CLT_OPT_TYPE_INT long
#define CLT_OPT_TYPE_BOOL int
#include "cltrace_options.def"
#undef CLT_OPTION
} clt_options;

extern clt_options clt_opt CLT_HIDDEN;
extern int clt_on CLT_HIDDEN;               /* CLTRACE_DIR set: trace; else inert */
void clt_options_load(void);
void clt_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- per-thread state (core.c): one TLS block, so a launch looks its
 * thread up only a few times. Valid while gen == clt_generation. ---- */
struct clt_thread {
    unsigned gen;             /* clt_generation the fields below belong to */
    uint32_t tid;             /* gettid */
    char *base;               /* capture.c: mapped chunk, NULL none */
    uint32_t off;             /* capture.c: next free byte in it */
    uint32_t ready;           /* capture.c: bytes of it faulted in (off <= ready <= chunk size) */
    const void *ak;           /* objects.c: clt_kernel_argbytes cache: kernel, */
    uint64_t ak_version;      /*   argument-table version seen, */
    uint64_t ak_sum;          /*   and its sum */
    void *ring;               /* pending.c: this thread's ring (kept across generations) */
    uint32_t prepared;        /* capture.c: ready == chunk size: clt_capture_prepare has nothing to do */
};
/* The preload library is always loaded at start-up, so its TLS is static and
 * initial-exec access is one instruction; the layer is dlopen'ed by the ICD
 * loader, where that could fail, so it keeps the dynamic model (and passes
 * the pointer down instead of looking it up again). */
#ifdef CLT_MODE_PRELOAD
#define CLT_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define CLT_TLS_MODEL
#endif
extern __thread struct clt_thread clt_self CLT_HIDDEN CLT_TLS_MODEL;
extern unsigned clt_generation CLT_HIDDEN;   /* bumped in a fork child */
void clt_thread_refresh(struct clt_thread *t);  /* gen is stale: start over */

static inline struct clt_thread *clt_thread(void)
{
    struct clt_thread *t = &clt_self;
    __asm__("" : "+r"(t));    /* keep the pointer: GCC would redo the TLS lookup after each call */
    if (__builtin_expect(t->gen != clt_generation, 0))
        clt_thread_refresh(t);
    return t;
}

/* ---- core.c ---- */
void clt_init(const char *mode);   /* idempotent; parses env */
extern const char *clt_mode;
static inline uint32_t clt_tid(void) { return clt_thread()->tid; }   /* cached gettid */
void clt_exit_flush(void);
void clt_register_exit(void);
uint64_t clt_dropped(void);

static inline uint64_t clt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- capture.c: records ---- */
extern uint64_t clt_seq_counter CLT_HIDDEN;
static inline uint64_t clt_next_seq(void)
{
    return __atomic_add_fetch(&clt_seq_counter, 1, __ATOMIC_RELAXED);
}
/* Reserve `size` bytes (multiple of 8) in this thread's chunk; NULL if the
 * capture cannot be written. Fill from byte 8 on, then clt_commit. The fast
 * path (room left in the current chunk) is inline. */
void *clt_reserve_slow(uint32_t size);
static inline void *clt_reserve_t(struct clt_thread *t, uint32_t size)
{
    if (__builtin_expect(t->gen == clt_generation && t->base && size <= t->ready - t->off, 1)) {
        char *r = t->base + t->off;
        t->off += size;
        return r;
    }
    return clt_reserve_slow(size);
}
static inline void *clt_reserve(uint32_t size) { return clt_reserve_t(&clt_self, size); }
/* Publish a filled record: its header word last (release), so a reader that
 * sees the header sees the whole record. */
static inline void clt_commit(void *rec, uint16_t type, uint32_t size)
{
    clt_record_header h = { .type = type, .reserved = 0, .size = size };
    uint64_t w;
    memcpy(&w, &h, sizeof w);
    __atomic_store_n((uint64_t *)rec, w, __ATOMIC_RELEASE);
}
/* Size of a record with `fixed` bytes plus strings (lengths incl. NUL), 8-aligned. */
/* The clGet*Info protocol: copy n bytes of src into the caller's buffer when it is big enough. */
static inline cl_int clt_return_info(const void *src, size_t n, size_t size, void *val, size_t *size_ret)
{
    if (val && size < n)
        return CL_INVALID_VALUE;
    if (val)
        memcpy(val, src, n);
    if (size_ret)
        *size_ret = n;
    return CL_SUCCESS;
}

static inline uint32_t clt_rec_size(size_t fixed, size_t strings)
{
    return (uint32_t)((fixed + strings + 7) & ~(size_t)7);
}
uint32_t clt_max_string(void);     /* longest single string a record may carry */
void clt_capture_atfork_child(void);
void clt_capture_exit(void);       /* end of the exit flush: marks the file header */
void clt_capture_grow_fd_table(void); /* at init: the table high_fd needs, grown while single-threaded */
/* Called before the app blocks: fault in the rest of t's chunk now, so that
 * the records written next do not pay for fresh pages. Inline test first: at
 * most syncs the chunk is ready already (and the capture's globals are cold). */
void clt_capture_prepare_slow(struct clt_thread *t);
static inline void clt_capture_prepare(struct clt_thread *t)
{
    if (!t->prepared)
        clt_capture_prepare_slow(t);
}

/* Record helpers (capture.c). Strings may be NULL. */
void clt_write_note(uint32_t code, uint64_t value, const char *msg);
void clt_write_process(void);

/* ---- next dispatch: implemented per mode (layer.c / preload.c) ----
 * clt_next(obj) is the table a hooked call forwards to. It runs several times
 * per launch, so its common case is one load inlined at each call site:
 * clt_fwd is published (release) once the table no longer depends on the
 * object -- layer: the loader's target table; preload: the real loader's
 * entry points. Until then (preload: before the first forwarded call, or for
 * good when no real loader is reachable) clt_next_slow decides per call. */
extern const struct _cl_icd_dispatch *clt_fwd CLT_HIDDEN;
const struct _cl_icd_dispatch *clt_next_slow(const void *obj);
static inline const struct _cl_icd_dispatch *clt_next(const void *obj)
{
    const struct _cl_icd_dispatch *d = __atomic_load_n(&clt_fwd, __ATOMIC_ACQUIRE);
    if (__builtin_expect(d != NULL, 1))
        return d;
    return clt_next_slow(obj);
}
/* Dispatch for calls with no object (clGetExtensionFunctionAddress). */
const struct _cl_icd_dispatch *clt_next_global(void);

/* ---- objects.c ---- */
void clt_mem_add(cl_mem m, uint64_t size);
uint64_t clt_mem_size(const void *m);      /* 0 when unknown */
void clt_mem_del(cl_mem m);
void clt_kernel_reset(cl_kernel k, cl_uint nargs);
void clt_kernel_clone(cl_kernel src, cl_kernel dst);
void clt_kernel_setarg(cl_kernel k, cl_uint idx, uint64_t bytes);
uint64_t clt_kernel_argbytes(struct clt_thread *t, cl_kernel k);
void clt_queue_add(cl_command_queue q, cl_command_queue_properties app, int forced,
                   const cl_queue_properties *app_array);
int clt_queue_lookup(cl_command_queue q, cl_command_queue_properties *app, int *forced,
                     cl_queue_properties *array, size_t *array_bytes);
void clt_queue_del(cl_command_queue q);
int clt_device_first_seen(cl_device_id d);  /* 1 the first time */
void clt_objects_atfork_child(void);

/* ---- pending.c ---- */
void clt_pending_add(struct clt_thread *t, cl_event ev, uint64_t seq, cl_command_queue q);
uint64_t clt_pending_mark(void);                     /* before clFinish(q) ... */
void clt_pending_harvest_queue(cl_command_queue q, uint64_t mark);  /* ... and after: launches of q
                                                      whose seq is below the mark */
void clt_pending_poll_all(void);                     /* non-blocking */
void clt_pending_harvest_ready(struct clt_thread *t); /* non-blocking: t's oldest launches, up to the
                                                      first one not complete */
void clt_pending_exit(void);                         /* at exit */
void clt_pending_atfork_child(void);

/* ---- records.c ---- */
void clt_write_device(cl_device_id dev);
void clt_write_queue(cl_command_queue q, cl_context ctx, cl_device_id dev, cl_command_queue_properties app,
                     cl_command_queue_properties used, cl_int err);
void clt_write_program(cl_program p, cl_context ctx, uint64_t t0, uint64_t t1, cl_int err, uint32_t kind,
                       const char *options);
void clt_write_kernel(cl_kernel k);
void clt_write_mem(cl_mem m, uint64_t size, cl_mem_flags flags);
uint64_t clt_write_launch(struct clt_thread *t, uint64_t t0, uint64_t t1, cl_command_queue q, cl_kernel k, cl_uint dim,
                          const size_t *off, const size_t *gws, const size_t *lws, cl_int err, uint32_t flags);

/* ---- hooks.c ---- */
void clt_hooks_fill(struct _cl_icd_dispatch *d, cl_uint n);  /* layer: put hooks in table */
void *clt_hook_lookup(const char *name);                      /* hook by API name, or NULL */

#endif
