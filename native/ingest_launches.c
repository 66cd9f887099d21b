/* Launch records of one capture file -> launch_rows + dispatches, on the caller's
 * connection and transaction (see ingest_sqlite.c for why the caller's).
 *
 * The rows are produced by an eponymous virtual table, clt_launch_feed(src), and
 * written with one INSERT ... SELECT: SQLite then loops inside one statement
 * instead of a bind/step/reset round trip per row, which doubles the row rate.
 * The caller (cltrace/store/ingest.py) has already validated the file and hands
 * over record offsets in seq order plus the small, resolved handle tables
 * (clt_launch_src, declared in cltrace_store.h). The rules here mirror the
 * reference Python path (cltrace/store/ingest_py.py), which a test holds equal
 * to this one.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cltrace_format.h"
#include "cltrace_store.h"

#define CLT_EXPORT __attribute__((visibility("default")))
#define FEED "clt_launch_feed"
#define SRC_TYPE "clt_launch_src"

/* the shim's times reasons are stored as they are: the status codes below them are the same numbers */
_Static_assert((int)CLT_STATUS_OK == CLT_TIMES_OK && (int)CLT_STATUS_PROFILING_ERROR == CLT_TIMES_PROFILING_ERR &&
               (int)CLT_STATUS_FAILED == CLT_TIMES_FAILED && (int)CLT_STATUS_PENDING_AT_EXIT == CLT_TIMES_PENDING_EXIT,
               "launch_rows.status 0..3 are clt_launch_times.reason");
_Static_assert(CLT_API_TASK == CLT_LAUNCH_API_TASK >> 8 && CLT_API_COMMAND_BUFFER == CLT_LAUNCH_API_CMDBUF >> 8,
               "dispatches.api codes are the flags' api bits");

#define NAME_AT_(code, name, text) [code] = text,
static const char *const API_NAMES[CLT_API_COUNT] = {CLT_STORE_APIS(NAME_AT_)};
#undef NAME_AT_

/* ---- dispatch keys ------------------------------------------------------------ */

enum { KEY_WORDS = 17 };
typedef struct {
    int64_t w[KEY_WORDS];    /* kernel index, queue index, api, work_dim, off[3], global[3], local[3],
                                driver_local, arg_bytes, error, own_event */
} dkey;

typedef struct {
    dkey *keys;
    int64_t n, cap;
    int64_t *slots;          /* open addressing: index + 1, 0 empty */
    int64_t nslots;
} dtable;

static uint64_t key_hash(const dkey *k)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < KEY_WORDS; i++) {
        h ^= (uint64_t)k->w[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdULL;
    }
    return h ^ (h >> 33);
}

static int dtable_grow(dtable *t)
{
    int64_t ns = t->nslots ? t->nslots * 2 : 256;
    int64_t *slots = calloc((size_t)ns, sizeof *slots);
    if (!slots)
        return -1;
    for (int64_t i = 0; i < t->n; i++) {
        uint64_t s = key_hash(&t->keys[i]) & (uint64_t)(ns - 1);
        while (slots[s])
            s = (s + 1) & (uint64_t)(ns - 1);
        slots[s] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    return 0;
}

/* index of key k in t, adding it when new; -1 out of memory */
static int64_t dtable_intern(dtable *t, const dkey *k)
{
    if ((t->n + 1) * 2 > t->nslots && dtable_grow(t) != 0)
        return -1;
    uint64_t s = key_hash(k) & (uint64_t)(t->nslots - 1);
    while (t->slots[s]) {
        int64_t i = t->slots[s] - 1;
        if (memcmp(&t->keys[i], k, sizeof *k) == 0)
            return i;
        s = (s + 1) & (uint64_t)(t->nslots - 1);
    }
    if (t->n == t->cap) {
        int64_t nc = t->cap ? t->cap * 2 : 64;
        dkey *nk = realloc(t->keys, (size_t)nc * sizeof *nk);
        if (!nk)
            return -1;
        t->keys = nk;
        t->cap = nc;
    }
    t->keys[t->n] = *k;
    t->slots[s] = t->n + 1;
    return t->n++;
}

/* ---- as-of lookups ------------------------------------------------------------ */

/* index of the record with handle h and the greatest seq < seq, -1 none */
static int64_t asof(const uint64_t *handle, const uint64_t *seqs, int64_t n, uint64_t h, uint64_t seq)
{
    int64_t lo = 0, hi = n;     /* first index with (handle, seq) >= (h, seq) */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (handle[mid] < h || (handle[mid] == h && seqs[mid] < seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo > 0 && handle[lo - 1] == h) ? lo - 1 : -1;
}

/* index of the region mark in force on thread tid at seq (s->r_id of it: the innermost region open), -1 none */
static int64_t region_mark(const clt_launch_src *s, int64_t tid, uint64_t seq)
{
    int64_t lo = 0, hi = s->nr;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->r_tid[mid] < tid || (s->r_tid[mid] == tid && s->r_seq[mid] < seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo > 0 && s->r_tid[lo - 1] == tid) ? lo - 1 : -1;
}

/* ---- one launch ------------------------------------------------------------- */

enum { C_LAUNCH_ID, C_PROCESS_ID, C_DISPATCH_ID, C_SEQ, C_TID, C_REGION_ID, C_STATUS, C_ENQUEUE, C_RETURN,
       C_QUEUED, C_SUBMIT, C_START, C_END, C_SRC, NCOLS };

typedef struct {
    int64_t v[C_SRC];
    uint32_t null;           /* bit per column */
} row;

/* The launch record at off as a clt_launch (a clt_launch_small expanded). -1 when it does not fit. */
static int load_launch(const clt_launch_src *s, int64_t off, clt_launch *L)
{
    clt_record_header h;
    clt_launch_small S;
    if (off < 0 || off + (int64_t)sizeof h > s->size)
        return -1;
    memcpy(&h, s->data + off, sizeof h);
    if (h.type != CLT_REC_LAUNCH_SMALL) {
        if (off + (int64_t)sizeof *L > s->size)
            return -1;
        memcpy(L, s->data + off, sizeof *L);
        return 0;
    }
    if (off + (int64_t)sizeof S > s->size)
        return -1;
    memcpy(&S, s->data + off, sizeof S);
    memset(L, 0, sizeof *L);
    L->h = S.h;
    L->seq = S.seq;
    L->t_enqueue_ns = S.t_enqueue_ns;
    L->t_return_ns = S.t_enqueue_ns + S.return_dns;
    L->queue = S.queue;
    L->kernel = S.kernel;
    L->arg_bytes = S.arg_bytes;
    for (int d = 0; d < CLT_MAX_DIMS; d++) {
        L->global[d] = S.global[d];
        L->local[d] = S.local[d];
    }
    L->tid = S.tid;
    L->error = S.error;
    L->work_dim = (S.flags >> CLT_LAUNCH_DIM_SHIFT) & 0xFF;
    L->flags = S.flags & ((1u << CLT_LAUNCH_DIM_SHIFT) - 1);
    return 0;
}

static int make_row(clt_launch_src *s, dtable *dt, int64_t i, int64_t *last_k, int64_t *last_q, row *r,
                    char **err)
{
    clt_launch L;
    if (load_launch(s, s->launch_off[i], &L) != 0) {
        *err = sqlite3_mprintf("launch record %lld lies outside the capture", (long long)i);
        return SQLITE_CORRUPT;
    }
    dkey k;
    memset(&k, 0, sizeof k);
    /* launches mostly repeat the previous kernel/queue: check that record first */
    int64_t ki = *last_k;
    if (!(ki >= 0 && s->k_handle[ki] == L.kernel && s->k_seq[ki] < L.seq &&
          (ki + 1 >= s->nk || s->k_handle[ki + 1] != L.kernel || s->k_seq[ki + 1] >= L.seq)))
        ki = asof(s->k_handle, s->k_seq, s->nk, L.kernel, L.seq);
    int64_t qi = *last_q;
    if (!(qi >= 0 && s->q_handle[qi] == L.queue && s->q_seq[qi] < L.seq &&
          (qi + 1 >= s->nq || s->q_handle[qi + 1] != L.queue || s->q_seq[qi + 1] >= L.seq)))
        qi = asof(s->q_handle, s->q_seq, s->nq, L.queue, L.seq);
    *last_k = ki;
    *last_q = qi;
    int64_t api = (L.flags >> 8) & 0xFF;
    k.w[0] = ki;
    k.w[1] = qi;
    k.w[2] = api > CLT_API_UNKNOWN ? CLT_API_UNKNOWN : api;
    k.w[3] = (int64_t)L.work_dim;
    for (int d = 0; d < 3; d++) {
        k.w[4 + d] = (int64_t)L.offset[d];
        k.w[7 + d] = (int64_t)L.global[d];
        k.w[10 + d] = (int64_t)L.local[d];
    }
    k.w[13] = (L.flags & CLT_LAUNCH_LOCAL_NULL) != 0;
    k.w[14] = (int64_t)L.arg_bytes;
    k.w[15] = L.error;
    k.w[16] = (L.flags & CLT_LAUNCH_OWN_EVENT) != 0;
    int64_t di = dtable_intern(dt, &k);
    if (di < 0) {
        *err = sqlite3_mprintf("out of memory");
        return SQLITE_NOMEM;
    }

    memset(r, 0, sizeof *r);
    r->v[C_LAUNCH_ID] = s->first_launch_id + i;
    r->v[C_PROCESS_ID] = s->process_id;
    r->v[C_DISPATCH_ID] = s->first_dispatch_id + di;
    r->v[C_SEQ] = (int64_t)L.seq;
    r->v[C_TID] = L.tid;
    int64_t mark = region_mark(s, L.tid, L.seq);
    r->v[C_REGION_ID] = mark >= 0 ? s->r_id[mark] : -1;
    if (r->v[C_REGION_ID] < 0)
        r->null |= 1u << C_REGION_ID;
    r->v[C_ENQUEUE] = (int64_t)L.t_enqueue_ns;
    r->v[C_RETURN] = (int64_t)(L.t_return_ns - L.t_enqueue_ns);

    int64_t toff = s->times_off ? s->times_off[i] : CLT_NO_TIMES;
    int64_t status;
    clt_launch_times T;
    if (toff >= 0) {
        if (toff + (int64_t)sizeof(clt_launch_times) > s->size) {
            *err = sqlite3_mprintf("times record of launch %lld lies outside the capture", (long long)i);
            return SQLITE_CORRUPT;
        }
        memcpy(&T, s->data + toff, sizeof T);
        status = T.reason <= CLT_TIMES_PENDING_EXIT ? (int64_t)T.reason : CLT_STATUS_UNKNOWN;
    } else if (L.error != 0) {
        status = CLT_STATUS_FAILED;      /* an enqueue that returned an error ran nothing */
    } else {
        status = (L.flags & CLT_LAUNCH_UNTIMED) ? CLT_STATUS_UNTIMED
               : toff == CLT_NO_TIMES_PENDING_EXIT ? CLT_STATUS_PENDING_AT_EXIT : CLT_STATUS_MISSING;
    }
    r->v[C_STATUS] = status;
    if (status == CLT_STATUS_OK) {
        r->v[C_QUEUED] = (int64_t)T.queued_ns;
        r->v[C_SUBMIT] = (int64_t)(T.submit_ns - T.queued_ns);
        r->v[C_START] = (int64_t)(T.start_ns - T.submit_ns);
        r->v[C_END] = (int64_t)(T.end_ns - T.start_ns);
        /* summed as SQLite's SUM(end_dns) would (its integers are int64; wrapping is for damaged times only) */
        if (r->v[C_REGION_ID] >= 0) {
            if (s->r_sum_ns) {
                s->r_sum_ns[mark] = (int64_t)((uint64_t)s->r_sum_ns[mark] + (uint64_t)r->v[C_END]);
                s->r_timed[mark]++;
            }
        } else {
            s->none_sum_ns = (int64_t)((uint64_t)s->none_sum_ns + (uint64_t)r->v[C_END]);
            s->none_timed++;
        }
    } else {
        r->null |= (1u << C_QUEUED) | (1u << C_SUBMIT) | (1u << C_START) | (1u << C_END);
        s->untimed++;
    }
    return SQLITE_OK;
}

/* ---- the feed: an eponymous table-valued function ----------------------------- */

typedef struct {
    sqlite3_vtab base;
} feed_vtab;

typedef struct {
    sqlite3_vtab_cursor base;
    clt_launch_src *src;
    dtable *dt;
    int64_t i, last_k, last_q;
    row r;
} feed_cursor;

static int feed_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(launch_id, process_id, dispatch_id, seq, tid, region_id, "
                                      "status, enqueue_ns, return_dns, queued_ns, submit_dns, start_dns, end_dns, "
                                      "src HIDDEN)");
    if (rc != SQLITE_OK)
        return rc;
    feed_vtab *v = sqlite3_malloc(sizeof *v);
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    *out = &v->base;
    return SQLITE_OK;
}

static int feed_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

static int feed_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn == C_SRC && c->op == SQLITE_INDEX_CONSTRAINT_EQ && c->usable) {
            info->aConstraintUsage[i].argvIndex = 1;
            info->aConstraintUsage[i].omit = 1;
            info->estimatedCost = 1e6;
            return SQLITE_OK;
        }
    }
    return SQLITE_CONSTRAINT;   /* only usable as clt_launch_feed(?) */
}

static int feed_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    feed_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int feed_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

static int feed_fill(feed_cursor *c)
{
    if (c->i >= c->src->n)
        return SQLITE_OK;
    char *err = NULL;
    int rc = make_row(c->src, c->dt, c->i, &c->last_k, &c->last_q, &c->r, &err);
    if (rc != SQLITE_OK) {
        sqlite3_free(c->base.pVtab->zErrMsg);
        c->base.pVtab->zErrMsg = err;
    }
    return rc;
}

typedef struct {
    clt_launch_src *src;
    dtable *dt;
} feed_arg;

static int feed_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
    feed_cursor *c = (feed_cursor *)cur;
    feed_arg *a = argc == 1 ? sqlite3_value_pointer(argv[0], SRC_TYPE) : NULL;
    if (!a)
        return SQLITE_MISUSE;
    c->src = a->src;
    c->dt = a->dt;
    c->i = 0;
    /* the sums count each row once, however often SQLite starts the scan */
    c->src->untimed = c->src->none_sum_ns = c->src->none_timed = 0;
    if (c->src->r_sum_ns)
        for (int64_t i = 0; i < c->src->nr; i++)
            c->src->r_sum_ns[i] = c->src->r_timed[i] = 0;
    c->last_k = c->last_q = -1;
    return feed_fill(c);
}

static int feed_next(sqlite3_vtab_cursor *cur)
{
    feed_cursor *c = (feed_cursor *)cur;
    c->i++;
    return feed_fill(c);
}

static int feed_eof(sqlite3_vtab_cursor *cur)
{
    feed_cursor *c = (feed_cursor *)cur;
    return !c->src || c->i >= c->src->n;
}

static int feed_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    feed_cursor *c = (feed_cursor *)cur;
    if (col < 0 || col >= C_SRC || (c->r.null & (1u << col)))
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, c->r.v[col]);
    return SQLITE_OK;
}

static int feed_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = ((feed_cursor *)cur)->i;
    return SQLITE_OK;
}

static sqlite3_module feed_module = {
    .iVersion = 0,
    .xCreate = NULL,         /* eponymous only */
    .xConnect = feed_connect,
    .xBestIndex = feed_best_index,
    .xDisconnect = feed_disconnect,
    .xDestroy = feed_disconnect,
    .xOpen = feed_open,
    .xClose = feed_close,
    .xFilter = feed_filter,
    .xNext = feed_next,
    .xEof = feed_eof,
    .xColumn = feed_column,
    .xRowid = feed_rowid,
};

/* ---- entry point ------------------------------------------------------------ */

static void set_err(char *err, int errlen, const char *what, const char *msg)
{
    if (err && errlen > 0)
        snprintf(err, (size_t)errlen, "%s: %s", what, msg ? msg : "");
}

static const char INSERT_LAUNCHES[] =
    "INSERT INTO launch_rows (launch_id, process_id, dispatch_id, seq, tid, region_id, status, enqueue_ns, "
    "return_dns, queued_ns, submit_dns, start_dns, end_dns) SELECT * FROM " FEED "(?1)";

static int prepare_insert(sqlite3 *db, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(db, INSERT_LAUNCHES, -1, st, NULL);
    if (rc == SQLITE_OK)
        return rc;
    /* first use on this connection: register the feed, then try again */
    rc = sqlite3_create_module_v2(db, FEED, &feed_module, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    return sqlite3_prepare_v2(db, INSERT_LAUNCHES, -1, st, NULL);
}

static int insert_dispatches(sqlite3 *db, const clt_launch_src *s, const dtable *dt, char *err, int errlen)
{
    static const char sql[] =
        "INSERT INTO dispatches (dispatch_id, run_id, process_id, queue_id, device_id, kernel_id, kernel_name, "
        "api, work_dim, offset0, offset1, offset2, global0, global1, global2, local0, local1, local2, "
        "driver_local, work_groups, arg_bytes, error, own_event) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "dispatches", sqlite3_errmsg(db));
        return rc;
    }
    for (int64_t i = 0; i < dt->n && rc == SQLITE_OK; i++) {
        const int64_t *w = dt->keys[i].w;
        int64_t ki = w[0], qi = w[1], wd = w[3], driver_local = w[13];
        int p = 1;
        sqlite3_bind_int64(st, p++, s->first_dispatch_id + i);
        sqlite3_bind_int64(st, p++, s->run_id);
        sqlite3_bind_int64(st, p++, s->process_id);
        if (qi >= 0)
            sqlite3_bind_int64(st, p, s->q_id[qi]);
        p++;
        if (qi >= 0 && s->q_dev[qi] >= 0)
            sqlite3_bind_int64(st, p, s->q_dev[qi]);
        p++;
        if (ki >= 0)
            sqlite3_bind_int64(st, p, s->k_id[ki]);
        p++;
        if (ki >= 0 && s->k_name[ki] >= 0 && s->k_name[ki] < s->nnames && s->names[s->k_name[ki]])
            sqlite3_bind_text(st, p, s->names[s->k_name[ki]], -1, SQLITE_STATIC);
        p++;
        sqlite3_bind_text(st, p++, API_NAMES[w[2]], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, p++, wd);
        int used[3], known = !driver_local;
        uint64_t groups = 1;
        for (int d = 0; d < 3; d++) {
            used[d] = d < wd;
            if (used[d] && w[10 + d] <= 0)
                known = 0;
        }
        for (int d = 0; d < 3; d++, p++)
            if (used[d])
                sqlite3_bind_int64(st, p, w[4 + d]);
        for (int d = 0; d < 3; d++, p++)
            if (used[d])
                sqlite3_bind_int64(st, p, w[7 + d]);
        for (int d = 0; d < 3; d++, p++)
            if (used[d] && !driver_local)
                sqlite3_bind_int64(st, p, w[10 + d]);
        sqlite3_bind_int64(st, p++, driver_local);
        if (known && wd >= 1) {
            for (int d = 0; d < 3; d++) {
                if (!used[d])
                    continue;
                /* ceil(global / local) with numpy's floor-division semantics for wrapped (negative) sizes */
                int64_t g = w[7 + d], l = w[10 + d], q = g / l;
                if (g % l != 0 && g > 0)
                    q++;
                groups *= (uint64_t)q;
            }
            sqlite3_bind_int64(st, p, (int64_t)groups);
        }
        p++;
        if (w[14] != 0)
            sqlite3_bind_int64(st, p, w[14]);
        p++;
        sqlite3_bind_int64(st, p++, w[15]);
        sqlite3_bind_int64(st, p++, w[16]);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc != SQLITE_OK)
        set_err(err, errlen, "dispatches", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

CLT_EXPORT int clt_ingest_launches(sqlite3 *db, clt_launch_src *src, char *err, int errlen)
{
    dtable dt;
    memset(&dt, 0, sizeof dt);
    src->untimed = src->dispatches = src->none_sum_ns = src->none_timed = 0;
    sqlite3_stmt *st = NULL;
    int rc = prepare_insert(db, &st);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "launches", sqlite3_errmsg(db));
        return rc;
    }
    feed_arg arg = {src, &dt};
    sqlite3_bind_pointer(st, 1, &arg, SRC_TYPE, NULL);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        set_err(err, errlen, "launches", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        free(dt.keys);
        free(dt.slots);
        return rc == SQLITE_OK || rc == SQLITE_ROW ? SQLITE_ERROR : rc;
    }
    sqlite3_finalize(st);
    src->dispatches = dt.n;
    rc = insert_dispatches(db, src, &dt, err, errlen);
    free(dt.keys);
    free(dt.slots);
    return rc;
}
