/* libcltrace_store.so: narrow column scans of the trace database here, the
 * launch ingest in ingest_launches.c. Both work on the *caller's* SQLite
 * connection (the sqlite3 handle of a Python sqlite3.Connection), so that
 * everything happens inside the caller's transaction or savepoint: atomicity is
 * the connection's, not ours.
 *
 * This library is loaded by the Python side only (cltrace/store/fast.py),
 * never into traced programs; it links libsqlite3 (the same libsqlite3.so.0
 * that Python's _sqlite3 module uses, so the handle is valid here).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cltrace_store.h"

#define CLT_EXPORT __attribute__((visibility("default")))

/* ---- connection check --------------------------------------------------------- */

CLT_EXPORT int clt_db_check(sqlite3 *db, const char *filename, int autocommit, int64_t total_changes)
{
    /* 1 if `db` looks like the connection the caller believes it is */
    const char *f = sqlite3_db_filename(db, "main");
    if (!f || !filename || strcmp(f, filename) != 0)
        return 0;
    if ((sqlite3_get_autocommit(db) != 0) != (autocommit != 0))
        return 0;
    if ((int64_t)sqlite3_total_changes(db) != total_changes)
        return 0;
    return 1;
}

/* ---- scan ----------------------------------------------------------------- */

/* Text values are interned into one dictionary per scan (codes 0..n-1); the
 * columns marked 'k' together form a group key, interned the same way (one
 * int32 group code per row, the distinct keys kept as int64 + null flags, text
 * key parts as dictionary codes). */
struct clt_scan {
    char **strs;
    int64_t nstr, capstr;
    int64_t *shash;          /* open addressing: index+1, 0 empty */
    int64_t shcap;
    int nkey;
    int64_t *keys;           /* ngroups * nkey */
    uint8_t *keynull;        /* ngroups * nkey */
    int64_t ngroups, capgroups;
    int64_t *ghash;
    int64_t ghcap;
    char err[512];
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static uint64_t str_hash(const unsigned char *s, int len)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < len; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static int grow_hash(int64_t **tab, int64_t *cap, int64_t used, uint64_t (*rehash)(clt_scan *, int64_t), clt_scan *sc)
{
    if (*tab && (used + 1) * 2 < *cap)
        return 0;
    int64_t ncap = *cap ? *cap * 2 : 1024;
    int64_t *nt = calloc((size_t)ncap, sizeof(int64_t));
    if (!nt)
        return -1;
    for (int64_t i = 0; i < used; i++) {
        uint64_t p = rehash(sc, i) & (uint64_t)(ncap - 1);
        while (nt[p])
            p = (p + 1) & (uint64_t)(ncap - 1);
        nt[p] = i + 1;
    }
    free(*tab);
    *tab = nt;
    *cap = ncap;
    return 0;
}

static uint64_t str_rehash(clt_scan *sc, int64_t i)
{
    return str_hash((const unsigned char *)sc->strs[i], (int)strlen(sc->strs[i]));
}

static uint64_t key_hash(const int64_t *k, const uint8_t *nl, int n)
{
    uint64_t h = 0x12345;
    for (int j = 0; j < n; j++)
        h = mix(h, nl[j] ? 0x5bd1e995ULL : (uint64_t)k[j]);
    return h;
}

static uint64_t key_rehash(clt_scan *sc, int64_t i)
{
    return key_hash(sc->keys + i * sc->nkey, sc->keynull + i * sc->nkey, sc->nkey);
}

static int64_t intern_str(clt_scan *sc, const unsigned char *s, int len)
{
    if (grow_hash(&sc->shash, &sc->shcap, sc->nstr, str_rehash, sc))
        return -1;
    uint64_t p = str_hash(s, len) & (uint64_t)(sc->shcap - 1);
    while (sc->shash[p]) {
        const char *o = sc->strs[sc->shash[p] - 1];
        if ((int)strlen(o) == len && memcmp(o, s, (size_t)len) == 0)
            return sc->shash[p] - 1;
        p = (p + 1) & (uint64_t)(sc->shcap - 1);
    }
    if (sc->nstr == sc->capstr) {
        int64_t nc = sc->capstr ? sc->capstr * 2 : 64;
        char **ns = realloc(sc->strs, (size_t)nc * sizeof(char *));
        if (!ns)
            return -1;
        sc->strs = ns;
        sc->capstr = nc;
    }
    char *copy = malloc((size_t)len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, (size_t)len);
    copy[len] = 0;
    sc->strs[sc->nstr] = copy;
    sc->shash[p] = sc->nstr + 1;
    return sc->nstr++;
}

static int64_t intern_key(clt_scan *sc, const int64_t *k, const uint8_t *nl)
{
    int n = sc->nkey;
    if (grow_hash(&sc->ghash, &sc->ghcap, sc->ngroups, key_rehash, sc))
        return -1;
    uint64_t p = key_hash(k, nl, n) & (uint64_t)(sc->ghcap - 1);
    while (sc->ghash[p]) {
        int64_t g = sc->ghash[p] - 1;
        const int64_t *gk = sc->keys + g * n;
        const uint8_t *gn = sc->keynull + g * n;
        int same = 1;
        for (int j = 0; j < n && same; j++)
            same = gn[j] == nl[j] && (nl[j] || gk[j] == k[j]);
        if (same)
            return g;
        p = (p + 1) & (uint64_t)(sc->ghcap - 1);
    }
    if (sc->ngroups == sc->capgroups) {
        int64_t nc = sc->capgroups ? sc->capgroups * 2 : 256;
        int64_t *nk = realloc(sc->keys, (size_t)(nc * n) * sizeof(int64_t));
        if (!nk)
            return -1;
        sc->keys = nk;
        uint8_t *nn = realloc(sc->keynull, (size_t)(nc * n));
        if (!nn)
            return -1;
        sc->keynull = nn;
        sc->capgroups = nc;
    }
    memcpy(sc->keys + sc->ngroups * n, k, (size_t)n * sizeof(int64_t));
    memcpy(sc->keynull + sc->ngroups * n, nl, (size_t)n);
    sc->ghash[p] = sc->ngroups + 1;
    return sc->ngroups++;
}

CLT_EXPORT clt_scan *clt_scan_new(void)
{
    return calloc(1, sizeof(clt_scan));
}

CLT_EXPORT void clt_scan_free(clt_scan *sc)
{
    if (!sc)
        return;
    for (int64_t i = 0; i < sc->nstr; i++)
        free(sc->strs[i]);
    free(sc->strs);
    free(sc->shash);
    free(sc->keys);
    free(sc->keynull);
    free(sc->ghash);
    free(sc);
}

CLT_EXPORT int64_t clt_scan_nstrings(clt_scan *sc) { return sc->nstr; }
CLT_EXPORT const char *clt_scan_string(clt_scan *sc, int64_t i) { return sc->strs[i]; }
CLT_EXPORT int64_t clt_scan_ngroups(clt_scan *sc) { return sc->ngroups; }
CLT_EXPORT const int64_t *clt_scan_keys(clt_scan *sc) { return sc->keys; }
CLT_EXPORT const uint8_t *clt_scan_keynull(clt_scan *sc) { return sc->keynull; }
CLT_EXPORT const char *clt_scan_error(clt_scan *sc) { return sc->err; }

/* Run `sql` (with int64 parameters `params`) and write its rows column by column.
 * kinds[c]: 'i' int64 into outs[c] (nulls[c][row] = 1 where NULL), 't' text as a
 * dictionary code into outs[c] (-1 = NULL), 'k' part of the group key (nothing
 * written per row; text parts interned), 'g' nothing (placeholder).  When any
 * 'k' column exists, `group` receives each row's group code.  At most `cap` rows
 * are written; returns the number of rows, -1 on error (clt_scan_error), -2 when
 * the result has more than `cap` rows. */
CLT_EXPORT int64_t clt_scan_run(clt_scan *sc, sqlite3 *db, const char *sql, const int64_t *params, int nparams,
                                const char *kinds, void **outs, uint8_t **nulls, int32_t *group, int64_t cap)
{
    sqlite3_stmt *st = NULL;
    int ncols = (int)strlen(kinds);
    int nkey = 0;
    for (int c = 0; c < ncols && c < 64; c++)
        nkey += kinds[c] == 'k';
    if (ncols > 64) {
        snprintf(sc->err, sizeof sc->err, "too many columns");
        return -1;
    }
    sc->nkey = nkey;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(sc->err, sizeof sc->err, "%s", sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_column_count(st) != ncols) {
        snprintf(sc->err, sizeof sc->err, "scan: %d result columns, %d kinds", sqlite3_column_count(st), ncols);
        sqlite3_finalize(st);
        return -1;
    }
    for (int p = 0; p < nparams; p++)
        sqlite3_bind_int64(st, p + 1, params[p]);
    int64_t row = 0;
    int64_t kv[64];
    uint8_t kn[64];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (row >= cap) {
            sqlite3_finalize(st);
            return -2;
        }
        int ki = 0;
        for (int c = 0; c < ncols; c++) {
            int t = sqlite3_column_type(st, c);
            switch (kinds[c]) {
            case 'i':
                if (t == SQLITE_NULL) {
                    ((int64_t *)outs[c])[row] = 0;
                    nulls[c][row] = 1;
                } else {
                    if (t != SQLITE_INTEGER && t != SQLITE_FLOAT)
                        goto badtype;
                    ((int64_t *)outs[c])[row] = sqlite3_column_int64(st, c);
                    nulls[c][row] = 0;
                }
                break;
            case 't':
            case 'k': {
                int64_t v = 0;
                uint8_t isnull = t == SQLITE_NULL;
                if (!isnull) {
                    if (t == SQLITE_TEXT) {
                        const unsigned char *s = sqlite3_column_text(st, c);
                        v = intern_str(sc, s, sqlite3_column_bytes(st, c));
                        if (v < 0)
                            goto nomem;
                    } else if (t == SQLITE_INTEGER && kinds[c] == 'k') {
                        v = sqlite3_column_int64(st, c);
                    } else {
                        goto badtype;
                    }
                }
                if (kinds[c] == 't') {
                    ((int64_t *)outs[c])[row] = isnull ? -1 : v;
                } else {
                    kv[ki] = v;
                    kn[ki] = isnull;
                    ki++;
                }
                break;
            }
            default:
                break;
            }
        }
        if (nkey) {
            int64_t g = intern_key(sc, kv, kn);
            if (g < 0)
                goto nomem;
            group[row] = (int32_t)g;
        }
        row++;
    }
    if (rc != SQLITE_DONE) {
        snprintf(sc->err, sizeof sc->err, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return row;
badtype:
    snprintf(sc->err, sizeof sc->err, "unexpected value type in result row %lld", (long long)row);
    sqlite3_finalize(st);
    return -1;
nomem:
    snprintf(sc->err, sizeof sc->err, "out of memory");
    sqlite3_finalize(st);
    return -1;
}
