/* Capture mode "preload", part 2: a stand-in libOpenCL.so.1 (first on
 * LD_LIBRARY_PATH) for programs that dlopen the loader and dlsym from the
 * handle. Every loader entry point is a one-instruction trampoline through a
 * pointer resolved at load: the preload library's hook when it has one (so a
 * launch is recorded once), else the real loader's function. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CLT_HIDDEN __attribute__((visibility("hidden")))

__attribute__((visibility("default"))) const int cltrace_shadow_marker = 1;

#define CLT_ENTRY(name, ver) CLT_HIDDEN void *clt_ptr_##name;
#include "cl_entries.h"
#undef CLT_ENTRY

#if defined(__x86_64__)
#define TRAMP(name)                                                                                        \
    __asm__(".text\n.globl " #name "\n.type " #name ",@function\n" #name ":\n"                             \
            "\tjmp *clt_ptr_" #name "(%rip)\n.size " #name ", .-" #name "\n");
#elif defined(__aarch64__)
#define TRAMP(name)                                                                                        \
    __asm__(".text\n.globl " #name "\n.type " #name ",%function\n" #name ":\n"                             \
            "\tadrp x16, clt_ptr_" #name "\n\tldr x16, [x16, :lo12:clt_ptr_" #name "]\n\tbr x16\n"        \
            ".size " #name ", .-" #name "\n");
#else
#error "shadow trampolines: unsupported architecture"
#endif
#define CLT_ENTRY(name, ver) TRAMP(name)
#include "cl_entries.h"
#undef CLT_ENTRY

static const struct { const char *name; void **ptr; } entries[] = {
#define CLT_ENTRY(name, ver) { #name, &clt_ptr_##name },
#include "cl_entries.h"
#undef CLT_ENTRY
};

static int debug_on(void)
{
    /* same reading as options.c's booleans: set and not 0/false/no/off */
    const char *d = getenv("CLTRACE_DEBUG");
    return d && *d && strcmp(d, "0") && strcasecmp(d, "false") && strcasecmp(d, "no") && strcasecmp(d, "off");
}

static void *open_real(void)
{
    static const char *fallback[] = { "/usr/lib/x86_64-linux-gnu/libOpenCL.so.1", "/usr/lib64/libOpenCL.so.1",
                                      "/usr/lib/aarch64-linux-gnu/libOpenCL.so.1", "/usr/lib/libOpenCL.so.1" };
    const char *env = getenv("CLTRACE_REAL_LIBOPENCL");
    void *h;
    if (env && env[0]) {
        h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (h && !dlsym(h, "cltrace_shadow_marker"))
            return h;
    }
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++) {
        h = dlopen(fallback[i], RTLD_NOW | RTLD_LOCAL);
        if (h && !dlsym(h, "cltrace_shadow_marker"))  /* never ourselves */
            return h;
    }
    return NULL;
}

__attribute__((constructor)) static void shadow_init(void)
{
    void *real = open_real();
    void *(*hook)(const char *) = (void *(*)(const char *))dlsym(RTLD_DEFAULT, "cltrace_preload_lookup");
    size_t nhook = 0, nreal = 0;
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *p = hook ? hook(entries[i].name) : NULL;
        if (p)
            nhook++;
        else if (real && (p = dlsym(real, entries[i].name)))
            nreal++;
        *entries[i].ptr = p;
    }
    if (debug_on())
        fprintf(stderr, "cltrace[%d]: shadow libOpenCL.so.1: %zu hooks, %zu real, real loader %s\n", (int)getpid(),
                nhook, nreal, real ? "found" : "MISSING");
}
