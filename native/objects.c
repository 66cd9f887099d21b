/* What the shim remembers about OpenCL objects: buffer sizes, per-kernel
 * argument bytes, queue properties the app asked for, devices already
 * described. Small open-addressing maps under a mutex each; handles are only
 * compared, never dereferenced. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "clt.h"

#define TOMB ((uintptr_t)1)

struct slot { uintptr_t key; uint64_t num; void *val; };
struct map { pthread_mutex_t lock; size_t cap, used; struct slot *s; };

#define MAP_INIT { PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL }
static struct map mems = MAP_INIT, kernels = MAP_INIT, queues = MAP_INIT, devices = MAP_INIT;

static size_t hash(uintptr_t k) { return (size_t)((k >> 4) * 0x9E3779B97F4A7C15ull); }

/* Lock held. Returns the slot for key, or NULL if absent (create=0). */
static struct slot *map_find(struct map *m, uintptr_t key, int create)
{
    struct slot *tomb = NULL;
    size_t i;
    if (m->cap == 0 || (create && (m->used + 1) * 2 > m->cap)) {
        if (!create)
            return NULL;
        size_t ncap = m->cap ? m->cap * 2 : 256, live = 0;
        struct slot *ns = calloc(ncap, sizeof *ns), *old = m->s;
        if (!ns)
            return NULL;
        for (i = 0; i < m->cap; i++) {
            if (old[i].key <= TOMB)
                continue;
            size_t j = hash(old[i].key) & (ncap - 1);
            while (ns[j].key)
                j = (j + 1) & (ncap - 1);
            ns[j] = old[i];
            live++;
        }
        free(old);
        m->s = ns;
        m->cap = ncap;
        m->used = live;
    }
    for (i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct slot *s = &m->s[i];
        if (s->key == key)
            return s;
        if (s->key == TOMB && !tomb)
            tomb = s;
        if (s->key == 0) {
            if (!create)
                return NULL;
            if (tomb)
                s = tomb;
            else
                m->used++;
            s->key = key;
            s->num = 0;
            s->val = NULL;
            return s;
        }
    }
}

static void map_del(struct map *m, uintptr_t key)
{
    struct slot *s;
    pthread_mutex_lock(&m->lock);
    s = map_find(m, key, 0);
    if (s) {
        free(s->val);
        s->key = TOMB;
        s->val = NULL;
    }
    pthread_mutex_unlock(&m->lock);
}

/* ---- buffers ---- */
void clt_mem_add(cl_mem mem, uint64_t size)
{
    struct slot *s;
    if (!mem)
        return;
    pthread_mutex_lock(&mems.lock);
    s = map_find(&mems, (uintptr_t)mem, 1);
    if (s)
        s->num = size;
    pthread_mutex_unlock(&mems.lock);
}

uint64_t clt_mem_size(const void *mem)
{
    struct slot *s;
    uint64_t r = 0;
    if ((uintptr_t)mem <= TOMB)
        return 0;
    pthread_mutex_lock(&mems.lock);
    s = map_find(&mems, (uintptr_t)mem, 0);
    if (s)
        r = s->num;
    pthread_mutex_unlock(&mems.lock);
    return r;
}

void clt_mem_del(cl_mem mem) { map_del(&mems, (uintptr_t)mem); }

/* ---- kernel arguments: val = uint64_t bytes[num] ---- */
#define MAX_TRACKED_ARGS 256

/* Bumped (under kernels.lock) by every change to any kernel's table, so a
 * thread may reuse the sum it last computed for the same kernel. */
static uint64_t kargs_version = 1;
static void kargs_changed(void) { __atomic_store_n(&kargs_version, kargs_version + 1, __ATOMIC_RELEASE); }

void clt_kernel_reset(cl_kernel k, cl_uint nargs)
{
    struct slot *s;
    if (!k)
        return;
    if (nargs > MAX_TRACKED_ARGS)
        nargs = MAX_TRACKED_ARGS;
    pthread_mutex_lock(&kernels.lock);
    s = map_find(&kernels, (uintptr_t)k, 1);
    if (s) {
        free(s->val);
        s->val = calloc(nargs ? nargs : 1, sizeof(uint64_t));
        s->num = s->val ? nargs : 0;
    }
    kargs_changed();
    pthread_mutex_unlock(&kernels.lock);
}

void clt_kernel_clone(cl_kernel src, cl_kernel dst)
{
    struct slot *s, *d;
    uint64_t tmp[MAX_TRACKED_ARGS];
    size_t n = 0;
    pthread_mutex_lock(&kernels.lock);
    s = map_find(&kernels, (uintptr_t)src, 0);
    if (s && s->val) {
        n = s->num;
        memcpy(tmp, s->val, n * sizeof(uint64_t));
    }
    d = map_find(&kernels, (uintptr_t)dst, 1);
    if (d) {
        free(d->val);
        d->val = calloc(n ? n : 1, sizeof(uint64_t));
        d->num = d->val ? n : 0;
        if (d->val)
            memcpy(d->val, tmp, n * sizeof(uint64_t));
    }
    kargs_changed();
    pthread_mutex_unlock(&kernels.lock);
}

void clt_kernel_setarg(cl_kernel k, cl_uint idx, uint64_t bytes)
{
    struct slot *s;
    pthread_mutex_lock(&kernels.lock);
    s = map_find(&kernels, (uintptr_t)k, 0);
    if (s && s->val && idx < s->num && ((uint64_t *)s->val)[idx] != bytes) {
        ((uint64_t *)s->val)[idx] = bytes;
        kargs_changed();
    }
    pthread_mutex_unlock(&kernels.lock);
}

uint64_t clt_kernel_argbytes(struct clt_thread *t, cl_kernel k)
{
    uint64_t v = __atomic_load_n(&kargs_version, __ATOMIC_ACQUIRE);
    struct slot *s;
    uint64_t sum = 0;
    if (t->ak == (const void *)k && t->ak_version == v)
        return t->ak_sum;
    pthread_mutex_lock(&kernels.lock);
    s = map_find(&kernels, (uintptr_t)k, 0);
    if (s && s->val)
        for (uint64_t i = 0; i < s->num; i++)
            sum += ((uint64_t *)s->val)[i];
    pthread_mutex_unlock(&kernels.lock);
    t->ak = k;                /* v was read first: a change since makes the next call recompute */
    t->ak_version = v;
    t->ak_sum = sum;
    return sum;
}

/* ---- queues ---- */
#define MAX_PROPS 32
struct qinfo {
    cl_command_queue_properties app;
    int forced;
    size_t array_n;                       /* 0: created by clCreateCommandQueue */
    cl_queue_properties array[MAX_PROPS];
};

void clt_queue_add(cl_command_queue q, cl_command_queue_properties app, int forced,
                   const cl_queue_properties *app_array)
{
    struct slot *s;
    struct qinfo *qi = calloc(1, sizeof *qi);
    if (!q || !qi) {
        free(qi);
        return;
    }
    qi->app = app;
    qi->forced = forced;
    if (app_array) {
        size_t n = 0;
        while (n + 2 < MAX_PROPS && app_array[n])
            n += 2;
        memcpy(qi->array, app_array, n * sizeof(cl_queue_properties));
        qi->array[n] = 0;
        qi->array_n = n + 1;
    }
    pthread_mutex_lock(&queues.lock);
    s = map_find(&queues, (uintptr_t)q, 1);
    if (s) {
        free(s->val);
        s->val = qi;
        qi = NULL;
    }
    pthread_mutex_unlock(&queues.lock);
    free(qi);
}

int clt_queue_lookup(cl_command_queue q, cl_command_queue_properties *app, int *forced,
                     cl_queue_properties *array, size_t *array_bytes)
{
    struct slot *s;
    int found = 0;
    pthread_mutex_lock(&queues.lock);
    s = map_find(&queues, (uintptr_t)q, 0);
    if (s && s->val) {
        struct qinfo *qi = s->val;
        found = 1;
        if (app)
            *app = qi->app;
        if (forced)
            *forced = qi->forced;
        if (array_bytes)
            *array_bytes = qi->array_n * sizeof(cl_queue_properties);
        if (array)
            memcpy(array, qi->array, qi->array_n * sizeof(cl_queue_properties));
    }
    pthread_mutex_unlock(&queues.lock);
    return found;
}

void clt_queue_del(cl_command_queue q) { map_del(&queues, (uintptr_t)q); }

int clt_device_first_seen(cl_device_id d)
{
    struct slot *s;
    int first = 0;
    pthread_mutex_lock(&devices.lock);
    s = map_find(&devices, (uintptr_t)d, 1);
    if (s && !s->num) {
        s->num = 1;
        first = 1;
    }
    pthread_mutex_unlock(&devices.lock);
    return first;
}

/* Fork child: the maps stay valid (same handles), only the locks may be held
 * by threads that do not exist here; devices must be described again in the
 * child's own file. */
void clt_objects_atfork_child(void)
{
    pthread_mutex_init(&mems.lock, NULL);
    pthread_mutex_init(&kernels.lock, NULL);
    pthread_mutex_init(&queues.lock, NULL);
    pthread_mutex_init(&devices.lock, NULL);
    for (size_t i = 0; i < devices.cap; i++)
        devices.s[i].num = 0;
}
