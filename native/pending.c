/* Launches whose device times are still to be read. A ring of (event, seq,
 * queue) in enqueue order under one mutex; OpenCL calls happen outside the
 * lock, on entries first claimed (removed) under it, so each launch gets
 * exactly one clt_launch_times record. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "clt.h"

struct pend { cl_event ev; uint64_t seq; cl_command_queue q; };

static struct {
    pthread_mutex_t lock;
    struct pend *ring;
    size_t cap;             /* power of two */
    uint64_t head, tail;    /* ring[head..tail) with holes (ev == NULL) */
    size_t live;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define BATCH 64

static void write_times(uint64_t seq, const cl_ulong t[4], cl_int status, uint32_t reason)
{
    uint32_t sz = clt_rec_size(sizeof(clt_launch_times), 0);
    clt_launch_times *r = clt_reserve(sz);
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

/* Read times of a claimed, complete entry; write them; drop our reference. */
static void harvest(cl_event ev, uint64_t seq, int release)
{
    static const cl_profiling_info what[4] = { CL_PROFILING_COMMAND_QUEUED, CL_PROFILING_COMMAND_SUBMIT,
                                               CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END };
    const struct _cl_icd_dispatch *d = clt_next(ev);
    cl_ulong t[4] = { 0, 0, 0, 0 };
    cl_int st = exec_status(ev), err = CL_SUCCESS;
    uint32_t reason = CLT_TIMES_OK;
    for (int i = 0; i < 4 && err == CL_SUCCESS; i++)
        err = d->clGetEventProfilingInfo(ev, what[i], sizeof t[i], &t[i], NULL);
    if (st < 0) {
        reason = CLT_TIMES_FAILED;
    } else if (err != CL_SUCCESS) {
        reason = CLT_TIMES_PROFILING_ERR;
        st = err;
    }
    write_times(seq, t, st, reason);
    if (release)
        d->clReleaseEvent(ev);
}

static void CL_CALLBACK on_complete(cl_event ev, cl_int status, void *user)
{
    harvest(ev, (uint64_t)(uintptr_t)user, 1);
}

/* Lock held. */
static void trim_head(void)
{
    while (P.head < P.tail && !P.ring[P.head & (P.cap - 1)].ev)
        P.head++;
}

static int grow(void)
{
    size_t ncap = P.cap ? P.cap * 2 : 1024, n = 0;
    struct pend *nr = malloc(ncap * sizeof *nr);
    if (!nr)
        return -1;
    for (uint64_t i = P.head; i < P.tail; i++) {
        struct pend *e = &P.ring[i & (P.cap - 1)];
        if (e->ev)
            nr[n++] = *e;
    }
    free(P.ring);
    P.ring = nr;
    P.cap = ncap;
    P.head = 0;
    P.tail = n;
    return 0;
}

/* Claim up to `max` entries (oldest first) matching q (NULL = any) into out. */
static size_t claim(struct pend *out, size_t max, cl_command_queue q)
{
    size_t n = 0;
    pthread_mutex_lock(&P.lock);
    for (uint64_t i = P.head; i < P.tail && n < max; i++) {
        struct pend *e = &P.ring[i & (P.cap - 1)];
        if (e->ev && (!q || e->q == q)) {
            out[n++] = *e;
            e->ev = NULL;
            P.live--;
        }
    }
    trim_head();
    pthread_mutex_unlock(&P.lock);
    return n;
}

/* Claim up to `max` complete entries, looking at no more than `look`
 * entries from ring position *pos on. The status is read under the lock: an
 * entry seen unlocked could be harvested (and its event released) by another
 * thread meanwhile. Returns how many entries were looked at. */
static size_t claim_complete(struct pend *out, size_t *nout, size_t look, uint64_t *pos)
{
    size_t seen = 0, n = 0;
    uint64_t i;
    pthread_mutex_lock(&P.lock);
    i = *pos < P.head || *pos > P.tail ? P.head : *pos;
    for (; i < P.tail && seen < look && n < BATCH; i++) {
        struct pend *e = &P.ring[i & (P.cap - 1)];
        if (!e->ev)
            continue;
        seen++;
        if (exec_status(e->ev) > CL_COMPLETE)
            continue;
        out[n++] = *e;
        e->ev = NULL;
        P.live--;
    }
    *pos = i;
    trim_head();
    pthread_mutex_unlock(&P.lock);
    *nout = n;
    return seen;
}

/* Poll up to `look` entries from *pos; harvest the complete ones. */
static size_t poll_from(uint64_t *pos, size_t look)
{
    struct pend b[BATCH];
    size_t n, seen = claim_complete(b, &n, look, pos);
    for (size_t i = 0; i < n; i++)
        harvest(b[i].ev, b[i].seq, 1);
    return seen;
}

void clt_pending_add(cl_event ev, uint64_t seq, cl_command_queue q)
{
    size_t live, maxp = (size_t)clt_opt.CLTRACE_MAX_PENDING;
    pthread_mutex_lock(&P.lock);
    if (P.tail - P.head >= P.cap && grow() != 0) {
        pthread_mutex_unlock(&P.lock);
        clt_next(ev)->clReleaseEvent(ev);
        return;
    }
    P.ring[P.tail++ & (P.cap - 1)] = (struct pend){ ev, seq, q };
    live = ++P.live;
    pthread_mutex_unlock(&P.lock);

    if (live > 4 * maxp) {
        /* Too many in flight: completion callbacks take over the oldest. */
        struct pend b[BATCH];
        size_t n = claim(b, BATCH, NULL);
        for (size_t i = 0; i < n; i++)
            if (clt_next(b[i].ev)->clSetEventCallback(b[i].ev, CL_COMPLETE, on_complete,
                                                      (void *)(uintptr_t)b[i].seq) != CL_SUCCESS)
                harvest(b[i].ev, b[i].seq, 1);
    } else if (live > maxp) {
        uint64_t pos = 0;
        poll_from(&pos, 8);
    }
}

void clt_pending_harvest_queue(cl_command_queue q)
{
    struct pend b[BATCH];
    size_t n;
    while ((n = claim(b, BATCH, q)) > 0)
        for (size_t i = 0; i < n; i++)
            harvest(b[i].ev, b[i].seq, 1);
}

void clt_pending_poll_all(void)
{
    uint64_t pos = 0;
    while (poll_from(&pos, BATCH) > 0)
        ;
}

void clt_pending_exit(void)
{
    struct pend b[BATCH];
    size_t n, left = 0;
    static const cl_ulong zero[4] = { 0, 0, 0, 0 };
    while ((n = claim(b, BATCH, NULL)) > 0) {
        for (size_t i = 0; i < n; i++) {
            cl_int st = exec_status(b[i].ev);
            if (st <= CL_COMPLETE) {
                harvest(b[i].ev, b[i].seq, 0);
            } else {
                write_times(b[i].seq, zero, st, CLT_TIMES_PENDING_EXIT);
                left++;
            }
        }
    }
    clt_write_note(CLT_NOTE_EXIT, left, "exit");
}

void clt_pending_atfork_child(void)
{
    /* The parent's events are not ours to touch in the child. */
    pthread_mutex_init(&P.lock, NULL);
    P.head = P.tail = 0;
    P.live = 0;
}
