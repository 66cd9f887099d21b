/* libcltrace_store.so: integer columns of a table read inside SQLite's own
 * loop. A query `SELECT clt_collect(?, rowid, c1, c2, ...) FROM t WHERE ...`
 * runs an aggregate whose step writes each row's values straight into the
 * caller's arrays: one sqlite3_step for the whole scan instead of one per row,
 * and no per-column API calls (each of which takes the connection's mutex).
 * That is about twice as fast as stepping the rows out (ingest_sqlite.c's scan).
 *
 * An aggregate sees rows in the order the scan makes them, which for a rowid
 * table without an index to use is rowid order; the step checks that and the
 * caller falls back to an ORDER BY scan in the rare case it is not.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cltrace_store.h"

#define CLT_EXPORT __attribute__((visibility("default")))
#define COLLECT_PTR "cltrace_collect"

enum { COLLECT_OK, COLLECT_OVERFLOW, COLLECT_UNORDERED, COLLECT_BADTYPE, COLLECT_ARGS };

typedef struct {
    int ncols;
    int64_t cap, n, last_rowid;
    int64_t **outs;
    uint8_t **nulls;
    int fail;
} clt_collect;

static void collect_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    clt_collect *c = argc > 0 ? sqlite3_value_pointer(argv[0], COLLECT_PTR) : NULL;
    if (!c || argc != c->ncols + 2) {
        if (c)
            c->fail = COLLECT_ARGS;
        sqlite3_result_error(ctx, "clt_collect: bad arguments", -1);
        return;
    }
    int64_t row = c->n, rowid = sqlite3_value_int64(argv[1]);
    if (row >= c->cap) {
        c->fail = COLLECT_OVERFLOW;
        sqlite3_result_error(ctx, "clt_collect: more rows than the given bound", -1);
        return;
    }
    if (row && rowid <= c->last_rowid) {
        c->fail = COLLECT_UNORDERED;
        sqlite3_result_error(ctx, "clt_collect: rows not in rowid order", -1);
        return;
    }
    c->last_rowid = rowid;
    for (int j = 0; j < c->ncols; j++) {
        sqlite3_value *v = argv[j + 2];
        switch (sqlite3_value_type(v)) {
        case SQLITE_NULL:
            c->outs[j][row] = 0;
            c->nulls[j][row] = 1;
            break;
        case SQLITE_INTEGER:
        case SQLITE_FLOAT:
            c->outs[j][row] = sqlite3_value_int64(v);
            c->nulls[j][row] = 0;
            break;
        default:
            c->fail = COLLECT_BADTYPE;
            sqlite3_result_error(ctx, "clt_collect: a value is neither integer nor NULL", -1);
            return;
        }
    }
    c->n = row + 1;
}

static void collect_final(sqlite3_context *ctx) { sqlite3_result_null(ctx); }

/* Run `sql` (its first parameter is the collector, then `params`) and fill
 * outs[j][row] / nulls[j][row] for its `ncols` columns. Returns the row count;
 * -1 SQLite error (message in err), -2 more than `cap` rows, -3 rows not in
 * rowid order, -4 a value that is not an integer. */
CLT_EXPORT int64_t clt_collect_run(sqlite3 *db, const char *sql, const int64_t *params, int nparams, int ncols,
                                   int64_t **outs, uint8_t **nulls, int64_t cap, char *err, int errlen)
{
    clt_collect c = { ncols, cap, 0, 0, outs, nulls, COLLECT_OK };
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_create_function_v2(db, "clt_collect", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL, NULL,
                                        collect_step, collect_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_pointer(st, 1, &c, COLLECT_PTR, NULL);
    for (int p = 0; rc == SQLITE_OK && p < nparams; p++)
        rc = sqlite3_bind_int64(st, p + 2, params[p]);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        snprintf(err, (size_t)errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_create_function_v2(db, "clt_collect", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL, NULL, NULL, NULL,
                               NULL);
    switch (c.fail) {
    case COLLECT_OVERFLOW: return -2;
    case COLLECT_UNORDERED: return -3;
    case COLLECT_BADTYPE: return -4;
    default: return rc == SQLITE_OK ? c.n : -1;
    }
}
