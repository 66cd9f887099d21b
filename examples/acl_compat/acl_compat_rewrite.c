/* The pure rewrites of the ACL-on-PoCL compatibility layer (acl_compat_layer.c), kept apart so the
 * host's unit tests can call them (tests/unit/test_acl_compat.py loads a host build through ctypes). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "acl_compat_rewrite.h"

static const char non_uniform_opt[] = "-cl-arm-non-uniform-work-group-size";
static const char tensor4d_no_step[] = "CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(";

char *acl_compat_strip_options(const char *options)
{
    size_t n = options ? strlen(options) : 0, skip = sizeof non_uniform_opt - 1;
    char *out = malloc(n + 1), *w = out;
    const char *p = options;
    if (!out)
        return NULL;
    while (p && *p) {
        const char *hit = strstr(p, non_uniform_opt);
        /* Only the whole option: bounded by the string's ends or whitespace. */
        while (hit && !((hit == options || isspace((unsigned char)hit[-1])) &&
                        (hit[skip] == '\0' || isspace((unsigned char)hit[skip]))))
            hit = strstr(hit + 1, non_uniform_opt);
        if (!hit) {
            size_t rest = strlen(p);
            memcpy(w, p, rest);
            w += rest;
            break;
        }
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        p = hit + skip;
    }
    *w = '\0';
    return out;
}

/* CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(name, 0) takes get_global_id(2) % 0 in ACL 20.08 (col2im and a few
 * others): undefined, and clang 15 turns it into a trap. Its steps are all 0, so mod_size 1 gives the same
 * (zero) offset without the division by zero. */
char *acl_compat_rewrite_source(const char *src, int *changed)
{
    size_t n = strlen(src), k = sizeof tensor4d_no_step - 1;
    char *out = malloc(n + 1);
    const char *p = src;
    char *w = out;
    int count = 0;
    if (!out)
        return NULL;
    for (;;) {
        const char *hit = strstr(p, tensor4d_no_step), *q;
        if (!hit)
            break;
        q = hit + k;
        while (isalnum((unsigned char)*q) || *q == '_')
            ++q;
        memcpy(w, p, (size_t)(q - p));
        w += q - p;
        p = q;
        if (q > hit + k && q[0] == ',' && q[1] == ' ' && q[2] == '0' && q[3] == ')') {
            memcpy(w, ", 1)", 4);
            w += 4;
            p = q + 4;
            ++count;
        }
    }
    strcpy(w, p);
    if (changed)
        *changed = count;
    return out;
}

unsigned acl_compat_split_regions(unsigned dims, const size_t *offset, const size_t *global, const size_t *local,
                                  struct acl_compat_region *out)
{
    /* per dimension: up to two parts, (start, size, local) */
    size_t start[3][2], size[3][2], loc[3][2];
    unsigned parts[3], n = 1;
    if (dims < 1 || dims > 3 || !global || !local)
        return 0;
    for (unsigned d = 0; d < dims; ++d) {
        size_t g = global[d], l = local[d], bulk, rem;
        if (g == 0 || l == 0)
            return 0;
        bulk = g - g % l;
        rem = g % l;
        parts[d] = 0;
        if (bulk) {
            start[d][parts[d]] = 0, size[d][parts[d]] = bulk, loc[d][parts[d]] = l;
            ++parts[d];
        }
        if (rem) {
            start[d][parts[d]] = bulk, size[d][parts[d]] = rem, loc[d][parts[d]] = rem;
            ++parts[d];
        }
        n *= parts[d];
    }
    for (unsigned i = 0; i < n; ++i) {
        unsigned rest = i;
        for (unsigned d = 0; d < 3; ++d) {
            unsigned j = 0;
            if (d < dims) {
                j = rest % parts[d];
                rest /= parts[d];
                out[i].offset[d] = (offset ? offset[d] : 0) + start[d][j];
                out[i].global[d] = size[d][j];
                out[i].local[d] = loc[d][j];
            } else {
                out[i].offset[d] = 0, out[i].global[d] = 1, out[i].local[d] = 1;
            }
        }
    }
    return n;
}

char *acl_compat_append_extension(const char *extensions, const char *extension)
{
    size_t n = strlen(extensions), e = strlen(extension);
    const char *p = extensions;
    char *out;
    while ((p = strstr(p, extension)) != NULL) {
        if ((p == extensions || p[-1] == ' ') && (p[e] == '\0' || p[e] == ' '))
            return strdup(extensions);
        p += e;
    }
    out = malloc(n + e + 2);
    if (!out)
        return NULL;
    memcpy(out, extensions, n);
    if (n && extensions[n - 1] != ' ')
        out[n++] = ' ';
    memcpy(out + n, extension, e + 1);
    return out;
}
