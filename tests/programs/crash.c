/* crash COUNT abort|segv|exit|kill|normal: COUNT launches, clFinish, then die
 * that way. Records must survive (they live in the page cache). */
#include <signal.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 10;
    const char *how = argc > 2 ? argv[2] : "abort";
    tp_launches(count, 1024);
    printf("expected launches=%d times=%d death=%s\n", count, count, how);
    fflush(stdout);
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "segv"))
        *(volatile int *)0 = 1;
    if (!strcmp(how, "exit"))
        _exit(7);
    if (!strcmp(how, "kill"))
        raise(SIGKILL);
    return 0;
}
