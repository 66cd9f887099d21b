/*
 * The capture-file record walk of the Python reader (its reference: cltrace/capture/scan_py.py, walk), in C.
 * Not a shim: libcltrace_scan.so is loaded by the reader only (cffi, ABI mode), libc only.
 *
 * Every chunk of the file is walked record by record from its chunk header, stopping at the
 * first zero header word (clean end) or at the first header that cannot be a record (the bytes
 * from there to the end of the chunk, as far as the file holds it, are lost). A chunk the file
 * ends inside is always reported as truncated, with 0 bytes lost when the cut fell on a record
 * boundary or in unused space: the records after the cut are missing all the same. The data may be
 * anything: every read is bounds-checked against `size`, all arithmetic is 64-bit.
 */
#include <stdint.h>
#include <string.h>

#include "cltrace_format.h"
#include "cltrace_scan.h"

#define EXPORT __attribute__((visibility("default")))

typedef struct {
    const uint32_t *min_size;  /* indexed by record type, 1..max_type */
    int max_type;
    int64_t *offs;
    uint16_t *types;
    int64_t cap, n;
    int64_t *lost;             /* 4 per problem: kind, chunk, offset, bytes */
    int64_t lost_cap, nlost;
    int full;                  /* an output buffer ran out */
} walk_out;

static int any_nonzero(const uint8_t *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (p[i])
            return 1;
    return 0;
}

static void lose(walk_out *o, int kind, int64_t chunk, int64_t offset, int64_t bytes)
{
    if (o->nlost >= o->lost_cap) {
        o->full = 1;
        return;
    }
    int64_t *l = o->lost + 4 * o->nlost++;
    l[0] = kind;
    l[1] = chunk;
    l[2] = offset;
    l[3] = bytes;
}

/* One chunk [start, end): end < start + chunk_size when the file ends inside it (is cut). A cut
 * chunk always has a problem: when nothing in it is unreadable, a truncation of 0 bytes at the
 * offset where its walk stopped (what followed the cut is missing all the same). */
static void walk_chunk(const uint8_t *data, int64_t chunk, int64_t start, int64_t end, int64_t chunk_size,
                       walk_out *o)
{
    const int64_t chunk_end = start + chunk_size;
    const int cut = end < chunk_end;
    if (end - start < (int64_t)sizeof(clt_chunk_header)) {  /* always cut */
        lose(o, CLT_LOST_TRUNCATED, chunk, start, any_nonzero(data + start, end - start) ? end - start : 0);
        return;
    }
    uint32_t magic;
    memcpy(&magic, data + start, sizeof magic);
    if (magic != CLT_CHUNK_MAGIC) {
        if (magic != 0)  /* 0: never used, silently unless cut */
            lose(o, cut ? CLT_LOST_TRUNCATED : CLT_LOST_CORRUPT, chunk, start, end - start);
        else if (cut)
            lose(o, CLT_LOST_TRUNCATED, chunk, start, 0);
        return;
    }
    int64_t pos = start + (int64_t)sizeof(clt_chunk_header);
    while (pos + 8 <= end) {
        uint64_t w;
        memcpy(&w, data + pos, sizeof w);
        if (w == 0) {
            if (cut)
                lose(o, CLT_LOST_TRUNCATED, chunk, pos, 0);
            return;
        }
        const unsigned type = (unsigned)(w & 0xFFFF), reserved = (unsigned)((w >> 16) & 0xFFFF);
        const int64_t size = (int64_t)(w >> 32);
        /* size >= 8 is implied by the minimum sizes; kept so that no table can make the walk stall */
        if (reserved || size % 8 || size < 8 || type < 1 || (int)type > o->max_type || size < o->min_size[type]
                || pos + size > chunk_end) {
            lose(o, CLT_LOST_CORRUPT, chunk, pos, end - pos);
            return;
        }
        if (pos + size > end) {
            lose(o, CLT_LOST_TRUNCATED, chunk, pos, end - pos);
            return;
        }
        if (o->n >= o->cap) {
            o->full = 1;
            return;
        }
        o->offs[o->n] = pos;
        o->types[o->n++] = (uint16_t)type;
        pos += size;
    }
    if (pos < end && any_nonzero(data + pos, end - pos))
        lose(o, CLT_LOST_TRUNCATED, chunk, pos, end - pos);
    else if (cut)
        lose(o, CLT_LOST_TRUNCATED, chunk, pos, 0);
}

/* declared, with what it does, in cltrace_scan.h */
EXPORT int64_t clt_capture_walk(const uint8_t *data, int64_t size, int64_t header_size, int64_t chunk_size,
                                const uint32_t *min_size, int max_type, int64_t *offs, uint16_t *types,
                                int64_t cap, int64_t *lost, int64_t lost_cap, int64_t *nlost)
{
    *nlost = 0;
    if (size < 0 || header_size < 0 || chunk_size < (int64_t)sizeof(clt_chunk_header) || chunk_size > (1LL << 40)
            || max_type < 0 || max_type > 0xFFFF)
        return -2;
    walk_out o = {min_size, max_type, offs, types, cap, 0, lost, lost_cap, 0, 0};
    for (int64_t chunk = 0, start = header_size; start < size && !o.full; chunk++, start += chunk_size)
        walk_chunk(data, chunk, start, size - start < chunk_size ? size : start + chunk_size, chunk_size, &o);
    *nlost = o.nlost;
    return o.full ? -1 : o.n;
}
