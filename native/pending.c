/* Launches whose device times are still to be read: one ring of (event,
 * seq, queue) per launching thread, in that thread's enqueue order.
 *
 * The owning thread appends without a lock (it alone writes entries and
 * `tail`). Everything else -- claiming entries (any thread: clFinish(q) must
 * see launches of q made by other threads), moving `head`, growing the ring,
 * the list of rings -- happens under P.lock. A claimed entry is copied out and
 * its slot emptied (ev = NULL) under the lock; OpenCL calls happen outside the
 * lock, on claimed copies, so each launch gets exactly one clt_launch_times
 * record. The owner reuses a slot only once `head` (release-stored after the
 * claim) has passed it. Rings are never freed: a ring whose thread exited is
 * orphaned, its entries still claimable, and adopted by the next new thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "clt.h"

struct pend { cl_event ev; uint64_t seq; cl_command_queue q; };

struct ring {
    struct pend *buf;       /* buf[head..tail) with holes (ev == NULL) */
    size_t cap;             /* power of two; buf and cap change under lock, by the owner only */
    uint64_t head;          /* under lock; the owner reads it (acquire) */
    uint64_t tail;          /* written by the owner only (release) */
    struct ring *next;      /* P.rings list, under lock */
    int orphan;             /* owner thread gone: free for adoption */
};

static struct {
    pthread_mutex_t lock;
    struct ring *rings;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_key_t ring_key;
static pthread_once_t ring_once = PTHREAD_ONCE_INIT;

#define BATCH 64

static void write_times(struct clt_thread *th, uint64_t seq, const cl_ulong t[4], cl_int status, uint32_t reason)
{
    uint32_t sz = clt_rec_size(sizeof(clt_launch_times), 0);
    clt_launch_times *r = clt_reserve_t(th, sz);
    if (!r)
        return;
    r->seq = seq;
    r->queued_ns = t[0];
    r->submit_ns = t[1];
    r->start_ns = t[2];
    r->end_ns = t[3];
    r->status = status;
    r->reason = reason;
    clt_commit(r, CLT_REC_LAUNCH_TIMES, sz);
}

static cl_int exec_status(cl_event ev)
{
    cl_int st = CL_QUEUED;
    cl_int err = clt_next(ev)->clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof st, &st, NULL);
    return err == CL_SUCCESS ? st : err;
}

/* Read times of a claimed, complete entry; write them; drop our reference.
 * The profiling queries come first: they succeed only on a CL_COMPLETE
 * command (OpenCL: CL_PROFILING_INFO_NOT_AVAILABLE otherwise), so the
 * execution status is asked for only when one of them fails. */
static void harvest(struct clt_thread *th, cl_event ev, uint64_t seq, int release)
{
    const struct _cl_icd_dispatch *d = clt_next(ev);
    cl_ulong t[4] = { 0, 0, 0, 0 };
    cl_int st = CL_COMPLETE, err;
    uint32_t reason = CLT_TIMES_OK;
    /* in this order, up to the first failure */
    err = d->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_QUEUED, sizeof t[0], &t[0], NULL);
    if (err == CL_SUCCESS)
        err = d->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_SUBMIT, sizeof t[1], &t[1], NULL);
    if (err == CL_SUCCESS)
        err = d->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t[2], &t[2], NULL);
    if (err == CL_SUCCESS)
        err = d->clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t[3], &t[3], NULL);
    if (err != CL_SUCCESS) {
        st = exec_status(ev);
        if (st < 0) {
            reason = CLT_TIMES_FAILED;
        } else {
            reason = CLT_TIMES_PROFILING_ERR;
            st = err;
        }
    }
    write_times(th, seq, t, st, reason);
    if (release)
        d->clReleaseEvent(ev);
}

/* Launches handed to completion callbacks whose callback has not run yet: at exit they are still running
 * too, and the exit note counts them with the ring's (ingest marks every launch without times pending-at-exit
 * in a process that exited with nothing lost). */
static uint64_t in_callbacks;

static void CL_CALLBACK on_complete(cl_event ev, cl_int status, void *user)
{
    harvest(clt_thread(), ev, (uint64_t)(uintptr_t)user, 1);
    __atomic_sub_fetch(&in_callbacks, 1, __ATOMIC_RELAXED);
}

/* Where a multi-batch walk over all rings stands (entries are claimed in
 * batches so that the OpenCL calls run outside the lock). */
struct cursor { struct ring *r; uint64_t pos; int started; };

/* Lock held: drop the emptied slots at the front. */
static void trim_head(struct ring *r, uint64_t tail)
{
    uint64_t h = r->head;
    while (h < tail && !r->buf[h & (r->cap - 1)].ev)
        h++;
    if (h != r->head)
        __atomic_store_n(&r->head, h, __ATOMIC_RELEASE);
}

/* The claiming test: 0 leave, 1 claim. Lock held. */
typedef int (*claim_fn)(const struct pend *e, const void *arg);

/* Claim up to `max` entries passing `fn`, walking the rings from c on. */
static inline __attribute__((always_inline)) size_t claim_walk(struct pend *out, size_t max, struct cursor *c, claim_fn fn, const void *arg)
{
    size_t n = 0;
    pthread_mutex_lock(&P.lock);
    if (!c->started) {
        c->started = 1;
        c->r = P.rings;
        c->pos = 0;
    }
    for (; c->r; c->r = c->r->next, c->pos = 0) {
        struct ring *r = c->r;
        uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
        uint64_t i = c->pos > r->head ? c->pos : r->head;
        for (; i < tail && n < max; i++) {
            struct pend *e = &r->buf[i & (r->cap - 1)];
            if (e->ev && fn(e, arg)) {
                out[n++] = *e;
                e->ev = NULL;
            }
        }
        trim_head(r, tail);
        if (n == max) {
            c->pos = i;
            break;
        }
    }
    pthread_mutex_unlock(&P.lock);
    return n;
}

struct queue_sel { cl_command_queue q; uint64_t seq_below; };

/* Launches of q whose seq was taken before clFinish(q) was called: their
 * enqueue had returned, so clFinish covered them. (A launch of q made by
 * another thread meanwhile is left for a later harvest.) */
static int sel_queue(const struct pend *e, const void *arg)
{
    const struct queue_sel *s = arg;
    return e->q == s->q && e->seq < s->seq_below;
}

static int sel_any(const struct pend *e, const void *arg) { (void)e; (void)arg; return 1; }

/* The status is read under the lock: an entry seen unlocked could be
 * harvested (and its event released) by another thread meanwhile. */
static int sel_complete(const struct pend *e, const void *arg)
{
    (void)arg;
    return exec_status(e->ev) <= CL_COMPLETE;
}

static void ring_exit(void *r)
{
    pthread_mutex_lock(&P.lock);
    ((struct ring *)r)->orphan = 1;
    pthread_mutex_unlock(&P.lock);
}

static void ring_key_init(void) { pthread_key_create(&ring_key, ring_exit); }

/* This thread's ring: an orphan adopted, or a new one. NULL on no memory. */
static struct ring *ring_attach(struct clt_thread *th)
{
    struct ring *r;
    pthread_once(&ring_once, ring_key_init);
    pthread_mutex_lock(&P.lock);
    for (r = P.rings; r && !r->orphan; r = r->next)
        ;
    if (r) {
        r->orphan = 0;
    } else if ((r = calloc(1, sizeof *r)) != NULL) {
        r->next = P.rings;
        P.rings = r;
    }
    pthread_mutex_unlock(&P.lock);
    if (r) {
        th->ring = r;
        pthread_setspecific(ring_key, r);
    }
    return r;
}

/* Owner only, ring full: double it (under the lock: claimers read buf). */
static int ring_grow(struct ring *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 1024;
    struct pend *nb = malloc(ncap * sizeof *nb);
    if (!nb)
        return -1;
    pthread_mutex_lock(&P.lock);
    for (uint64_t i = r->head; i < r->tail; i++)
        nb[i & (ncap - 1)] = r->buf[i & (r->cap - 1)];
    free(r->buf);
    r->buf = nb;
    r->cap = ncap;
    pthread_mutex_unlock(&P.lock);
    return 0;
}

/* Harvest up to BATCH of this thread's complete launches, looking at no more
 * than `look` of its oldest live entries; with `in_order`, stop at the first
 * that is not complete. Returns how many were harvested; *busy = 1 when it
 * stopped at one that is not. */
static size_t harvest_complete(struct clt_thread *th, struct ring *r, size_t look, int in_order, int *busy)
{
    struct pend b[BATCH];
    size_t n = 0;
    pthread_mutex_lock(&P.lock);
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    for (uint64_t i = r->head; i < tail && look > 0 && n < BATCH; i++) {
        struct pend *e = &r->buf[i & (r->cap - 1)];
        if (!e->ev)
            continue;
        look--;
        if (exec_status(e->ev) > CL_COMPLETE) {
            if (!in_order)
                continue;
            *busy = 1;
            break;
        }
        b[n++] = *e;
        e->ev = NULL;
    }
    trim_head(r, tail);
    pthread_mutex_unlock(&P.lock);
    for (size_t i = 0; i < n; i++)
        harvest(th, b[i].ev, b[i].seq, 1);
    return n;
}

/* Look at no more than `look` of this thread's oldest entries; harvest the complete ones. */
static void poll_mine(struct clt_thread *th, struct ring *r, size_t look)
{
    int busy = 0;
    harvest_complete(th, r, look, 0, &busy);
}

/* Too many in flight: completion callbacks take over this thread's oldest. */
static void hand_to_callbacks(struct clt_thread *th, struct ring *r)
{
    struct pend b[BATCH];
    size_t n = 0;
    pthread_mutex_lock(&P.lock);
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    for (uint64_t i = r->head; i < tail && n < BATCH; i++) {
        struct pend *e = &r->buf[i & (r->cap - 1)];
        if (e->ev) {
            b[n++] = *e;
            e->ev = NULL;
        }
    }
    trim_head(r, tail);
    pthread_mutex_unlock(&P.lock);
    for (size_t i = 0; i < n; i++) {
        __atomic_add_fetch(&in_callbacks, 1, __ATOMIC_RELAXED);     /* before: the callback may run at once */
        if (clt_next(b[i].ev)->clSetEventCallback(b[i].ev, CL_COMPLETE, on_complete,
                                                  (void *)(uintptr_t)b[i].seq) != CL_SUCCESS) {
            __atomic_sub_fetch(&in_callbacks, 1, __ATOMIC_RELAXED);
            harvest(th, b[i].ev, b[i].seq, 1);
        }
    }
}

void clt_pending_add(struct clt_thread *th, cl_event ev, uint64_t seq, cl_command_queue q)
{
    struct ring *r = th->ring;
    uint64_t tail, live;
    size_t maxp;
    if (__builtin_expect(!r, 0) && !(r = ring_attach(th))) {
        clt_next(ev)->clReleaseEvent(ev);
        return;
    }
    tail = r->tail;
    live = tail - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (__builtin_expect(live >= r->cap, 0) && ring_grow(r) != 0) {
        clt_next(ev)->clReleaseEvent(ev);
        return;
    }
    r->buf[tail & (r->cap - 1)] = (struct pend){ ev, seq, q };
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);

    maxp = (size_t)clt_opt.CLTRACE_MAX_PENDING;
    if (__builtin_expect(live >= maxp, 0)) {
        if (live >= 4 * maxp)
            hand_to_callbacks(th, r);
        else
            poll_mine(th, r, 8);
    }
}

/* Before the app blocks (clFinish, clWaitForEvents): harvest this thread's
 * oldest launches that have completed, in enqueue order, stopping at the
 * first that has not. The device keeps working on the rest meanwhile, so
 * these reads overlap with it instead of all following the wait. The newest
 * launch is left to the wait: it was just enqueued, so polling it would
 * almost never find it complete, and in a program that waits after every
 * launch it would cost a lock and a status query (contending with the
 * driver's threads for that very event) at every wait for nothing. The
 * completion test is the execution status (read under the lock, as in
 * sel_complete), not a profiling query: not every driver refuses profiling
 * info before CL_COMPLETE. */
void clt_pending_harvest_ready(struct clt_thread *th)
{
    struct ring *r = th->ring;
    int busy = 0;
    size_t look, n;
    if (!r)
        return;
    look = (size_t)(r->tail - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE));   /* the owner: tail is ours */
    if (look < 2)
        return;
    look--;                 /* live entries older than the newest, at most (holes make it fewer) */
    while ((n = harvest_complete(th, r, look, 1, &busy)) == BATCH && !busy && look > n)
        look -= n;
}

uint64_t clt_pending_mark(void) { return __atomic_load_n(&clt_seq_counter, __ATOMIC_ACQUIRE) + 1; }

void clt_pending_harvest_queue(cl_command_queue q, uint64_t mark)
{
    struct clt_thread *th = clt_thread();
    struct pend b[BATCH];
    struct cursor c = { NULL, 0, 0 };
    struct queue_sel sel = { q, mark };
    size_t n;
    do {
        n = claim_walk(b, BATCH, &c, sel_queue, &sel);
        for (size_t i = 0; i < n; i++)
            harvest(th, b[i].ev, b[i].seq, 1);
    } while (n == BATCH);
}

void clt_pending_poll_all(void)
{
    struct clt_thread *th = clt_thread();
    struct pend b[BATCH];
    struct cursor c = { NULL, 0, 0 };
    size_t n;
    do {
        n = claim_walk(b, BATCH, &c, sel_complete, NULL);
        for (size_t i = 0; i < n; i++)
            harvest(th, b[i].ev, b[i].seq, 1);
    } while (n == BATCH);
}

void clt_pending_exit(void)
{
    struct clt_thread *th = clt_thread();
    struct pend b[BATCH];
    struct cursor c = { NULL, 0, 0 };
    size_t n, left = 0;
    static const cl_ulong zero[4] = { 0, 0, 0, 0 };
    do {
        n = claim_walk(b, BATCH, &c, sel_any, NULL);
        for (size_t i = 0; i < n; i++) {
            cl_int st = exec_status(b[i].ev);
            if (st <= CL_COMPLETE) {
                harvest(th, b[i].ev, b[i].seq, 0);
            } else {
                write_times(th, b[i].seq, zero, st, CLT_TIMES_PENDING_EXIT);
                left++;
            }
        }
    } while (n == BATCH);
    clt_write_note(CLT_NOTE_EXIT, left + __atomic_load_n(&in_callbacks, __ATOMIC_RELAXED), "exit");
}

void clt_pending_atfork_child(void)
{
    /* The parent's events are not ours to touch in the child: empty every
     * ring; those of threads that do not exist here are free for adoption. */
    pthread_mutex_init(&P.lock, NULL);
    __atomic_store_n(&in_callbacks, 0, __ATOMIC_RELAXED);
    for (struct ring *r = P.rings; r; r = r->next) {
        r->head = r->tail;
        r->orphan = r != clt_self.ring;
    }
}
