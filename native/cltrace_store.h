/*
 * libcltrace_store.so <-> cltrace/store (cffi, ABI mode): the one declaration of what crosses.
 *
 * The C files of the library (ingest_sqlite.c, ingest_launches.c, column_collect.c) include this header, so
 * a definition that no longer matches its prototype here does not compile. The block between CFFI-BEGIN and
 * CFFI-END is fed verbatim to cffi.cdef() by cltrace/store/abi.py (keep it to plain typedefs, structs,
 * integer enums and prototypes): the Python side lays out clt_launch_src and calls the functions exactly
 * as they are declared here. A struct declared twice that drifted would be silent memory corruption.
 *
 * The stored codes are listed once, as X-macros: X(code, NAME, "text"). C expands them into enums and name
 * tables; cltrace/store/abi.py reads the same lines (one entry per line, as written below) into
 * STATUS_NAMES / API_NAMES. schema.sql and the schema migrations cannot include a header:
 * tests/unit/test_store_abi.py holds the `launches` view's CASE and the upgrade's CASE to these lists.
 */
#ifndef CLTRACE_STORE_H
#define CLTRACE_STORE_H

#include <stdint.h>

/* launch_rows.status, the `launches` view's times_status text. Codes 0..3 are the shim's own
 * clt_launch_times.reason (CLT_TIMES_*, cltrace_format.h), kept as they are; the others are what ingestion
 * concludes for a launch without a times record, and UNKNOWN (the last) stands for any reason this cltrace
 * does not know (a newer shim's). Codes are 0..n-1 in order. */
#define CLT_STORE_STATUSES(X) \
    X(0, CLT_STATUS_OK,              "ok")                /* device times read */                      \
    X(1, CLT_STATUS_PROFILING_ERROR, "profiling-error")   /* clGetEventProfilingInfo failed */         \
    X(2, CLT_STATUS_FAILED,          "failed")            /* the command, or its enqueue, failed */    \
    X(3, CLT_STATUS_PENDING_AT_EXIT, "pending-at-exit")   /* still running when the process exited */  \
    X(4, CLT_STATUS_MISSING,         "missing")           /* no times record, nothing says why */      \
    X(5, CLT_STATUS_UNTIMED,         "untimed")           /* CLT_LAUNCH_UNTIMED: no times will come */ \
    X(6, CLT_STATUS_UNKNOWN,         "unknown")           /* a times reason this cltrace does not know */

/* dispatches.api: bits 8..15 of clt_launch.flags (CLT_LAUNCH_API_* >> 8), a larger value stored as UNKNOWN
 * (the last). Codes are 0..n-1 in order. */
#define CLT_STORE_APIS(X) \
    X(0, CLT_API_NDRANGE,        "ndrange")        \
    X(1, CLT_API_TASK,           "task")           \
    X(2, CLT_API_COMMAND_BUFFER, "command_buffer") \
    X(3, CLT_API_UNKNOWN,        "unknown")

#define CLT_STORE_ENUM_(code, name, text) name = code,
enum { CLT_STORE_STATUSES(CLT_STORE_ENUM_) CLT_STATUS_COUNT };
enum { CLT_STORE_APIS(CLT_STORE_ENUM_) CLT_API_COUNT };
#undef CLT_STORE_ENUM_

/* CFFI-BEGIN */
/* clt_launch_src.times_off of a launch without a times record */
enum {
    CLT_NO_TIMES              = -1,   /* none */
    CLT_NO_TIMES_PENDING_EXIT = -2    /* none, and the process exited cleanly with nothing lost: still running */
};

typedef struct sqlite3 sqlite3;       /* the caller's connection (Python's sqlite3.Connection) */
typedef struct clt_scan clt_scan;     /* one clt_scan_run and its dictionaries */

/* One process's launches for clt_ingest_launches (filled by cltrace/store/fast.py). */
typedef struct {
    const uint8_t *data;
    int64_t size;
    int64_t n;                       /* launches */
    const int64_t *launch_off;       /* file offset of each launch record, seq order */
    const int64_t *times_off;        /* offset of its times record, or CLT_NO_TIMES* */
    int64_t nk;                      /* kernel records sorted by (handle, seq) */
    const uint64_t *k_handle, *k_seq;
    const int64_t *k_id, *k_name;    /* k_name: index into names, -1 none */
    int64_t nnames;
    const char *const *names;
    int64_t nq;                      /* queue records sorted by (handle, seq) */
    const uint64_t *q_handle, *q_seq;
    const int64_t *q_id, *q_dev;     /* q_dev: device_id, -1 unknown */
    int64_t nr;                      /* region marks sorted by (tid, seq): innermost region after seq */
    const int64_t *r_tid;
    const uint64_t *r_seq;
    const int64_t *r_id;             /* -1: none open */
    int64_t run_id, process_id, first_launch_id, first_dispatch_id;
    int64_t untimed, dispatches;     /* out */
    /* out, for the run's latency without a second pass over its rows (cltrace/store/queries.py): the summed
     * duration (end - start, launch_rows.end_dns) and the count of the timed launches that each region mark
     * r_id[i] gave their region (NULL: not wanted), and the same for the timed launches outside every region */
    int64_t *r_sum_ns, *r_timed;
    int64_t none_sum_ns, none_timed;
} clt_launch_src;

/* ingest_sqlite.c */
int clt_db_check(sqlite3 *db, const char *filename, int autocommit, int64_t total_changes);
clt_scan *clt_scan_new(void);
void clt_scan_free(clt_scan *sc);
int64_t clt_scan_nstrings(clt_scan *sc);
const char *clt_scan_string(clt_scan *sc, int64_t i);
int64_t clt_scan_ngroups(clt_scan *sc);
const int64_t *clt_scan_keys(clt_scan *sc);
const uint8_t *clt_scan_keynull(clt_scan *sc);
const char *clt_scan_error(clt_scan *sc);
int64_t clt_scan_run(clt_scan *sc, sqlite3 *db, const char *sql, const int64_t *params, int nparams,
                     const char *kinds, void **outs, uint8_t **nulls, int32_t *group, int64_t cap);
/* ingest_launches.c */
int clt_ingest_launches(sqlite3 *db, clt_launch_src *src, char *err, int errlen);
/* column_collect.c */
int64_t clt_collect_run(sqlite3 *db, const char *sql, const int64_t *params, int nparams, int ncols,
                        int64_t **outs, uint8_t **nulls, int64_t cap, char *err, int errlen);
/* CFFI-END */

#endif
