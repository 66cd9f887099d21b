/* nofinish COUNT GLOBAL: COUNT launches of `inc` over GLOBAL items on one queue, clFlush, then return from
 * main without clFinish: the program exits with launches still queued or running (issue 14 item 11). */
#include "common.h"

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 1000;
    size_t global = argc > 2 ? (size_t)atol(argv[2]) : 65536;
    tp_env t;
    cl_mem buf;
    tp_setup(&t);
    cl_command_queue q = tp_queue(&t, 0);
    cl_kernel k = tp_kernel(&t, &buf, global);
    for (int i = 0; i < count; i++)
        CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
    CHECK(clFlush(q));
    printf("enqueued launches=%d\n", count);
    fflush(stdout);
    return 0;
}
