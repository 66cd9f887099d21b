/*
 * conv_bench: run one CNN convolution layer on OpenCL with a given number of
 * output channels, by one of five methods, and time it; each measured
 * iteration is one cltrace region, so `cltrace run` can explain the latency
 * staircase of a channel sweep (Radu et al., IISWC 2019).
 *
 *   conv_bench --layer resnet50.L15 --out-channels 92 --method gemm --scale 0.25 --check
 *   conv_bench --input 56x56x64 --kernel 3 --pad 1 --out-channels 106 --method clblast
 *   conv_bench --layer resnet50.L15 --out-channels 5,1,12 --order-seed 7 --method tiled   (one process, 3 counts)
 *   conv_bench --input 14x14x2048 --kernel 3 --pad 1 --out-channels 197,198,199,200 --method clblast \
 *              --warmup-per variant                        (one warm-up per kernel variant of the list)
 *
 * Exit codes: 0 ok, 1 runtime failure or --check mismatch, 2 bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cl_util.h"
#include "conv_layers.h"
#include "conv_methods.h"
#include "../native/include/cltrace.h"
#ifdef HAVE_CLBLAST
#include <clblast_c.h>
#endif

static const char conv_cl_source[] =
#include "conv_cl.inc"
    ;
static const char conv_cl2_source[] =
#include "conv_cl2.inc"
    ;

static const char usage_text[] =
    "usage: conv_bench (--layer NAME | --input HxWxC --kernel K [--stride S] [--pad P])\n"
    "                  [--out-channels N[,N...]] [--method gemm|direct|clblast|tiled|bifrost|bifrost-rounds]\n"
    "                  [--iters N] [--warmup N] [--warmup-per count|variant] [--order-seed S]\n"
    "                  [--aa-label NAME=V1,V2,...]"
    " [--local null|auto] [--scale F] [--check] [--platform SUBSTR]\n"
    "       conv_bench --list-layers | --help\n"
    "\n"
    "Runs one convolution layer on OpenCL and prints the median latency of --iters runs\n"
    "(host clock, clFinish after each run). Each measured run is a cltrace region named\n"
    "after the layer and tagged channels=N,method=M (plus local=auto with --local auto);\n"
    "warm-up runs are outside regions.\n"
    "\n"
    "  --layer NAME         built-in layer (see --list-layers), e.g. resnet50.L15, vgg16.L3\n"
    "  --input HxWxC        custom layer input (with --kernel, --stride default 1, --pad default 0)\n"
    "  --out-channels N     output channels (default: the layer's unpruned count; required with --input).\n"
    "                       A list N1,N2,... measures every count in this one process (a blocked run,\n"
    "                       as `cltrace sweep --block K` makes: docs/analysis.md): each its warm-up\n"
    "                       first, then the iterations interleaved (round i runs iteration i of every\n"
    "                       count), each in a region tagged with its count; a RESULT line per count\n"
    "  --order-seed S       the counts of a list (or the --aa-label values) in a random order drawn from\n"
    "                       seed S, a new one each round (default 0: the order given)\n"
    "  --aa-label NAME=V1,V2,...  an A/A check: measure the one channel count once per value, its regions\n"
    "                       also tagged NAME=V (a parameter the layer ignores: bench/bench_aa.py --block)\n"
    "  --method M           gemm: im2col + float4 GEMM (4 channels per work-item) + gemm_tail for M%4\n"
    "                       direct: direct convolution, global (N,Ho,Wo), local size per --local\n"
    "                       clblast: im2col + CLBlastSgemm (m=channels, n=Ho*Wo, k=C*K*K)\n"
    "                       tiled: one work-group per tile of 4 channels over the whole output,\n"
    "                       global (64, ceil(N/4)), local (64, 1): ceil(N/4) work-groups run in\n"
    "                       ceil(ceil(N/4) / compute units) rounds (steps at N = 4*CU*r -> 4*CU*r+1)\n"
    "                       bifrost: im2col + gemm_mm_f32_bifrost_like, shaped like ACL's Bifrost GEMM:\n"
    "                       4 channels per work-item, global (ceil(N/4), Ho*Wo), local (4, 1), built\n"
    "                       with -cl-std=CL2.0: non-uniform unless ceil(N/4) % 4 == 0, 2 jobs where a\n"
    "                       runtime splits it. PoCL refuses non-uniform ranges: run it with\n"
    "                       OPENCL_LAYERS=$PWD/examples/bin/libsplit_layer.so (docs/acl.md)\n"
    "                       bifrost-rounds: bifrost's 4 channels per work-item and local (4, 1) with\n"
    "                       the output plane folded into each work-item: global (ceil(N/4), 1), few\n"
    "                       heavy work-groups, so a remainder job (same split as bifrost) costs a\n"
    "                       whole round of compute units (92 channels: 5 groups + 3 items, 93: 6)\n"
    "                       (default gemm)\n"
    "  --local L            work-group size of --method direct: null = local_work_size NULL, the runtime\n"
    "                       chooses (default); auto = explicit, ACL-like: channels dim = largest of\n"
    "                       8,4,2,1 dividing N, then Wo, then Ho the same way, within\n"
    "                       min(64, CL_KERNEL_WORK_GROUP_SIZE) work-items\n"
    "  --iters N            measured runs (default 10)\n"
    "  --warmup N           unmeasured runs first (default 2)\n"
    "  --warmup-per P       with a list of counts: count = the --warmup runs for every count (default);\n"
    "                       variant = for one count of each variant of the list only (the same kernels\n"
    "                       with the same global and local sizes; clblast, whose launches CLBlast picks:\n"
    "                       the largest count, and every count by calls with k = 1, CLBlast's direct\n"
    "                       kernel at its sizes: either side of CLBlast's direct/indirect switch).\n"
    "                       Every other count's buffers are made resident first. Outside regions either way\n"
    "  --scale F            multiply the input H and W by F (0 < F <= 4), e.g. 0.25 on CPUs\n"
    "  --check              compare sampled outputs with a CPU reference (exit 1 on mismatch)\n"
    "  --platform SUBSTR    first OpenCL platform whose name or vendor contains SUBSTR\n"
    "  --list-layers        print the built-in layers and their numbering\n";

#define MAX_CHANNEL_LIST 4096

struct options {
    const char *layer, *input, *platform;
    int kernel, stride, pad, out_channels, iters, warmup, check;
    int channels[MAX_CHANNEL_LIST], n_channels;   /* --out-channels N1,N2,...: one process measures each */
    unsigned order_seed;
    char aa_name[32];                              /* --aa-label NAME=V1,...: the same count once per value */
    int aa_values[MAX_CHANNEL_LIST], n_aa;
    double scale;
    enum conv_method method;
    enum conv_local local;
    int local_given;
    int warmup_per_variant;                        /* --warmup-per variant */
};

static int parse_int(const char *opt, const char *v, int min)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < min || x > 1000000)
        die(EXIT_USAGE, "invalid value '%s' for %s (expected an integer >= %d)", v, opt, min);
    return (int)x;
}

/* --out-channels N or N1,N2,...: every count an integer >= 1, none twice (one unit per count and process). */
static void parse_channels(const char *v, struct options *o)
{
    const char *p = v;
    o->n_channels = 0;
    for (;;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || x < 1 || x > 1000000)
            die(EXIT_USAGE, "invalid value '%s' for --out-channels (expected an integer >= 1%s)", v,
                strchr(v, ',') ? " or a list N1,N2,... of them" : "");
        for (int j = 0; j < o->n_channels; ++j)
            if (o->channels[j] == (int)x)
                die(EXIT_USAGE, "--out-channels %s: %ld appears twice (a process measures each count once)", v, x);
        if (o->n_channels == MAX_CHANNEL_LIST)
            die(EXIT_USAGE, "--out-channels: more than %d counts in one process", MAX_CHANNEL_LIST);
        o->channels[o->n_channels++] = (int)x;
        if (!*end)
            break;
        p = end + 1;
    }
    o->out_channels = o->channels[0];
}

/* --aa-label NAME=V1,V2,...: a tag name and whole-number values, none twice. */
static void parse_aa_label(const char *v, struct options *o)
{
    const char *eq = strchr(v, '=');
    size_t n = eq ? (size_t)(eq - v) : 0;
    if (!eq || n == 0 || n >= sizeof o->aa_name || strcspn(v, ",") < n)
        die(EXIT_USAGE, "invalid value '%s' for --aa-label (expected NAME=V1,V2,... with whole numbers)", v);
    memcpy(o->aa_name, v, n);
    o->aa_name[n] = 0;
    struct options tmp;
    memset(&tmp, 0, sizeof tmp);
    const char *p = eq + 1;
    for (;;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || x < 0 || x > 1000000)
            die(EXIT_USAGE, "invalid value '%s' for --aa-label (expected NAME=V1,V2,... with whole numbers)", v);
        for (int j = 0; j < tmp.n_aa; ++j)
            if (tmp.aa_values[j] == (int)x)
                die(EXIT_USAGE, "--aa-label %s: %ld appears twice", v, x);
        if (tmp.n_aa == MAX_CHANNEL_LIST)
            die(EXIT_USAGE, "--aa-label: more than %d values", MAX_CHANNEL_LIST);
        tmp.aa_values[tmp.n_aa++] = (int)x;
        if (!*end)
            break;
        p = end + 1;
    }
    memcpy(o->aa_values, tmp.aa_values, sizeof tmp.aa_values);
    o->n_aa = tmp.n_aa;
}

/* --order-seed S: a list in a random order (Fisher-Yates over a 64-bit LCG seeded by S). */
static void shuffle_ints(int *x, int n, unsigned seed)
{
    unsigned long long st = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (int i = n - 1; i > 0; --i) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        int j = (int)((st >> 33) % (unsigned long long)(i + 1));
        int t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

static void parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->kernel = o->stride = o->pad = o->out_channels = -1;
    o->iters = 10;
    o->warmup = 2;
    o->scale = 1.0;
    o->method = METHOD_GEMM;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (!strcmp(a, "--list-layers")) {
            conv_layers_print(stdout);
            exit(0);
        }
        if (!strcmp(a, "--check")) {
            o->check = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            die(EXIT_USAGE, "unexpected argument '%s' (see --help)", a);
        static const char *valued[] = {"--layer", "--input", "--kernel", "--stride", "--pad", "--out-channels",
                                       "--method", "--iters", "--warmup", "--scale", "--platform",
                                       "--local", "--order-seed", "--aa-label", "--warmup-per"};
        int known = 0;
        for (size_t j = 0; j < sizeof valued / sizeof *valued; ++j)
            known |= !strcmp(a, valued[j]);
        if (!known)
            die(EXIT_USAGE, "unknown option '%s' (see --help)", a);
        if (i + 1 >= argc)
            die(EXIT_USAGE, "option %s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--layer")) o->layer = v;
        else if (!strcmp(a, "--input")) o->input = v;
        else if (!strcmp(a, "--platform")) o->platform = v;
        else if (!strcmp(a, "--kernel")) o->kernel = parse_int(a, v, 1);
        else if (!strcmp(a, "--stride")) o->stride = parse_int(a, v, 1);
        else if (!strcmp(a, "--pad")) o->pad = parse_int(a, v, 0);
        else if (!strcmp(a, "--out-channels")) parse_channels(v, o);
        else if (!strcmp(a, "--order-seed")) o->order_seed = (unsigned)parse_int(a, v, 0);
        else if (!strcmp(a, "--aa-label")) parse_aa_label(v, o);
        else if (!strcmp(a, "--iters")) o->iters = parse_int(a, v, 1);
        else if (!strcmp(a, "--warmup")) o->warmup = parse_int(a, v, 0);
        else if (!strcmp(a, "--warmup-per")) {
            if (strcmp(v, "count") && strcmp(v, "variant"))
                die(EXIT_USAGE, "invalid value '%s' for --warmup-per (expected count or variant)", v);
            o->warmup_per_variant = !strcmp(v, "variant");
        }
        else if (!strcmp(a, "--method")) {
            if (conv_method_parse(v, &o->method) != 0)
                die(EXIT_USAGE, "unknown method '%s' (expected gemm, direct, clblast, tiled, bifrost or bifrost-rounds)", v);
        } else if (!strcmp(a, "--local")) {
            if (conv_local_parse(v, &o->local) != 0)
                die(EXIT_USAGE, "invalid value '%s' for --local (expected null or auto)", v);
            o->local_given = 1;
        } else if (!strcmp(a, "--scale")) {
            char *end;
            o->scale = strtod(v, &end);
            if (!*v || *end || !(o->scale > 0.0 && o->scale <= 4.0))
                die(EXIT_USAGE, "invalid value '%s' for --scale (expected a number in (0, 4])", v);
        }
    }
    if (o->n_aa && o->n_channels > 1)
        die(EXIT_USAGE, "--aa-label measures one channel count: give --out-channels N, not a list");
    if (o->order_seed && o->n_channels < 2 && o->n_aa < 2)
        die(EXIT_USAGE, "--order-seed orders a list of counts: give --out-channels N1,N2,...");
    if (o->order_seed) {
        shuffle_ints(o->channels, o->n_channels, o->order_seed);
        shuffle_ints(o->aa_values, o->n_aa, o->order_seed);
    }
}

/* Resolve the layer and the problem size; *name receives the region name. */
static void resolve_problem(const struct options *o, struct conv_problem *pb, char *name, size_t name_len)
{
    int h, w, c;
    if (o->layer && o->input)
        die(EXIT_USAGE, "--layer and --input are mutually exclusive");
    if (o->layer) {
        const struct conv_layer *l = conv_layer_find(o->layer);
        if (!l)
            die(EXIT_USAGE, "unknown layer '%s' (see --list-layers)", o->layer);
        if (o->kernel >= 0 || o->stride >= 0 || o->pad >= 0)
            die(EXIT_USAGE, "--kernel, --stride and --pad go with --input, not --layer");
        h = l->h; w = l->w; c = l->c;
        pb->k = l->k; pb->s = l->s; pb->p = l->p;
        pb->m = o->out_channels > 0 ? o->out_channels : l->out;
        snprintf(name, name_len, "%s", l->name);
    } else if (o->input) {
        char tail;
        if (sscanf(o->input, "%dx%dx%d%c", &h, &w, &c, &tail) != 3 || h < 1 || w < 1 || c < 1)
            die(EXIT_USAGE, "invalid value '%s' for --input (expected HxWxC, e.g. 56x56x64)", o->input);
        if (o->kernel < 0)
            die(EXIT_USAGE, "--input needs --kernel");
        if (o->out_channels < 0)
            die(EXIT_USAGE, "--input needs --out-channels");
        pb->k = o->kernel;
        pb->s = o->stride > 0 ? o->stride : 1;
        pb->p = o->pad >= 0 ? o->pad : 0;
        pb->m = o->out_channels;
        snprintf(name, name_len, "custom.%dx%dx%d.k%ds%dp%d", h, w, c, pb->k, pb->s, pb->p);
    } else {
        die(EXIT_USAGE, "give --layer NAME or --input HxWxC (see --help)");
    }
    pb->c = c;
    pb->h = (int)lround(h * o->scale);
    pb->w = (int)lround(w * o->scale);
    if (pb->h < 1) pb->h = 1;
    if (pb->w < 1) pb->w = 1;
    if (pb->h + 2 * pb->p < pb->k || pb->w + 2 * pb->p < pb->k)
        die(EXIT_USAGE, "kernel %d does not fit the %dx%d input with pad %d (raise --scale)", pb->k, pb->h,
            pb->w, pb->p);
    pb->ho = (pb->h + 2 * pb->p - pb->k) / pb->s + 1;
    pb->wo = (pb->w + 2 * pb->p - pb->k) / pb->s + 1;
}

static float *random_floats(size_t n, unsigned *state)
{
    float *x = malloc(n * sizeof *x);
    if (!x)
        die(EXIT_RUNTIME, "out of host memory (%zu floats)", n);
    for (size_t i = 0; i < n; ++i) {
        *state = *state * 1664525u + 1013904223u;
        x[i] = (float)((*state >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
    }
    return x;
}

/* Compare sampled output points with a double-precision reference; returns mismatches. */
static int check_output(const struct conv_problem *pb, const float *in, const float *w, const float *out,
                        int *points, double *max_err)
{
    int bad = 0, n = 0;
    unsigned st = 12345;
    *max_err = 0.0;
    for (int i = 0; i < 64; ++i) {
        int m, oy, ox;
        st = st * 1664525u + 1013904223u;
        /* first and last channels always (the last are gemm_tail's or tiled's partial tile), the rest sampled */
        if (i < 4)
            m = i == 0 || pb->m - i < 0 ? 0 : pb->m - i;
        else
            m = (int)((st >> 8) % (unsigned)pb->m);
        oy = i % 4 == 0 ? 0 : i % 4 == 1 ? pb->ho - 1 : (int)((st >> 4) % (unsigned)pb->ho);
        ox = i % 4 == 0 ? 0 : i % 4 == 1 ? pb->wo - 1 : (int)((st >> 12) % (unsigned)pb->wo);
        double ref = 0.0, mag = 0.0;
        for (int c = 0; c < pb->c; ++c)
            for (int ky = 0; ky < pb->k; ++ky)
                for (int kx = 0; kx < pb->k; ++kx) {
                    int iy = oy * pb->s - pb->p + ky, ix = ox * pb->s - pb->p + kx;
                    if (iy < 0 || iy >= pb->h || ix < 0 || ix >= pb->w)
                        continue;
                    double t = (double)in[((size_t)c * pb->h + iy) * pb->w + ix] *
                               w[(((size_t)m * pb->c + c) * pb->k + ky) * pb->k + kx];
                    ref += t;
                    mag += fabs(t);
                }
        double got = out[((size_t)m * pb->ho + oy) * pb->wo + ox];
        double err = fabs(got - ref);
        if (err > *max_err) *max_err = err;
        if (err > 1e-4 * mag + 1e-5) {
            if (bad < 3)
                fprintf(stderr, "%s: mismatch at channel %d, y %d, x %d: got %.6g, expected %.6g\n", prog_name, m,
                        oy, ox, got, ref);
            ++bad;
        }
        ++n;
    }
    *points = n;
    return bad;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One configuration a process measures: an output-channel count (and an --aa-label value, or -1). */
struct point {
    struct conv_problem pb;
    int aa;
    char tags[160];
    float *weights;
    struct conv_runner r;
    double *ms;
    int warmups;        /* warm-up runs of this configuration itself (--warmup-per variant: 0 for most) */
};

/* Its own weights (the same as a process of that count alone: the state after the input) and its runner. */
static void point_init(const struct options *o, struct point *p, struct cl_env *env, const float *input,
                       unsigned weight_seed)
{
    /* The default (null) keeps the historical tags; auto is tagged so runs stay distinguishable. */
    if (o->local == LOCAL_AUTO)
        snprintf(p->tags, sizeof p->tags, "channels=%d,method=%s,local=auto", p->pb.m, conv_method_name(o->method));
    else
        snprintf(p->tags, sizeof p->tags, "channels=%d,method=%s", p->pb.m, conv_method_name(o->method));
    if (p->aa >= 0)
        snprintf(p->tags + strlen(p->tags), sizeof p->tags - strlen(p->tags), ",%s=%d", o->aa_name, p->aa);
    size_t kd = (size_t)p->pb.c * p->pb.k * p->pb.k;
    p->weights = random_floats((size_t)p->pb.m * kd, &weight_seed);
    p->ms = malloc(o->iters * sizeof *p->ms);
    if (!p->ms)
        die(EXIT_RUNTIME, "out of host memory");
    conv_runner_init(&p->r, env, o->method, o->local, &p->pb, input, p->weights, conv_cl_source, conv_cl2_source);
}

/* Warm-up runs, outside regions: they carry kernel compilation (PoCL builds a kernel once per local size; CLBlast
 * its program once per routine) and the buffers' first use, and are no sample. */
static void point_warm(struct point *p, struct cl_env *env, int runs)
{
    for (int i = 0; i < runs; ++i) {
        conv_runner_run(&p->r);
        cl_check(clFinish(env->queue), "clFinish");
    }
    p->warmups = runs;
}

/* A configuration without warm-up runs of its own (--warmup-per variant): its buffers are made resident on the
 * device before any region (a runtime may allocate and fill them at their first use), so that its first measured
 * run does only what every later one does. */
static void point_make_resident(struct point *p, struct cl_env *env)
{
    cl_mem mems[4];
    cl_uint n = 0;
    cl_mem all[4] = {p->r.in, p->r.w, p->r.col, p->r.out};
    for (int i = 0; i < 4; ++i)
        if (all[i])
            mems[n++] = all[i];
    if (n)
        cl_check(clEnqueueMigrateMemObjects(env->queue, n, mems, 0, 0, NULL, NULL), "clEnqueueMigrateMemObjects");
    cl_check(clFinish(env->queue), "clFinish");
}

/* The launches of a configuration's runs: two configurations with the same key launch the same kernels with the
 * same global and local sizes, so one's warm-up warms the other's. (PoCL compiles a kernel once per local size;
 * the global size is in the key because cltrace's analysis calls a sample cold, and leaves it out, when it holds
 * the first launch in its process of a (kernel, global, local): docs/analysis.md section 1.) The global sizes
 * that do not depend on the count (im2col's) are left out. clblast: "" (CLBlast picks its launches inside; see
 * warm_variants). */
static void variant_key(const struct point *p, char *key, size_t len)
{
    const struct conv_runner *r = &p->r;
    switch (r->method) {
    case METHOD_GEMM:
        snprintf(key, len, "gemm:%zu,%zu", r->gemm_global[1], r->tail_global[1]);
        break;
    case METHOD_DIRECT:
        snprintf(key, len, "direct:%zux%zux%zu/%zux%zux%zu", r->direct_global[0], r->direct_global[1],
                 r->direct_global[2], r->direct_local[0], r->direct_local[1], r->direct_local[2]);
        break;
    case METHOD_TILED:
        snprintf(key, len, "tiled:%zu", r->tiled_global[1]);
        break;
    case METHOD_BIFROST:
    case METHOD_BIFROST_ROUNDS:
        snprintf(key, len, "bifrost:%zux%zu", r->bifrost_global[0], r->bifrost_global[1]);
        break;
    case METHOD_CLBLAST:
        key[0] = 0;
        break;
    }
}

/* clblast's direct side, cheaply: CLBlastSgemm at the configuration's own m and n with k = 1, on its own buffers
 * (the same row-major, non-transposed call as a measured run's), runs XgemmDirect (m*n*1 is far below CLBlast's
 * direct/indirect threshold), the kernel a count below that threshold runs, with the same global size (it
 * depends on m and n only) and local size (CLBlast's tuning parameters), from the same program (CLBlast builds
 * one per routine for every size), for m*n multiply-adds. Its im2col launch too. */
static void warm_clblast_direct(struct point *p, struct cl_env *env, int runs)
{
#ifdef HAVE_CLBLAST
    const size_t n = (size_t)p->pb.ho * p->pb.wo, kd = (size_t)p->pb.c * p->pb.k * p->pb.k;
    static const size_t local2[2] = {GEMM_LOCAL_X, 1};
    cl_command_queue q = env->queue;
    for (int i = 0; i < runs; ++i) {
        cl_check(clEnqueueNDRangeKernel(q, p->r.k_im2col, 2, NULL, p->r.im2col_global, local2, 0, NULL, NULL),
                 "clEnqueueNDRangeKernel(im2col)");
        CLBlastStatusCode st = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                            (size_t)p->pb.m, n, 1, 1.0f, p->r.w, 0, kd, p->r.col, 0, n, 0.0f,
                                            p->r.out, 0, n, &q, NULL);
        if (st != CLBlastSuccess)
            die(EXIT_RUNTIME, "CLBlastSgemm (warm-up, k = 1) failed with status %d", (int)st);
        cl_check(clFinish(q), "clFinish");
    }
#else
    (void)p; (void)env; (void)runs;
#endif
}

/* --warmup-per variant: the --warmup runs for one configuration of each variant, the first in (count, label)
 * order. clblast: CLBlast builds one program per routine for every size (its program cache is keyed by the
 * routine and the device's tuning parameters, not by m, n, k) and picks XgemmDirect or the indirect Xgemm with
 * its pad/transpose kernels by one threshold on m*n*k: the largest count of the list gets the --warmup runs
 * (the indirect side, when the list reaches it), and every count as many calls at its m and n with k = 1
 * (warm_clblast_direct: the direct side's exact launches). An indirect count whose launches differ from the
 * largest count's (another tile of CLBlast's padding) is not warmed: its first sample is then cold in the
 * analysis, left out and counted. Every configuration not warmed by full runs gets its buffers made resident.
 * Prints what was warmed. */
static void warm_variants(const struct options *o, struct point *pts, int n, struct cl_env *env)
{
    int *sorted = malloc((size_t)n * sizeof *sorted);
    char (*keys)[96] = malloc((size_t)n * sizeof *keys);
    if (!sorted || !keys)
        die(EXIT_RUNTIME, "out of host memory");
    for (int i = 0; i < n; ++i)
        sorted[i] = i;
    for (int i = 1; i < n; ++i)            /* insertion sort by (count, label) */
        for (int j = i; j > 0; --j) {
            const struct point *a = &pts[sorted[j - 1]], *b = &pts[sorted[j]];
            if (a->pb.m < b->pb.m || (a->pb.m == b->pb.m && a->aa <= b->aa))
                break;
            int t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    char line[512];
    size_t used = 0;
    line[0] = 0;
    for (int s = 0; s < n; ++s) {
        struct point *p = &pts[sorted[s]];
        variant_key(p, keys[s], sizeof keys[s]);
        int warm;
        if (o->method == METHOD_CLBLAST) {
            warm = s == n - 1;
            warm_clblast_direct(p, env, o->warmup);
        } else {
            warm = 1;
            for (int t = 0; t < s; ++t)
                warm &= strcmp(keys[t], keys[s]) != 0;
        }
        if (warm) {
            point_warm(p, env, o->warmup);
            if (used < sizeof line - 1)
                used += (size_t)snprintf(line + used, sizeof line - used, "%s%d", used ? ", " : "", p->pb.m);
            if (p->aa >= 0 && used < sizeof line - 1)
                used += (size_t)snprintf(line + used, sizeof line - used, " (%s=%d)", o->aa_name, p->aa);
        } else {
            point_make_resident(p, env);
        }
    }
    printf("warm-up  %d run(s) each of channels %s, once per kernel variant of the list (--warmup-per variant)%s\n",
           o->warmup, line, o->method == METHOD_CLBLAST ? "; every count: as many CLBlast calls with k = 1"
                                                        : "");
    free(sorted);
    free(keys);
}

/* Measured iteration i: one region tagged with the configuration. */
static void point_iter(struct point *p, const char *name, struct cl_env *env, int i)
{
    cltrace_region_begin(name, p->tags);
    double t0 = now_ms();
    conv_runner_run(&p->r);
    cl_check(clFinish(env->queue), "clFinish");
    p->ms[i] = now_ms() - t0;
    cltrace_region_end();
}

/* The summary lines (and --check) of one configuration; releases it. Returns its exit status. */
static int point_report(const struct options *o, struct point *p, const char *name, struct cl_env *env,
                        const float *input)
{
    const struct conv_problem pb = p->pb;
    double *ms = p->ms;
    size_t kd = (size_t)pb.c * pb.k * pb.k;
    qsort(ms, o->iters, sizeof *ms, cmp_double);
    double median = o->iters % 2 ? ms[o->iters / 2] : 0.5 * (ms[o->iters / 2 - 1] + ms[o->iters / 2]);

    printf("layer    %s  input %dx%dx%d  kernel %d stride %d pad %d\n", name, pb.h, pb.w, pb.c, pb.k, pb.s,
           pb.p);
    printf("output   %d x %dx%d   (GEMM view: M=%d N=%d K=%zu)\n", pb.m, pb.ho, pb.wo, pb.m, pb.ho * pb.wo, kd);
    printf("method   %s: %s\n", conv_method_name(o->method), p->r.plan);
    printf("device   %s (%s)\n", env->device_name, env->platform_name);
    printf("time     median %.3f ms  min %.3f  max %.3f  (%d iterations after %d warm-up%s)\n", median, ms[0],
           ms[o->iters - 1], o->iters, p->warmups, o->warmup_per_variant ? " of its own" : "");
    int status = 0;
    if (o->check) {
        float *out = malloc((size_t)pb.m * pb.ho * pb.wo * sizeof(float));
        int points;
        double max_err;
        conv_runner_read(&p->r, out);
        int bad = check_output(&pb, input, p->weights, out, &points, &max_err);
        if (bad) {
            fprintf(stderr, "%s: check failed: %d of %d sampled outputs differ from the CPU reference\n",
                    prog_name, bad, points);
            status = EXIT_RUNTIME;
        } else {
            printf("check    ok (%d sampled outputs, max abs error %.2g)\n", points, max_err);
        }
        free(out);
    }
    printf("RESULT layer=%s method=%s channels=%d median_ms=%.4f min_ms=%.4f max_ms=%.4f\n", name,
           conv_method_name(o->method), pb.m, median, ms[0], ms[o->iters - 1]);
    conv_runner_release(&p->r);
    free(ms);
    free(p->weights);
    return status;
}

int main(int argc, char **argv)
{
    static struct options o;
    struct conv_problem pb;
    char name[96];
    parse_args(argc, argv, &o);
    resolve_problem(&o, &pb, name, sizeof name);
    if (!conv_method_available(o.method))
        die(EXIT_USAGE, "method %s is not available: conv_bench was built without CLBlast",
            conv_method_name(o.method));
    if (o.local_given && o.method != METHOD_DIRECT)
        die(EXIT_USAGE, "--local applies to --method direct only (%s uses its own explicit local sizes)",
            conv_method_name(o.method));
    if (o.n_channels == 0) {        /* the layer's unpruned count */
        o.channels[0] = pb.m;
        o.n_channels = 1;
    }

    unsigned seed = 42;
    float *input = random_floats((size_t)pb.c * pb.h * pb.w, &seed);   /* the weights follow from this state */

    /* Every configuration of the process: the counts, each once per --aa-label value. */
    int n = o.n_channels * (o.n_aa ? o.n_aa : 1);
    struct point *pts = calloc((size_t)n, sizeof *pts);
    int *order = malloc((size_t)n * sizeof *order);
    if (!pts || !order)
        die(EXIT_RUNTIME, "out of host memory");
    for (int i = 0; i < n; ++i) {
        pts[i].pb = pb;
        pts[i].pb.m = o.channels[o.n_aa ? i / o.n_aa : i];
        pts[i].aa = o.n_aa ? o.aa_values[i % o.n_aa] : -1;
        order[i] = i;
    }
    struct cl_env env;
    cl_env_open(&env, o.platform);
    for (int i = 0; i < n; ++i)
        point_init(&o, &pts[i], &env, input, seed);
    if (o.warmup_per_variant)
        warm_variants(&o, pts, n, &env);
    else
        for (int i = 0; i < n; ++i)
            point_warm(&pts[i], &env, o.warmup);
    /* Iterations interleaved: round i runs one iteration of every configuration (in the order given, or with
     * --order-seed in a new random order each round), so that a burst of load or a drift over the process
     * spreads over all of them instead of landing on the one measured at that moment. */
    for (int i = 0; i < o.iters; ++i) {
        if (o.order_seed && i > 0)
            shuffle_ints(order, n, o.order_seed + (unsigned)i);
        for (int k = 0; k < n; ++k)
            point_iter(&pts[order[k]], name, &env, i);
    }
    int status = 0;
    for (int i = 0; i < n; ++i) {
        int s = point_report(&o, &pts[i], name, &env, input);
        if (s)
            status = s;
    }
    cl_env_close(&env);
    free(pts);
    free(order);
    free(input);
    return status;
}
