/* linked COUNT [LOCAL|null] [own|app]: COUNT launches of `inc` (global 1024)
 * inside one cltrace region "loop" (recorded when CLTRACE_SHIM is set). */
#include "common.h"
#include "../../native/include/cltrace.h"

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 10;
    const char *ls = argc > 2 ? argv[2] : "null";
    int app_events = argc > 3 && strcmp(argv[3], "app") == 0;
    size_t global = 1024, local = strcmp(ls, "null") ? (size_t)atol(ls) : 0;
    tp_env t;
    cl_mem buf;
    tp_setup(&t);
    cl_command_queue q = tp_queue(&t, 0);
    cl_kernel k = tp_kernel(&t, &buf, global);
    char tags[64];
    snprintf(tags, sizeof tags, "count=%d,local=%s", count, ls);
    cltrace_region_begin("loop", tags);
    for (int i = 0; i < count; i++) {
        cl_event ev;
        CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, local ? &local : NULL, 0, NULL,
                                     app_events ? &ev : NULL));
        if (app_events) {
            CHECK(clWaitForEvents(1, &ev));
            CHECK(clReleaseEvent(ev));
        }
    }
    CHECK(clFinish(q));
    cltrace_region_end();
    printf("expected launches=%d kernels=1 queues=1 mem=1 regions=1 arg_bytes=%zu\n", count, global * sizeof(float));
    clReleaseKernel(k);
    clReleaseMemObject(buf);
    clReleaseCommandQueue(q);
    clReleaseProgram(t.prog);
    clReleaseContext(t.c);
    return 0;
}
