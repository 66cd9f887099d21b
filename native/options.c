/* CLTRACE_* environment controls, declared once in cltrace_options.def. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "clt.h"

clt_options clt_opt;
int clt_on;

static const char *opt_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v ? v : def;
}

static long opt_int(const char *name, const char *def)
{
    const char *v = getenv(name);
    char *end;
    long r;
    if (v && *v) {
        r = strtol(v, &end, 10);
        if (*end == '\0')
            return r;
    }
    return strtol(def, NULL, 10);
}

static int opt_bool(const char *name, const char *def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        v = def;
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
             strcasecmp(v, "off") == 0);
}

#define opt_STR opt_str
#define opt_INT opt_int
#define opt_BOOL opt_bool

void clt_options_load(void)
{
#define CLT_OPTION(name, kind, def, flag, help) clt_opt.name = opt_##kind(#name, def);
#include "cltrace_options.def"
#undef CLT_OPTION
    if (clt_opt.CLTRACE_CHUNK_KB < 4)
        clt_opt.CLTRACE_CHUNK_KB = 4;
    if (clt_opt.CLTRACE_MAX_PENDING < 16)
        clt_opt.CLTRACE_MAX_PENDING = 16;
    clt_on = clt_opt.CLTRACE_DIR[0] != '\0';
    /* setuid/setgid program (secure execution): never write files as its
     * effective user into a directory the caller chose. Inert, in every mode. */
    if (clt_on && getauxval(AT_SECURE)) {
        clt_on = 0;
        clt_opt.CLTRACE_DEBUG = 0;
    }
}

void clt_debug(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;
    if (!clt_opt.CLTRACE_DEBUG)
        return;
    n = snprintf(buf, sizeof buf, "cltrace[%d]: ", (int)getpid());
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(2, buf, (size_t)n) < 0) { /* nothing to do */ }
}
