/* execinto N M [PROGRAM]: N launches of `inc`, clFinish, then execv PROGRAM
 * (default: `linked` next to this executable) with argument M: a second
 * process image (same pid) that makes M launches. */
#include <limits.h>
#include <unistd.h>
#include "common.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    const char *m = argc > 2 ? argv[2] : "20";
    char prog[PATH_MAX];
    if (argc > 3) {
        snprintf(prog, sizeof prog, "%s", argv[3]);
    } else {
        ssize_t len = readlink("/proc/self/exe", prog, sizeof prog - 16);
        if (len < 0) {
            perror("readlink");
            return 2;
        }
        prog[len] = 0;
        char *slash = strrchr(prog, '/');
        strcpy(slash ? slash + 1 : prog, "linked");
    }
    tp_launches(n, 512);
    printf("expected images=2 first=%d second=%s pid=%d exec=%s\n", n, m, (int)getpid(), prog);
    fflush(stdout);
    char *args[] = {prog, (char *)m, NULL};
    execv(prog, args);
    perror("execv");
    return 2;
}
