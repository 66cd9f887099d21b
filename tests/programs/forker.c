/* forker N fork|forkafter|exec
 *   fork:      fork first; the child launches N, then the parent launches N.
 *   forkafter: the parent launches N, forks; the child (PoCL does not work
 *              after fork) only opens and closes a cltrace region, then the
 *              parent launches N more: parent file 2N launches, child file 1
 *              region pair (needs CLTRACE_SHIM).
 *   exec:      launch N, then exec this program as `forker N child`, which
 *              launches N more (a new process image with the same pid). */
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"
#include "../../native/include/cltrace.h"


int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    const char *mode = argc > 2 ? argv[2] : "fork";
    if (!strcmp(mode, "child")) {
        tp_launches(n, 256);
        return 0;
    }
    if (!strcmp(mode, "exec")) {
        tp_launches(n, 256);
        printf("expected files=2 launches_per_file=%d\n", n);
        fflush(stdout);
        char nb[32];
        snprintf(nb, sizeof nb, "%d", n);
        execl("/proc/self/exe", argv[0], nb, "child", (char *)NULL);
        perror("execl");
        return 2;
    }
    if (!strcmp(mode, "forkafter")) {
        tp_launches(n, 256);
        printf("expected files=2 parent_launches=%d child_regions=1\n", 2 * n);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            cltrace_region_begin("child", "forked=1");
            cltrace_region_end();
            _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        tp_launches(n, 256);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    printf("expected files=2 launches_per_file=%d\n", n);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        tp_launches(n, 256);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    tp_launches(n, 256);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
