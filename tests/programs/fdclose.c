/* fdclose N_LAUNCHES PATH [FILE_KB]
 *
 * What daemons and closefrom()-style code do to an inherited descriptor: launches `inc` 20 times, closes
 * every descriptor from 3 to 1023 (the shim's capture file among them), then opens PATH (which gets the
 * lowest free number, the shim's old one) and writes FILE_KB KiB (default 2048) of a known pattern to it,
 * a piece after each further batch of launches, until N_LAUNCHES launches in all. Finally reads PATH
 * back and prints "file ok BYTES" (exit 0) or "file damaged: ..." (exit 4), then "launched N". */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "common.h"

#define PIECE 4096

static void pattern(unsigned char *b, long piece)
{
    for (int i = 0; i < PIECE; i++)
        b[i] = (unsigned char)((piece * 31 + i) & 0xff);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 3100;
    const char *path = argc > 2 ? argv[2] : "fdclose.out";
    long pieces = (argc > 3 ? atol(argv[3]) : 2048) * 1024 / PIECE;
    size_t global = 64;
    unsigned char buf[PIECE], got[PIECE];
    tp_env t;
    cl_mem mem;
    tp_setup(&t);
    cl_command_queue q = tp_queue(&t, 0);
    cl_kernel k = tp_kernel(&t, &mem, global);
    long done = 0;
    for (; done < 20 && done < n; done++)
        CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
    CHECK(clFinish(q));
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        return 5;
    }
    long per = pieces ? (n - done + pieces - 1) / pieces : n;
    if (per < 1)
        per = 1;
    for (long p = 0; p < pieces || done < n; p++) {
        for (long i = 0; i < per && done < n; i++, done++)
            CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, NULL));
        CHECK(clFinish(q));
        if (p < pieces) {
            pattern(buf, p);
            if (write(fd, buf, PIECE) != PIECE) {
                printf("file damaged: write failed: %s\n", strerror(errno));
                return 4;
            }
        }
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size != (off_t)pieces * PIECE) {
        printf("file damaged: %lld bytes, expected %lld\n", (long long)size, (long long)pieces * PIECE);
        return 4;
    }
    for (long p = 0; p < pieces; p++) {
        pattern(buf, p);
        if (pread(fd, got, PIECE, p * PIECE) != PIECE || memcmp(buf, got, PIECE) != 0) {
            printf("file damaged: piece %ld differs\n", p);
            return 4;
        }
    }
    printf("file ok %lld\nlaunched %ld\n", (long long)size, done);
    return 0;
}
