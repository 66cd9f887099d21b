/* Shim start-up, fork/exit handling and the region API back-end. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "clt.h"

uint64_t clt_dropped(void);

const char *clt_mode = "";
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static const char *init_mode;
static int exit_registered;

__thread struct clt_thread clt_self CLT_TLS_MODEL;

void clt_chunk_forget(struct clt_thread *t);

void clt_thread_refresh(struct clt_thread *t)
{
    clt_chunk_forget(t);      /* a fork child's inherited mapping is the parent's */
    t->tid = (uint32_t)syscall(SYS_gettid);
    t->ak = NULL;
    t->gen = clt_generation;
}

static void atfork_child(void)
{
    clt_capture_atfork_child();
    clt_pending_atfork_child();
    clt_objects_atfork_child();
    /* the atexit entry and exit_registered are inherited as they are */
}

static void at_exit(void) { clt_exit_flush(); }

static void do_init(void)
{
    clt_options_load();
    if (clt_opt.CLTRACE_MODE[0])
        clt_mode = clt_opt.CLTRACE_MODE;
    else
        clt_mode = init_mode;
    clt_debug("init: mode=%s dir=%s timing=%d arg_bytes=%d chunk_kb=%ld max_pending=%ld%s", clt_mode,
              clt_opt.CLTRACE_DIR, clt_opt.CLTRACE_TIMING, clt_opt.CLTRACE_ARG_BYTES,
              clt_opt.CLTRACE_CHUNK_KB, clt_opt.CLTRACE_MAX_PENDING, clt_on ? "" : " (inert)");
    if (clt_on) {
        pthread_atfork(NULL, NULL, atfork_child);
        clt_capture_grow_fd_table();
    }
}

void clt_init(const char *mode)
{
    init_mode = mode;
    pthread_once(&init_once, do_init);
}

/* Registered lazily (first traced queue), so it runs before the driver's own
 * exit handlers and library destructors, which were registered earlier. */
void clt_register_exit(void)
{
    if (__atomic_exchange_n(&exit_registered, 1, __ATOMIC_ACQ_REL) == 0)
        atexit(at_exit);
}

void clt_exit_flush(void)
{
    static int done;
    uint64_t d;
    if (!clt_on || __atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL))
        return;
    clt_pending_exit();
    d = clt_dropped();
    if (d)
        clt_write_note(CLT_NOTE_DROPPED, d, "records dropped");
    clt_capture_exit();
}

/* ---- regions ---- */
#define REGION_DEPTH 64
static uint64_t region_ids;
static __thread struct { unsigned gen; int depth; uint64_t ids[REGION_DEPTH]; } rstack;

static void write_region(uint32_t kind, uint64_t id, const char *name, const char *tags)
{
    size_t m = clt_max_string();
    size_t nl = name ? strlen(name) : 0, tl = tags ? strlen(tags) : 0;
    uint32_t sz;
    clt_region *r;
    if (nl > m) nl = m;
    if (tl > m) tl = m;
    sz = clt_rec_size(sizeof(clt_region), nl + tl + 2);
    r = clt_reserve(sz);
    if (!r)
        return;
    r->seq = clt_next_seq();
    r->t_ns = clt_now();
    r->region_id = id;
    r->tid = clt_tid();
    r->kind = kind;
    r->len_name = (uint32_t)nl;
    r->len_tags = (uint32_t)tl;
    memcpy(r + 1, name ? name : "", nl);
    ((char *)(r + 1))[nl] = '\0';
    memcpy((char *)(r + 1) + nl + 1, tags ? tags : "", tl);
    ((char *)(r + 1))[nl + 1 + tl] = '\0';
    clt_commit(r, CLT_REC_REGION, sz);
}

CLT_EXPORT void cltrace_region_begin_impl(const char *name, const char *tags)
{
    uint64_t id;
    clt_init(init_mode ? init_mode : "");
    if (!clt_on)
        return;
    if (rstack.gen != clt_generation) {
        rstack.gen = clt_generation;
        rstack.depth = 0;
    }
    id = __atomic_add_fetch(&region_ids, 1, __ATOMIC_RELAXED);
    if (rstack.depth < REGION_DEPTH)
        rstack.ids[rstack.depth] = id;
    rstack.depth++;
    write_region(CLT_REGION_BEGIN, id, name, tags);
}

CLT_EXPORT void cltrace_region_end_impl(void)
{
    uint64_t id;
    if (!clt_on || rstack.gen != clt_generation || rstack.depth <= 0)
        return;
    rstack.depth--;
    if (rstack.depth >= REGION_DEPTH)
        return;     /* deeper than we track: its begin got an id but the end cannot be matched */
    id = rstack.ids[rstack.depth];
    write_region(CLT_REGION_END, id, "", "");
}
