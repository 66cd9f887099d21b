/* Capture file writer: one file per process image; each thread writes into
 * one mmap'd chunk of it, its staging chunk, for as long as it lives. When the
 * staging chunk is full, its bytes are copied (pwrite) to a fresh chunk of the
 * file and the staging chunk starts over. The record path never mallocs and
 * takes no lock until then. Records live in MAP_SHARED pages or in the file,
 * so they survive any death of the process.
 *
 * Why copy instead of mapping each new chunk: a fresh page of a mapped file
 * costs 2-4 us of kernel time here (fault, ext4 page_mkwrite, zeroing), and
 * pwrite puts the same bytes in the page cache for ~0.6 us a page
 * (bench/README.md), while the staging chunk's pages stay mapped and warm.
 *
 * The copy keeps the staging chunk's header, index included; the staging chunk
 * then takes the new chunk's slot number as its index. Killed between the
 * copy and that, the file holds two chunks with one index: the reader keeps
 * the one with more records (reader._drop_duplicate_chunks). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clt.h"

#ifdef MADV_POPULATE_WRITE
#define CLT_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define CLT_MADV_POPULATE_WRITE 23     /* Linux 5.14 */
#endif

#define GROW_CHUNKS 64        /* the file grows at most this many chunks ahead of the one it needs */
#define MAP_DELTA CLT_FILE_HEADER_SIZE   /* chunk_size is a multiple of the page size */
#define READY_STEP (64u * 1024)          /* bytes of a chunk faulted in at a time on the record path */

static void unmap_chunk(char *base);

uint64_t clt_seq_counter;
unsigned clt_generation = 1;

/* The capture file is the shim's, never the program's: its descriptor sits high
 * (F_DUPFD_CLOEXEC), and before each use (growing the file, mapping a chunk)
 * it is checked to still be the file the shim created (st_dev, st_ino). A
 * program that closes it (daemons, closefrom()) may have reused the number for
 * a file of its own: the shim then reopens its file by name, or stops. Space
 * is reserved (posix_fallocate) before a chunk is mapped, within RLIMIT_FSIZE,
 * so a full disk or `ulimit -f` stops the recording (CLT_FILE_STOPPED in the
 * header, which stays mapped) instead of killing the program with SIGBUS or
 * SIGXFSZ. */
static struct {
    int fd;                   /* -1: not open yet */
    int failed;               /* open failed in this image: stay silent */
    int stopped;              /* CLT_STOP_*: no more chunks (read without lock, set under it) */
    int reopened;             /* the descriptor was lost and the file reopened: a note is due */
    pid_t pid;
    uint32_t chunk_size;
    uint64_t nchunks;         /* chunks handed out (under lock) */
    uint64_t file_size;       /* bytes (under lock) */
    uint64_t dropped;
    dev_t dev;                /* the file the shim created */
    ino_t ino;
    clt_file_header *hdr;     /* mapped for the life of the file: flags, stop reason, dropped */
    char path[4096];
    pthread_mutex_t lock;
} cap = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_key_t chunk_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uintptr_t page_size;   /* set when the file is opened */

static void chunk_release(void *unused)
{
    struct clt_thread *t = &clt_self;
    (void)unused;
    if (t->base && t->gen == clt_generation)
        unmap_chunk(t->base);
    t->base = NULL;
    t->ready = 0;
    t->prepared = 0;
}

/* The thread's chunk belongs to an older generation (fork child): drop it. */
void clt_chunk_forget(struct clt_thread *t)
{
    if (t->base)
        unmap_chunk(t->base);
    t->base = NULL;
    t->ready = 0;
    t->prepared = 0;
}

static void key_init(void) { pthread_key_create(&chunk_key, chunk_release); }

uint32_t clt_max_string(void)
{
    return cap.chunk_size ? cap.chunk_size / 4 : 4096;
}

static long high_fd_floor(void)
{
    struct rlimit rl;
    long lo = 512;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur / 2 < lo)
        lo = (long)rl.rlim_cur / 2;
    return lo;
}

/* A descriptor for the same file, numbered high, close-on-exec: programs open
 * the lowest free number, so a number the program reuses is unlikely to be ours. */
static int high_fd(int fd)
{
    long lo = high_fd_floor();
    int nfd;
    if (lo <= fd)
        return fd;
    nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)lo);
    if (nfd < 0)
        return fd;
    close(fd);
    return nfd;
}

/* Growing a process's descriptor table while it has more than one thread waits
 * for an RCU grace period (the kernel's expand_fdtable: synchronize_rcu when
 * the table is shared): 7-15 ms here, paid by high_fd's first dup above 512 once
 * the driver's threads run. Called at the shim's initialisation, while the
 * process usually still has one thread, it grows the table once (it never
 * shrinks), and the capture file's dup later costs microseconds. */
void clt_capture_grow_fd_table(void)
{
    long lo = high_fd_floor();
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), nfd;
    if (fd < 0)
        return;
    if (fd < lo && (nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)lo)) >= 0)
        close(nfd);
    close(fd);
}

static int same_file(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == cap.dev && st.st_ino == cap.ino;
}

static const char *stop_text(int reason)
{
    switch (reason) {
    case CLT_STOP_NO_SPACE: return "no space left on the capture disk";
    case CLT_STOP_FILE_LIMIT: return "file size limit (RLIMIT_FSIZE) reached";
    case CLT_STOP_FD_LOST: return "the program closed the capture file's descriptor";
    default: return "cannot grow the capture file";
    }
}

/* Called with cap.lock held: record nothing more in this file. */
static void stop(int reason, int err)
{
    if (cap.stopped)
        return;
    __atomic_store_n(&cap.stopped, reason, __ATOMIC_RELEASE);
    if (cap.hdr) {
        cap.hdr->stop_reason = (uint32_t)reason;
        cap.hdr->stop_errno = err;
        __atomic_or_fetch(&cap.hdr->flags, (uint32_t)CLT_FILE_STOPPED, __ATOMIC_RELEASE);
    }
    clt_debug("capture stopped: %s (%s)", stop_text(reason), strerror(err));
}

static int stop_reason_of(int err)
{
    return err == ENOSPC || err == EDQUOT ? CLT_STOP_NO_SPACE : err == EFBIG ? CLT_STOP_FILE_LIMIT
                                                                              : CLT_STOP_IO_ERROR;
}

/* Called with cap.lock held: 0 when cap.fd is (again) the shim's file. Never
 * closes cap.fd when it is not: that number is the program's now. */
static int check_fd(void)
{
    int fd;
    if (same_file(cap.fd))
        return 0;
    fd = open(cap.path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && same_file(fd)) {
        __atomic_store_n(&cap.fd, high_fd(fd), __ATOMIC_RELEASE);
        cap.reopened++;
        clt_debug("capture file descriptor lost (closed by the program): reopened %s", cap.path);
        return 0;
    }
    if (fd >= 0)
        close(fd);
    __atomic_store_n(&cap.fd, -2, __ATOMIC_RELEASE);   /* never used again; not -1: no new file either */
    stop(CLT_STOP_FD_LOST, EBADF);
    return -1;
}

/* Called with cap.lock held: the file is at least `need` bytes, grown ahead in
 * whole chunks but never past RLIMIT_FSIZE (SIGXFSZ). 0 or an errno.
 *
 * Ahead by as many chunks as it already has (doubling), at most GROW_CHUNKS:
 * a few ftruncate calls in a long run, and a short run's file no longer than
 * the chunks it used. A file far longer than its data costs every run: a
 * fault on a mapped page reads ahead up to the end of the file, and each page
 * read of that sparse tail is a zeroed page-cache page (8 MB of them, 1-2 ms
 * of CPU in the program, when the file was grown 64 chunks at once), which the
 * reader's walk touches again and the unlink frees again. */
static int grow(int fd, uint64_t need)
{
    struct rlimit rl;
    uint64_t chunks = need > CLT_FILE_HEADER_SIZE ? (need - CLT_FILE_HEADER_SIZE) / cap.chunk_size : 0;
    uint64_t sz = need + (chunks > 1 ? (chunks - 1 < GROW_CHUNKS ? chunks - 1 : GROW_CHUNKS) : 0) *
                         (uint64_t)cap.chunk_size;
    if (cap.file_size >= need)
        return 0;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        if (need > (uint64_t)rl.rlim_cur)
            return EFBIG;
        if (sz > (uint64_t)rl.rlim_cur)   /* whole chunks only: at least `need` */
            sz = CLT_FILE_HEADER_SIZE +
                 ((uint64_t)rl.rlim_cur - CLT_FILE_HEADER_SIZE) / cap.chunk_size * cap.chunk_size;
    }
    if (ftruncate(fd, (off_t)sz) != 0)
        return errno;
    cap.file_size = sz;
    return 0;
}

/* Reserve the disk blocks of [off, off+len) so that writes through the map
 * cannot fail (SIGBUS). 0 or an errno. */
static int reserve(int fd, uint64_t off, uint64_t len)
{
    int e;
    do
        e = posix_fallocate(fd, (off_t)off, (off_t)len);
    while (e == EINTR);
    return e;
}

/* Called with cap.lock held. */
static int open_file(void)
{
    clt_file_header *h;
    uint64_t mono = clt_now();
    struct timespec rt;
    struct stat st;
    int fd, e;
    uint32_t cs = 4096;

    if (cap.failed)
        return -1;
    while ((cs < (uint64_t)clt_opt.CLTRACE_CHUNK_KB * 1024 || cs < (uint64_t)sysconf(_SC_PAGESIZE)) &&
           cs < (1u << 30))
        cs <<= 1;
    cap.chunk_size = cs;
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    snprintf(cap.path, sizeof cap.path, "%s/p%d-%llu.clt", clt_opt.CLTRACE_DIR, (int)getpid(),
             (unsigned long long)mono);
    fd = open(cap.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || fstat(fd, &st) != 0) {
        clt_debug("cannot create %s: %s", cap.path, strerror(errno));
        if (fd >= 0)
            close(fd);
        cap.failed = 1;
        return -1;
    }
    fd = high_fd(fd);
    cap.dev = st.st_dev;
    cap.ino = st.st_ino;
    cap.file_size = 0;
    cap.stopped = 0;
    if ((e = grow(fd, CLT_FILE_HEADER_SIZE + (uint64_t)cs)) != 0 || (e = reserve(fd, 0, CLT_FILE_HEADER_SIZE)) != 0) {
        clt_debug("cannot size %s: %s", cap.path, strerror(e));
        close(fd);
        cap.failed = 1;
        return -1;
    }
    h = mmap(NULL, CLT_FILE_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED) {
        close(fd);
        cap.failed = 1;
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &rt);
    h->version = CLT_FORMAT_VERSION;
    h->header_size = CLT_FILE_HEADER_SIZE;
    h->chunk_size = cs;
    h->pid = (uint32_t)getpid();
    h->ppid = (uint32_t)getppid();
    h->start_mono_ns = mono;
    h->start_real_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
    strncpy(h->mode, clt_mode ? clt_mode : "", sizeof h->mode - 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(h->magic, CLT_MAGIC, CLT_MAGIC_LEN);   /* magic last: a valid header is complete */
    cap.hdr = h;
    cap.nchunks = 0;
    cap.pid = getpid();
    __atomic_store_n(&cap.fd, fd, __ATOMIC_RELEASE);
    clt_debug("capture file %s (mode %s, chunk %u)", cap.path, clt_mode, cs);
    return 0;
}

static int ensure_open(void)
{
    int just_opened = 0;
    if (__atomic_load_n(&cap.fd, __ATOMIC_ACQUIRE) >= 0)
        return 0;
    if (!clt_on || cap.failed || cap.stopped)
        return -1;
    pthread_mutex_lock(&cap.lock);
    if (cap.fd == -1 && open_file() == 0)
        just_opened = 1;
    pthread_mutex_unlock(&cap.lock);
    if (cap.fd < 0)
        return -1;
    if (just_opened) {
        clt_write_process();
        clt_register_exit();
    }
    return 0;
}

static void unmap_chunk(char *base)
{
    munmap(base - MAP_DELTA, cap.chunk_size + MAP_DELTA);
}

/* Fault in t's chunk, writable, up to byte `to` (at least: whole pages) with
 * one call instead of one trap per page, and move t->ready there. A fresh page
 * costs microseconds (several on a VM), so a chunk is faulted in a step at a
 * time on the record path, and the rest ahead of time by clt_capture_prepare,
 * while the app waits for the device. Best effort: older kernels say EINVAL,
 * and the pages then fault in as they are written. */
static void make_ready(struct clt_thread *t, uint64_t to)
{
    uintptr_t from, end;
    if (to > cap.chunk_size)
        to = cap.chunk_size;
    if (to <= t->ready)
        return;
    from = (uintptr_t)(t->base + t->ready) & ~(page_size - 1);
    end = ((uintptr_t)(t->base + to) + page_size - 1) & ~(page_size - 1);
    (void)madvise((void *)from, end - from, CLT_MADV_POPULATE_WRITE);
    end -= (uintptr_t)t->base;
    t->ready = end < cap.chunk_size ? (uint32_t)end : cap.chunk_size;
    t->prepared = t->ready == cap.chunk_size;
}

/* Ahead of a wait, fault in as much again as the chunk holds (at least
 * READY_STEP past the end), not the whole chunk: a short program that waits
 * once (a 0-launch one's clFinish) no longer faults in and dirties all of its
 * first chunk's pages (64 of 4 KiB, most never written), while a long one still
 * has its chunk ready after a logarithmic number of waits. */
void clt_capture_prepare_slow(struct clt_thread *t)
{
    uint64_t used;
    if (t->base && t->gen == clt_generation) {
        used = t->off;
        make_ready(t, used + (used > READY_STEP ? used : READY_STEP));
    }
}

/* write() all of buf at off, through EINTR and short writes: 0 or an errno. */
static int pwrite_all(int fd, const char *buf, size_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : EIO;
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* t's staging chunk is full: copy it to a new chunk of the file and start it
 * over. 0, or -1 when the capture cannot grow (stopped: the staging chunk
 * keeps what it holds). Under the lock, right after check_fd, so that the
 * copy cannot land in a file of the program's. */
static int flush_chunk(struct clt_thread *t)
{
    clt_chunk_header *ch = (clt_chunk_header *)t->base;
    uint64_t idx, off;
    int e;

    if (__atomic_load_n(&cap.stopped, __ATOMIC_ACQUIRE))
        return -1;
    pthread_mutex_lock(&cap.lock);
    if (cap.stopped || check_fd() != 0) {
        pthread_mutex_unlock(&cap.lock);
        return -1;
    }
    idx = cap.nchunks;
    off = CLT_FILE_HEADER_SIZE + idx * cap.chunk_size;
    if ((e = grow(cap.fd, off + cap.chunk_size)) != 0 || (e = reserve(cap.fd, off, cap.chunk_size)) != 0 ||
        (e = pwrite_all(cap.fd, t->base, t->off, off)) != 0) {
        stop(stop_reason_of(e), e);
        pthread_mutex_unlock(&cap.lock);
        return -1;
    }
    cap.nchunks = idx + 1;
    pthread_mutex_unlock(&cap.lock);
    /* The first record's header word first: from then on the staging chunk
     * reads as empty, whatever order memset clears the rest in. */
    __atomic_store_n((uint64_t *)(t->base + sizeof *ch), (uint64_t)0, __ATOMIC_RELEASE);
    memset(t->base + sizeof *ch + 8, 0, t->off - sizeof *ch - 8);
    __atomic_store_n(&ch->index, idx, __ATOMIC_RELEASE);
    t->off = sizeof *ch;
    return 0;
}

static char *new_chunk(void)
{
    uint64_t idx, off;
    clt_chunk_header *ch;
    void *p;
    int e;

    if (__atomic_load_n(&cap.stopped, __ATOMIC_ACQUIRE))
        return NULL;
    pthread_mutex_lock(&cap.lock);
    if (cap.stopped || check_fd() != 0) {
        pthread_mutex_unlock(&cap.lock);
        return NULL;
    }
    idx = cap.nchunks;
    off = CLT_FILE_HEADER_SIZE + idx * cap.chunk_size;
    if ((e = grow(cap.fd, off + cap.chunk_size)) != 0 || (e = reserve(cap.fd, off, cap.chunk_size)) != 0) {
        stop(stop_reason_of(e), e);
        pthread_mutex_unlock(&cap.lock);
        return NULL;
    }
    cap.nchunks = idx + 1;
    /* Chunks sit after a 128-byte header, so they are not page aligned: map
     * from the page below (MAP_DELTA more bytes). */
    p = mmap(NULL, cap.chunk_size + MAP_DELTA, PROT_READ | PROT_WRITE, MAP_SHARED, cap.fd,
             (off_t)(off - MAP_DELTA));
    pthread_mutex_unlock(&cap.lock);
    if (p == MAP_FAILED)
        return NULL;
    ch = (clt_chunk_header *)((char *)p + MAP_DELTA);
    ch->tid = clt_tid();
    ch->index = idx;
    __atomic_store_n(&ch->magic, (uint32_t)CLT_CHUNK_MAGIC, __ATOMIC_RELEASE);
    return (char *)ch;
}

static void count_dropped(void)
{
    uint64_t d = __atomic_add_fetch(&cap.dropped, 1, __ATOMIC_RELAXED);
    if (cap.hdr)
        __atomic_store_n(&cap.hdr->dropped, d, __ATOMIC_RELAXED);
}

void *clt_reserve_slow(uint32_t size)
{
    struct clt_thread *t;
    char *r;
    if (ensure_open() != 0)
        return NULL;
    t = clt_thread();                     /* fork child: drops the parent's mapping */
    if (size > cap.chunk_size - sizeof(clt_chunk_header)) {
        count_dropped();
        return NULL;
    }
    if (!t->base) {
        pthread_once(&key_once, key_init);
        pthread_setspecific(chunk_key, t);
        t->ready = 0;
        t->prepared = 0;
        t->off = sizeof(clt_chunk_header);
        if (!(t->base = new_chunk())) {
            count_dropped();
            return NULL;
        }
    } else if (t->off + size > cap.chunk_size && flush_chunk(t) != 0) {
        count_dropped();
        return NULL;
    }
    if (t->off + size > t->ready)
        make_ready(t, (uint64_t)t->off + size + READY_STEP);
    r = t->base + t->off;
    t->off += size;
    if (__builtin_expect(__atomic_load_n(&cap.reopened, __ATOMIC_RELAXED) > 0, 0)) {
        int n = __atomic_exchange_n(&cap.reopened, 0, __ATOMIC_ACQ_REL);
        if (n > 0)          /* after r: the note takes the bytes behind it */
            clt_write_note(CLT_NOTE_INFO, (uint64_t)n,
                           "capture file descriptor closed by the program; the shim reopened its file");
    }
    return r;
}

/* Copy a string (truncated to `max`) plus NUL to dst; returns bytes used. */
static size_t put_str(char *dst, const char *s, size_t len)
{
    memcpy(dst, s, len);
    dst[len] = '\0';
    return len + 1;
}

static size_t clamp_len(const char *s)
{
    size_t n = s ? strlen(s) : 0, m = clt_max_string();
    return n < m ? n : m;
}

void clt_write_note(uint32_t code, uint64_t value, const char *msg)
{
    size_t ml = clamp_len(msg);
    uint32_t sz = clt_rec_size(sizeof(clt_note), ml + 1);
    clt_note *n = clt_reserve(sz);
    if (!n)
        return;
    n->seq = clt_next_seq();
    n->t_ns = clt_now();
    n->value = value;
    n->code = code;
    n->len_message = (uint32_t)ml;
    put_str((char *)(n + 1), msg ? msg : "", ml);
    clt_commit(n, CLT_REC_NOTE, sz);
}

static int env_wanted(const char *e)
{
    static const char *pfx[] = { "CLTRACE_", "OCL_ICD_", "POCL_", "OPENCL_" };
    for (size_t i = 0; i < sizeof pfx / sizeof pfx[0]; i++)
        if (strncmp(e, pfx[i], strlen(pfx[i])) == 0)
            return 1;
    return 0;
}

extern char **environ;

/* Written once per file, right after it is opened. Uses a stack buffer: the
 * whole record must fit in one chunk anyway. */
void clt_write_process(void)
{
    char buf[16384], cwd[4096];
    size_t blen = 0, cap_b = sizeof buf;
    uint32_t argc = 0, nenv = 0, sz;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    clt_process *p;

    if (cap_b > clt_max_string() * 2)
        cap_b = clt_max_string() * 2;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, cap_b - 1);
        close(fd);
        if (n > 0) {
            blen = (size_t)n;
            if (buf[blen - 1] != '\0')
                buf[blen++] = '\0';
            for (size_t i = 0; i < blen; i++)
                argc += buf[i] == '\0';
        }
    }
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    if (blen + strlen(cwd) + 1 < cap_b)
        blen += put_str(buf + blen, cwd, strlen(cwd));
    else
        buf[blen++] = '\0';
    for (char **e = environ; e && *e; e++) {
        size_t l = strlen(*e);
        if (!env_wanted(*e) || blen + l + 1 > cap_b)
            continue;
        blen += put_str(buf + blen, *e, l);
        nenv++;
    }
    sz = clt_rec_size(sizeof(clt_process), blen);
    p = clt_reserve(sz);
    if (!p)
        return;
    p->seq = clt_next_seq();
    p->t_ns = clt_now();
    p->pid = (uint32_t)getpid();
    p->ppid = (uint32_t)getppid();
    p->argc = argc;
    p->n_env = nenv;
    p->strings_len = (uint32_t)blen;
    memcpy(p + 1, buf, blen);
    clt_commit(p, CLT_REC_PROCESS, sz);
}

uint64_t clt_dropped(void) { return __atomic_load_n(&cap.dropped, __ATOMIC_RELAXED); }

/* At the end of the exit flush: the header says so even when no note fitted. */
void clt_capture_exit(void)
{
    if (cap.hdr && cap.pid == getpid()) {
        __atomic_store_n(&cap.hdr->dropped, __atomic_load_n(&cap.dropped, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
        __atomic_store_n(&cap.hdr->last_seq, __atomic_load_n(&clt_seq_counter, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
        __atomic_or_fetch(&cap.hdr->flags, (uint32_t)CLT_FILE_EXITED, __ATOMIC_RELEASE);
    }
}

/* In a fork child: forget the parent's file; the next record opens our own. */
void clt_capture_atfork_child(void)
{
    if (same_file(cap.fd))      /* else that number is the program's: leave it alone */
        close(cap.fd);
    if (cap.hdr)
        munmap(cap.hdr, CLT_FILE_HEADER_SIZE);
    cap.hdr = NULL;
    cap.fd = -1;
    cap.failed = 0;
    cap.stopped = 0;
    cap.reopened = 0;
    cap.dropped = 0;
    pthread_mutex_init(&cap.lock, NULL);
    clt_generation++;
    __atomic_store_n(&clt_seq_counter, 0, __ATOMIC_RELAXED);
}
