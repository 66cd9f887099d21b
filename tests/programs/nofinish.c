/* nofinish COUNT GLOBAL: COUNT launches of `inc` over GLOBAL items on one queue, clFlush, then return from
 * main without clFinish: the program exits with launches still queued or running (issue 14 item 11). */
#include "common.h"

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 1000;
    size_t global = argc > 2 ? (size_t)atol(argv[2]) : 65536;
    CHECK(clFlush(tp_enqueue(count, global)));
    printf("enqueued launches=%d\n", count);
    fflush(stdout);
    return 0;
}
