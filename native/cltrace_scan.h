/*
 * libcltrace_scan.so <-> cltrace/capture/native_scan.py (cffi, ABI mode): the one declaration of what
 * crosses. capture_scan.c includes it (a definition that no longer matches does not compile); the Python
 * side feeds the CFFI-BEGIN..CFFI-END block to cffi.cdef() and names the problem kinds after the
 * CLT_LOST_* enumerators (CLT_LOST_CORRUPT: "corrupt"). Keep the block to integer enums and prototypes.
 */
#ifndef CLTRACE_SCAN_H
#define CLTRACE_SCAN_H

#include <stdint.h>

/* CFFI-BEGIN */
/* the kind of a problem clt_capture_walk reports (the first of its 4 words) */
enum {
    CLT_LOST_TRUNCATED = 0,   /* the file ends inside the chunk */
    CLT_LOST_CORRUPT   = 1    /* a header that cannot be a record, or a chunk that is not one */
};

/*
 * Walk every chunk of a capture file of `size` bytes (chunk c at header_size + c * chunk_size, the
 * last one possibly partial). Valid records go to offs/types (file order, at most cap), problems to
 * lost (4 int64 each: kind CLT_LOST_*, chunk, offset where reading stopped, bytes lost, 0 for a chunk
 * cut after its last complete record; at most lost_cap; at most one per chunk). min_size[type]: the
 * smallest valid record of each type 1..max_type. Returns the number of records and sets *nlost; -1
 * when cap or lost_cap was too small (outputs then incomplete), -2 for impossible geometry.
 */
int64_t clt_capture_walk(const uint8_t *data, int64_t size, int64_t header_size, int64_t chunk_size,
                         const uint32_t *min_size, int max_type, int64_t *offs, uint16_t *types, int64_t cap,
                         int64_t *lost, int64_t lost_cap, int64_t *nlost);
/* CFFI-END */

#endif
