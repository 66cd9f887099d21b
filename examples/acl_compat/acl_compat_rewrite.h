/* Pure rewrites of the ACL-on-PoCL compatibility layer. Every returned string is malloc()ed. */
#ifndef ACL_COMPAT_REWRITE_H
#define ACL_COMPAT_REWRITE_H
#include <stddef.h>

/* Build options without -cl-arm-non-uniform-work-group-size (PoCL's clang does not know it). */
char *acl_compat_strip_options(const char *options);

/* Program source with CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(x, 0) -> (x, 1); *changed = replacements. */
char *acl_compat_rewrite_source(const char *src, int *changed);

/* One uniform part of a launch whose local size need not divide its global size. */
#define ACL_COMPAT_MAX_REGIONS 8
struct acl_compat_region {
    size_t offset[3], global[3], local[3];
};

/* The uniform regions of a launch, as Intel NEO (WalkerSplit) and clvk run a non-uniform one: per dimension d a
 * bulk part [0, alignDown(global[d], local[d])) with local[d] and a remainder [alignDown(..), global[d]) with
 * local global[d] % local[d]; the regions are the product of those parts, empty ones left out, dimension 0
 * varying fastest, bulk before remainder; each region's offset is the launch's offset (NULL: zeros) plus its
 * start. Returns how many (1..8; a uniform launch is its one region) written to out[], or 0 when the launch
 * is not split: dims outside 1..3, no global or local size, or a zero in either (pass it on unchanged). */
unsigned acl_compat_split_regions(unsigned dims, const size_t *offset, const size_t *global, const size_t *local,
                                  struct acl_compat_region *out);

/* extensions + " " + extension, unless it is already listed. */
char *acl_compat_append_extension(const char *extensions, const char *extension);

#endif
