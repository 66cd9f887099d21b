/* cltrace-exec: start a traced program so that it dies with cltrace, without a Python preexec_fn.
 *
 *     cltrace-exec PARENT_PID ERROR_FD PROGRAM [ARG...]
 *
 * Sets PR_SET_PDEATHSIG (SIGTERM) and execs PROGRAM, looked up on PATH the way Python's subprocess does
 * (argv[0] with a slash as it is; else each PATH entry, /bin:/usr/bin when PATH is unset; the first error
 * other than ENOENT/ENOTDIR is the one reported). If cltrace (PARENT_PID) is gone already, it ends itself
 * with SIGTERM, as the death signal would have.
 *
 * Why: a preexec_fn makes Python fork() the whole interpreter (numpy, pandas, ...: 30-40 ms of page-table
 * copying and copy-on-write faults per run on a loaded 2-core machine) instead of vfork(); this helper is
 * started with vfork and costs one small exec (capture/launcher.py).
 *
 * ERROR_FD is the write end of a pipe: it is made close-on-exec here, so the program never sees it (its
 * descriptors are exactly those Python passed: 0, 1, 2). When the exec fails, errno goes down the pipe as
 * 4 bytes and the helper exits 127; a successful exec closes the pipe with nothing written. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

extern char **environ;

static void report(int fd, int err)
{
    ssize_t n;
    do {
        n = write(fd, &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

int main(int argc, char **argv)
{
    char *end;
    long parent, fd;
    const char *path, *p;
    int saved = 0;
    if (argc < 4) {
        static const char usage[] = "usage: cltrace-exec PARENT_PID ERROR_FD PROGRAM [ARG...]\n";
        if (write(2, usage, sizeof usage - 1) < 0)
            _exit(2);
        _exit(2);
    }
    parent = strtol(argv[1], &end, 10);
    if (*end || parent <= 0)
        _exit(2);
    fd = strtol(argv[2], &end, 10);
    if (*end || fd < 0)
        _exit(2);
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    if (getppid() != (pid_t)parent)     /* cltrace died before the death signal was set */
        raise(SIGTERM);
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    argv += 3;
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, environ);
        report((int)fd, errno);
    }
    path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";
    for (p = path;; p++) {
        const char *q = strchrnul(p, ':');
        size_t dlen = (size_t)(q - p), flen = strlen(argv[0]);
        char *full = malloc(dlen + flen + 2);
        if (!full)
            report((int)fd, ENOMEM);
        memcpy(full, p, dlen);
        if (dlen)
            full[dlen++] = '/';
        memcpy(full + dlen, argv[0], flen + 1);
        execve(full, argv, environ);
        if (errno != ENOENT && errno != ENOTDIR && !saved)
            saved = errno;
        free(full);
        if (!*q)
            break;
        p = q;
    }
    report((int)fd, saved ? saved : errno);
    return 127;
}
