/* Capture file writer: one file per process image, per-thread mmap'd chunks.
 * The record path never mallocs and takes no lock unless a new chunk needs
 * the file grown (rare). Records live in MAP_SHARED pages, so they survive any
 * death of the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "clt.h"

#ifdef MADV_POPULATE_WRITE
#define CLT_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define CLT_MADV_POPULATE_WRITE 23     /* Linux 5.14 */
#endif

#define GROW_CHUNKS 64        /* file grows by this many chunks at a time */
#define MAP_DELTA CLT_FILE_HEADER_SIZE   /* chunk_size is a multiple of the page size */
#define READY_STEP (64u * 1024)          /* bytes of a chunk faulted in at a time on the record path */

static void unmap_chunk(char *base);

uint64_t clt_seq_counter;
unsigned clt_generation = 1;

static struct {
    int fd;                   /* -1: not open yet */
    int failed;               /* open failed in this image: stay silent */
    pid_t pid;
    uint32_t chunk_size;
    uint64_t nchunks;         /* chunks handed out (atomic) */
    uint64_t file_size;       /* bytes (atomic read, written under lock) */
    uint64_t dropped;
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
}

/* The thread's chunk belongs to an older generation (fork child): drop it. */
void clt_chunk_forget(struct clt_thread *t)
{
    if (t->base)
        unmap_chunk(t->base);
    t->base = NULL;
    t->ready = 0;
}

static void key_init(void) { pthread_key_create(&chunk_key, chunk_release); }

uint32_t clt_max_string(void)
{
    return cap.chunk_size ? cap.chunk_size / 4 : 4096;
}

/* Called with cap.lock held. */
static int open_file(void)
{
    char path[4096];
    clt_file_header *h;
    uint64_t mono = clt_now();
    struct timespec rt;
    int fd;
    uint32_t cs = 4096;

    if (cap.failed)
        return -1;
    while ((cs < (uint64_t)clt_opt.CLTRACE_CHUNK_KB * 1024 || cs < (uint64_t)sysconf(_SC_PAGESIZE)) &&
           cs < (1u << 30))
        cs <<= 1;
    cap.chunk_size = cs;
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    snprintf(path, sizeof path, "%s/p%d-%llu.clt", clt_opt.CLTRACE_DIR, (int)getpid(),
             (unsigned long long)mono);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, CLT_FILE_HEADER_SIZE + (uint64_t)GROW_CHUNKS * cs) != 0) {
        clt_debug("cannot create %s: %s", path, strerror(errno));
        if (fd >= 0)
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
    munmap(h, CLT_FILE_HEADER_SIZE);
    cap.nchunks = 0;
    cap.file_size = CLT_FILE_HEADER_SIZE + (uint64_t)GROW_CHUNKS * cs;
    cap.pid = getpid();
    __atomic_store_n(&cap.fd, fd, __ATOMIC_RELEASE);
    clt_debug("capture file %s (mode %s, chunk %u)", path, clt_mode, cs);
    return 0;
}

static int ensure_open(void)
{
    int just_opened = 0;
    if (__atomic_load_n(&cap.fd, __ATOMIC_ACQUIRE) >= 0)
        return 0;
    if (!clt_on || cap.failed)
        return -1;
    pthread_mutex_lock(&cap.lock);
    if (cap.fd < 0 && open_file() == 0)
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
}

void clt_capture_prepare(struct clt_thread *t)
{
    if (t->base && t->gen == clt_generation)
        make_ready(t, cap.chunk_size);
}

static char *new_chunk(void)
{
    uint64_t idx = __atomic_fetch_add(&cap.nchunks, 1, __ATOMIC_RELAXED);
    uint64_t off = CLT_FILE_HEADER_SIZE + idx * cap.chunk_size;
    uint64_t need = off + cap.chunk_size;
    clt_chunk_header *ch;
    void *p;

    if (__atomic_load_n(&cap.file_size, __ATOMIC_ACQUIRE) < need) {
        pthread_mutex_lock(&cap.lock);
        if (cap.file_size < need) {
            uint64_t sz = need + (uint64_t)GROW_CHUNKS * cap.chunk_size;
            if (ftruncate(cap.fd, (off_t)sz) == 0)
                __atomic_store_n(&cap.file_size, sz, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&cap.lock);
        if (__atomic_load_n(&cap.file_size, __ATOMIC_ACQUIRE) < need)
            return NULL;
    }
    /* Chunks sit after a 128-byte header, so they are not page aligned: map
     * from the page below (MAP_DELTA more bytes). */
    p = mmap(NULL, cap.chunk_size + MAP_DELTA, PROT_READ | PROT_WRITE, MAP_SHARED, cap.fd,
             (off_t)(off - MAP_DELTA));
    if (p == MAP_FAILED)
        return NULL;
    ch = (clt_chunk_header *)((char *)p + MAP_DELTA);
    ch->tid = clt_tid();
    ch->index = idx;
    __atomic_store_n(&ch->magic, (uint32_t)CLT_CHUNK_MAGIC, __ATOMIC_RELEASE);
    return (char *)ch;
}

void *clt_reserve_slow(uint32_t size)
{
    struct clt_thread *t;
    char *r;
    if (ensure_open() != 0)
        return NULL;
    t = clt_thread();                     /* fork child: drops the parent's mapping */
    if (size > cap.chunk_size - sizeof(clt_chunk_header)) {
        __atomic_add_fetch(&cap.dropped, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (!t->base || t->off + size > cap.chunk_size) {
        if (t->base)
            unmap_chunk(t->base);
        else {
            pthread_once(&key_once, key_init);
            pthread_setspecific(chunk_key, t);
        }
        t->ready = 0;
        t->off = sizeof(clt_chunk_header);
        if (!(t->base = new_chunk())) {
            __atomic_add_fetch(&cap.dropped, 1, __ATOMIC_RELAXED);
            return NULL;
        }
    }
    if (t->off + size > t->ready)
        make_ready(t, (uint64_t)t->off + size + READY_STEP);
    r = t->base + t->off;
    t->off += size;
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

/* In a fork child: forget the parent's file; the next record opens our own. */
void clt_capture_atfork_child(void)
{
    if (cap.fd >= 0)
        close(cap.fd);
    cap.fd = -1;
    cap.failed = 0;
    cap.dropped = 0;
    pthread_mutex_init(&cap.lock, NULL);
    clt_generation++;
    __atomic_store_n(&clt_seq_counter, 0, __ATOMIC_RELAXED);
}
