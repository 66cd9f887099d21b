/* extfn: looks functions up with clGetExtensionFunctionAddressForPlatform
 * (each lookup is a note; clCommandNDRangeKernelKHR would be wrapped). */
#include <CL/cl_ext.h>
#include "common.h"

int main(void)
{
    tp_env t;
    tp_setup(&t);
    const char *names[] = { "clCommandNDRangeKernelKHR", "clIcdGetPlatformIDsKHR", "clNoSuchFunctionEXT" };
    for (int i = 0; i < 3; i++) {
        void *f = clGetExtensionFunctionAddressForPlatform(t.p, names[i]);
        printf("%s -> %s\n", names[i], f ? "found" : "NULL");
    }
    printf("expected ext_lookup_notes=3 launches=0\n");
    return 0;
}
