/* Pure rewrites of the ACL-on-PoCL compatibility layer. Every returned string is malloc()ed. */
#ifndef ACL_COMPAT_REWRITE_H
#define ACL_COMPAT_REWRITE_H
#include <stddef.h>

/* Build options without -cl-arm-non-uniform-work-group-size (PoCL's clang does not know it). */
char *acl_compat_strip_options(const char *options);

/* Program source with CONVERT_TO_TENSOR4D_STRUCT_NO_STEP(x, 0) -> (x, 1); *changed = replacements. */
char *acl_compat_rewrite_source(const char *src, int *changed);

/* fitted[d] = local[d] where it divides global[d], else gcd(global[d], local[d]). 1 when any changed. */
int acl_compat_fit_local(unsigned dims, const size_t *global, const size_t *local, size_t *fitted);

/* extensions + " " + extension, unless it is already listed. */
char *acl_compat_append_extension(const char *extensions, const char *extension);

#endif
