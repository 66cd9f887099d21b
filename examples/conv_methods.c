/*
 * conv_methods.c: gemm (im2col + float4 GEMM + scalar tail dispatch), direct
 * (local = NULL, runtime-chosen work-groups, or an explicit ACL-like choice with
 * --local auto), clblast (im2col + CLBlastSgemm) and tiled (few, large work-groups
 * of 4 output channels each: latency in rounds of CL_DEVICE_MAX_COMPUTE_UNITS work-groups) and bifrost
 * (im2col + a GEMM shaped like ACL's Bifrost one: local 4 over ceil(M/4) work-items, non-uniform) and
 * bifrost-rounds (the same x shape with the output plane folded into each work-item: few, heavy work-groups,
 * so that a remainder job costs a whole round of CL_DEVICE_MAX_COMPUTE_UNITS).
 */
#include "conv_methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CLBLAST
#include <clblast_c.h>
#endif

static const char *names[] = {"gemm", "direct", "clblast", "tiled", "bifrost", "bifrost-rounds"};

int conv_method_parse(const char *name, enum conv_method *out)
{
    for (int i = 0; i < (int)(sizeof names / sizeof *names); ++i)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum conv_method)i;
            return 0;
        }
    return -1;
}

const char *conv_method_name(enum conv_method m)
{
    return names[m];
}

int conv_method_available(enum conv_method m)
{
#ifdef HAVE_CLBLAST
    (void)m;
    return 1;
#else
    return m != METHOD_CLBLAST;
#endif
}

static const char *local_names[] = {"null", "auto"};

int conv_local_parse(const char *name, enum conv_local *out)
{
    for (int i = 0; i < 2; ++i)
        if (strcmp(name, local_names[i]) == 0) {
            *out = (enum conv_local)i;
            return 0;
        }
    return -1;
}

const char *conv_local_name(enum conv_local l)
{
    return local_names[l];
}

/* Largest of 8, 4, 2, 1 that divides n and is <= cap (1 always qualifies). */
static size_t pow2_divisor(size_t n, size_t cap)
{
    for (size_t v = 8; v > 1; v /= 2)
        if (n % v == 0 && v <= cap)
            return v;
    return 1;
}

void conv_auto_local(size_t max_wg, const size_t global[3], size_t local[3])
{
    size_t budget = max_wg < AUTO_LOCAL_MAX ? max_wg : AUTO_LOCAL_MAX;
    if (budget < 1)
        budget = 1;
    local[0] = pow2_divisor(global[0], budget);                        /* channels first, like ACL's z */
    local[2] = pow2_divisor(global[2], budget / local[0]);             /* then x (Wo) */
    local[1] = pow2_divisor(global[1], budget / (local[0] * local[2])); /* then y (Ho) */
}

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

#define SET_ARG(k, i, v) cl_check(clSetKernelArg((k), (i), sizeof(v), &(v)), "clSetKernelArg(" #k ", " #i ")")

static void setup_im2col(struct conv_runner *r)
{
    const struct conv_problem *pb = &r->pb;
    size_t n = (size_t)pb->ho * pb->wo, kd = (size_t)pb->c * pb->k * pb->k;
    r->col = cl_buffer(r->env, CL_MEM_READ_WRITE, n * kd * sizeof(float), NULL);
    r->k_im2col = cl_kernel_get(r->program, "im2col");
    SET_ARG(r->k_im2col, 0, r->in);
    SET_ARG(r->k_im2col, 1, r->col);
    int args[] = {pb->c, pb->h, pb->w, pb->k, pb->s, pb->p, pb->ho, pb->wo};
    for (int i = 0; i < 8; ++i)
        SET_ARG(r->k_im2col, 2 + i, args[i]);
    r->im2col_global[0] = round_up(n, GEMM_LOCAL_X);
    r->im2col_global[1] = (size_t)pb->c;
}

static void setup_gemm(struct conv_runner *r, const float *weights)
{
    const struct conv_problem *pb = &r->pb;
    int n = pb->ho * pb->wo, kd = pb->c * pb->k * pb->k, m = pb->m;
    int groups = m / GEMM_VEC, tail = m % GEMM_VEC, m_base = groups * GEMM_VEC;

    /* Reshape the weights to (C*K*K) x M once, as ACL's weights-reshape does at configure time. */
    float *wt = malloc((size_t)kd * m * sizeof(float));
    for (int i = 0; i < m; ++i)
        for (int k = 0; k < kd; ++k)
            wt[(size_t)k * m + i] = weights[(size_t)i * kd + k];
    r->w = cl_buffer(r->env, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)kd * m * sizeof(float), wt);
    free(wt);
    r->out = cl_buffer(r->env, CL_MEM_READ_WRITE, (size_t)m * n * sizeof(float), NULL);
    setup_im2col(r);

    r->k_gemm = cl_kernel_get(r->program, "gemm_v4");
    r->k_tail = cl_kernel_get(r->program, "gemm_tail");
    cl_kernel ks[2] = {r->k_gemm, r->k_tail};
    for (int j = 0; j < 2; ++j) {
        SET_ARG(ks[j], 0, r->w);
        SET_ARG(ks[j], 1, r->col);
        SET_ARG(ks[j], 2, r->out);
        SET_ARG(ks[j], 3, m);
        SET_ARG(ks[j], 4, n);
        SET_ARG(ks[j], 5, kd);
    }
    SET_ARG(r->k_tail, 6, m_base);
    r->gemm_global[0] = r->tail_global[0] = round_up((size_t)n, GEMM_LOCAL_X);
    r->gemm_global[1] = (size_t)groups;
    r->tail_global[1] = (size_t)tail;
    r->dispatches = 1 + (groups > 0) + (tail > 0);
    snprintf(r->plan, sizeof r->plan, "im2col, gemm_v4 (%d x %d channels)%s", groups, GEMM_VEC,
             tail ? (tail == 1 ? ", gemm_tail (1 channel)" : tail == 2 ? ", gemm_tail (2 channels)"
                                                                       : ", gemm_tail (3 channels)")
                  : "");
}

static void setup_direct(struct conv_runner *r, const float *weights)
{
    const struct conv_problem *pb = &r->pb;
    size_t wbytes = (size_t)pb->m * pb->c * pb->k * pb->k * sizeof(float);
    r->w = cl_buffer(r->env, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, wbytes, (void *)weights);
    r->out = cl_buffer(r->env, CL_MEM_READ_WRITE, (size_t)pb->m * pb->ho * pb->wo * sizeof(float), NULL);
    r->k_direct = cl_kernel_get(r->program, "direct_conv");
    SET_ARG(r->k_direct, 0, r->in);
    SET_ARG(r->k_direct, 1, r->w);
    SET_ARG(r->k_direct, 2, r->out);
    int args[] = {pb->c, pb->h, pb->w, pb->k, pb->s, pb->p};
    for (int i = 0; i < 6; ++i)
        SET_ARG(r->k_direct, 3 + i, args[i]);
    r->direct_global[0] = (size_t)pb->m;
    r->direct_global[1] = (size_t)pb->ho;
    r->direct_global[2] = (size_t)pb->wo;
    r->dispatches = 1;
    if (r->local_mode == LOCAL_AUTO) {
        size_t max_wg = 0;
        cl_check(clGetKernelWorkGroupInfo(r->k_direct, r->env->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wg,
                                          &max_wg, NULL),
                 "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
        conv_auto_local(max_wg, r->direct_global, r->direct_local);
        snprintf(r->plan, sizeof r->plan,
                 "direct_conv global %dx%dx%d, local %zux%zux%zu (--local auto, CL_KERNEL_WORK_GROUP_SIZE %zu)",
                 pb->m, pb->ho, pb->wo, r->direct_local[0], r->direct_local[1], r->direct_local[2], max_wg);
    } else {
        snprintf(r->plan, sizeof r->plan, "direct_conv global %dx%dx%d, local chosen by the runtime", pb->m,
                 pb->ho, pb->wo);
    }
}

static void setup_tiled(struct conv_runner *r, const float *weights)
{
    const struct conv_problem *pb = &r->pb;
    size_t kd = (size_t)pb->c * pb->k * pb->k, tiles = ((size_t)pb->m + TILED_VEC - 1) / TILED_VEC;

    /* Weights regrouped once per tile of 4 channels, zero-padded to a whole last tile:
     * wt4[t][k][i] = w[4t+i][k] (so a work-group reads one contiguous block, float4 per k). */
    float *wt4 = calloc(tiles * kd * TILED_VEC, sizeof(float));
    if (!wt4)
        die(EXIT_RUNTIME, "out of host memory (%zu floats)", tiles * kd * TILED_VEC);
    for (int m = 0; m < pb->m; ++m)
        for (size_t k = 0; k < kd; ++k)
            wt4[((size_t)(m / TILED_VEC) * kd + k) * TILED_VEC + m % TILED_VEC] = weights[(size_t)m * kd + k];
    r->w = cl_buffer(r->env, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, tiles * kd * TILED_VEC * sizeof(float), wt4);
    free(wt4);
    r->out = cl_buffer(r->env, CL_MEM_READ_WRITE, (size_t)pb->m * pb->ho * pb->wo * sizeof(float), NULL);
    r->k_tiled = cl_kernel_get(r->program, "conv_tiled");
    SET_ARG(r->k_tiled, 0, r->in);
    SET_ARG(r->k_tiled, 1, r->w);
    SET_ARG(r->k_tiled, 2, r->out);
    int args[] = {pb->c, pb->h, pb->w, pb->k, pb->s, pb->p, pb->ho, pb->wo, pb->m};
    for (int i = 0; i < 9; ++i)
        SET_ARG(r->k_tiled, 3 + i, args[i]);
    r->tiled_global[0] = TILED_LOCAL_X;
    r->tiled_global[1] = tiles;
    r->dispatches = 1;
    cl_uint cu = 0;
    cl_check(clGetDeviceInfo(r->env->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL),
             "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)");
    r->compute_units = cu ? cu : 1;
    size_t rounds = (tiles + r->compute_units - 1) / r->compute_units;
    snprintf(r->plan, sizeof r->plan,
             "conv_tiled global %dx%zu, local %dx1: %zu work-group%s of %d channels, %u compute unit%s -> "
             "%zu round%s",
             TILED_LOCAL_X, tiles, TILED_LOCAL_X, tiles, tiles == 1 ? "" : "s", TILED_VEC, r->compute_units,
             r->compute_units == 1 ? "" : "s", rounds, rounds == 1 ? "" : "s");
}

/* bifrost and bifrost-rounds: reshaped weights, output, im2col. */
static void setup_bifrost_operands(struct conv_runner *r, const float *weights)
{
    const struct conv_problem *pb = &r->pb;
    int n = pb->ho * pb->wo, kd = pb->c * pb->k * pb->k, m = pb->m;
    int groups = (m + BIFROST_VEC - 1) / BIFROST_VEC, mp = groups * BIFROST_VEC;

    /* Weights reshaped once to (C*K*K) x Mp, Mp = M rounded up to 4 with zero columns (a whole last float4). */
    float *wt = calloc((size_t)kd * mp, sizeof(float));
    if (!wt)
        die(EXIT_RUNTIME, "out of host memory (%zu floats)", (size_t)kd * mp);
    for (int i = 0; i < m; ++i)
        for (int k = 0; k < kd; ++k)
            wt[(size_t)k * mp + i] = weights[(size_t)i * kd + k];
    r->w = cl_buffer(r->env, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)kd * mp * sizeof(float), wt);
    free(wt);
    r->out = cl_buffer(r->env, CL_MEM_READ_WRITE, (size_t)m * n * sizeof(float), NULL);
    setup_im2col(r);
    r->dispatches = 2;
}

/* The bifrost kernels take the same arguments: weights, im2col columns, output, M, N, K, M padded to 4. */
static void bifrost_kernel(struct conv_runner *r, const char *name, int m, int n, int kd, int mp)
{
    r->k_bifrost = cl_kernel_get(r->program2, name);
    SET_ARG(r->k_bifrost, 0, r->w);
    SET_ARG(r->k_bifrost, 1, r->col);
    SET_ARG(r->k_bifrost, 2, r->out);
    SET_ARG(r->k_bifrost, 3, m);
    SET_ARG(r->k_bifrost, 4, n);
    SET_ARG(r->k_bifrost, 5, kd);
    SET_ARG(r->k_bifrost, 6, mp);
}

static void setup_bifrost(struct conv_runner *r, const float *weights)
{
    const struct conv_problem *pb = &r->pb;
    int n = pb->ho * pb->wo, kd = pb->c * pb->k * pb->k, m = pb->m;
    int groups = (m + BIFROST_VEC - 1) / BIFROST_VEC, mp = groups * BIFROST_VEC;
    size_t bulk = (size_t)groups / BIFROST_LOCAL_X * BIFROST_LOCAL_X, rem = (size_t)groups % BIFROST_LOCAL_X;
    setup_bifrost_operands(r, weights);
    bifrost_kernel(r, "gemm_mm_f32_bifrost_like", m, n, kd, mp);
    r->bifrost_global[0] = (size_t)groups;
    r->bifrost_global[1] = (size_t)n;
    if (rem)
        snprintf(r->plan, sizeof r->plan,
                 "im2col, gemm_mm_f32_bifrost_like global %dx%d, local %dx1: non-uniform in x (%zu + %zu), "
                 "2 jobs where the runtime splits it", groups, n, BIFROST_LOCAL_X, bulk, rem);
    else
        snprintf(r->plan, sizeof r->plan, "im2col, gemm_mm_f32_bifrost_like global %dx%d, local %dx1: uniform, 1 job",
                 groups, n, BIFROST_LOCAL_X);
}

/* bifrost-rounds: bifrost's weights and im2col, gemm_mm_f32_bifrost_rounds over global (ceil(M/4), 1). */
static void setup_bifrost_rounds(struct conv_runner *r, const float *weights)
{
    setup_bifrost_operands(r, weights);
    const struct conv_problem *pb = &r->pb;
    int n = pb->ho * pb->wo, kd = pb->c * pb->k * pb->k, m = pb->m;
    int groups = (m + BIFROST_VEC - 1) / BIFROST_VEC, mp = groups * BIFROST_VEC;
    size_t wgs = (size_t)groups / BIFROST_LOCAL_X, rem = (size_t)groups % BIFROST_LOCAL_X;
    bifrost_kernel(r, "gemm_mm_f32_bifrost_rounds", m, n, kd, mp);
    r->bifrost_global[0] = (size_t)groups;
    r->bifrost_global[1] = 1;
    cl_uint cu = 0;
    cl_check(clGetDeviceInfo(r->env->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL),
             "clGetDeviceInfo(CL_DEVICE_MAX_COMPUTE_UNITS)");
    r->compute_units = cu ? cu : 1;
    size_t rounds = (wgs + r->compute_units - 1) / r->compute_units;
    if (rem)
        snprintf(r->plan, sizeof r->plan,
                 "im2col, gemm_mm_f32_bifrost_rounds global %dx1, local %dx1: non-uniform in x (%zu + %zu), "
                 "2 jobs where the runtime splits it: %zu work-group%s of %d + 1 of %zu, %u compute unit%s -> "
                 "%zu + 1 rounds", groups, BIFROST_LOCAL_X, wgs * BIFROST_LOCAL_X, rem, wgs, wgs == 1 ? "" : "s",
                 BIFROST_LOCAL_X, rem, r->compute_units, r->compute_units == 1 ? "" : "s", rounds);
    else
        snprintf(r->plan, sizeof r->plan,
                 "im2col, gemm_mm_f32_bifrost_rounds global %dx1, local %dx1: uniform, 1 job: %zu work-group%s of "
                 "%d, %u compute unit%s -> %zu round%s", groups, BIFROST_LOCAL_X, wgs, wgs == 1 ? "" : "s",
                 BIFROST_LOCAL_X, r->compute_units, r->compute_units == 1 ? "" : "s", rounds,
                 rounds == 1 ? "" : "s");
}

static void setup_clblast(struct conv_runner *r, const float *weights)
{
    const struct conv_problem *pb = &r->pb;
    size_t n = (size_t)pb->ho * pb->wo, kd = (size_t)pb->c * pb->k * pb->k;
    r->w = cl_buffer(r->env, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, (size_t)pb->m * kd * sizeof(float),
                     (void *)weights);
    r->out = cl_buffer(r->env, CL_MEM_READ_WRITE, (size_t)pb->m * n * sizeof(float), NULL);
    setup_im2col(r);
    r->dispatches = -1; /* decided inside CLBlast: 1 (XgemmDirect) or 3 (pad, Xgemm, transpose) */
    snprintf(r->plan, sizeof r->plan, "im2col, CLBlastSgemm(row-major, m=%d, n=%zu, k=%zu)", pb->m, n, kd);
}

void conv_runner_init(struct conv_runner *r, const struct cl_env *env, enum conv_method method,
                      enum conv_local local, const struct conv_problem *pb, const float *input,
                      const float *weights, const char *cl_source, const char *cl2_source)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->local_mode = method == METHOD_DIRECT ? local : LOCAL_NULL;
    r->env = env;
    r->pb = *pb;
    r->program = cl_build(env, cl_source, "-cl-std=CL1.2");
    /* bifrost: OpenCL 2.0 allows its non-uniform range (-cl-std=CL2.0 without -cl-uniform-work-group-size) */
    if (method == METHOD_BIFROST || method == METHOD_BIFROST_ROUNDS)
        r->program2 = cl_build(env, cl2_source, "-cl-std=CL2.0");
    r->in = cl_buffer(env, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                      (size_t)pb->c * pb->h * pb->w * sizeof(float), (void *)input);
    switch (method) {
    case METHOD_GEMM: setup_gemm(r, weights); break;
    case METHOD_DIRECT: setup_direct(r, weights); break;
    case METHOD_CLBLAST: setup_clblast(r, weights); break;
    case METHOD_TILED: setup_tiled(r, weights); break;
    case METHOD_BIFROST: setup_bifrost(r, weights); break;
    case METHOD_BIFROST_ROUNDS: setup_bifrost_rounds(r, weights); break;
    }
}

static void launch(struct conv_runner *r, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local,
                   const char *what)
{
    cl_check(clEnqueueNDRangeKernel(r->env->queue, k, dims, NULL, global, local, 0, NULL, NULL), what);
}

void conv_runner_run(struct conv_runner *r)
{
    static const size_t local2[2] = {GEMM_LOCAL_X, 1};
    switch (r->method) {
    case METHOD_GEMM:
        launch(r, r->k_im2col, 2, r->im2col_global, local2, "clEnqueueNDRangeKernel(im2col)");
        if (r->gemm_global[1])
            launch(r, r->k_gemm, 2, r->gemm_global, local2, "clEnqueueNDRangeKernel(gemm_v4)");
        if (r->tail_global[1])
            launch(r, r->k_tail, 2, r->tail_global, local2, "clEnqueueNDRangeKernel(gemm_tail)");
        break;
    case METHOD_DIRECT:
        launch(r, r->k_direct, 3, r->direct_global, r->local_mode == LOCAL_AUTO ? r->direct_local : NULL,
               "clEnqueueNDRangeKernel(direct_conv)");
        break;
    case METHOD_TILED: {
        static const size_t local_tiled[2] = {TILED_LOCAL_X, 1};
        launch(r, r->k_tiled, 2, r->tiled_global, local_tiled, "clEnqueueNDRangeKernel(conv_tiled)");
        break;
    }
    case METHOD_BIFROST:
    case METHOD_BIFROST_ROUNDS: {
        static const size_t local_bifrost[2] = {BIFROST_LOCAL_X, 1};
        launch(r, r->k_im2col, 2, r->im2col_global, local2, "clEnqueueNDRangeKernel(im2col)");
        cl_int err = clEnqueueNDRangeKernel(r->env->queue, r->k_bifrost, 2, NULL, r->bifrost_global, local_bifrost, 0,
                                            NULL, NULL);
        if (err == CL_INVALID_WORK_GROUP_SIZE && r->bifrost_global[0] % BIFROST_LOCAL_X)
            die(EXIT_RUNTIME,
                "the device refused the non-uniform range of %s (global %zux%zu, local %dx1: "
                "%zu is not a multiple of %d): CL_INVALID_WORK_GROUP_SIZE. PoCL has no non-uniform work-groups; "
                "run through the split layer, which runs the range as its uniform regions: "
                "OPENCL_LAYERS=/path/to/examples/bin/libsplit_layer.so (make -C examples; docs/acl.md)",
                r->method == METHOD_BIFROST ? "gemm_mm_f32_bifrost_like" : "gemm_mm_f32_bifrost_rounds",
                r->bifrost_global[0], r->bifrost_global[1], BIFROST_LOCAL_X, r->bifrost_global[0], BIFROST_LOCAL_X);
        cl_check(err, r->method == METHOD_BIFROST ? "clEnqueueNDRangeKernel(gemm_mm_f32_bifrost_like)"
                                                  : "clEnqueueNDRangeKernel(gemm_mm_f32_bifrost_rounds)");
        break;
    }
    case METHOD_CLBLAST: {
        launch(r, r->k_im2col, 2, r->im2col_global, local2, "clEnqueueNDRangeKernel(im2col)");
#ifdef HAVE_CLBLAST
        const struct conv_problem *pb = &r->pb;
        size_t n = (size_t)pb->ho * pb->wo, kd = (size_t)pb->c * pb->k * pb->k;
        cl_command_queue q = r->env->queue;
        CLBlastStatusCode st = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo,
                                            (size_t)pb->m, n, kd, 1.0f, r->w, 0, kd, r->col, 0, n, 0.0f,
                                            r->out, 0, n, &q, NULL);
        if (st != CLBlastSuccess)
            die(EXIT_RUNTIME, "CLBlastSgemm failed with status %d", (int)st);
#endif
        break;
    }
    }
}

void conv_runner_read(struct conv_runner *r, float *out)
{
    size_t bytes = (size_t)r->pb.m * r->pb.ho * r->pb.wo * sizeof(float);
    cl_check(clEnqueueReadBuffer(r->env->queue, r->out, CL_TRUE, 0, bytes, out, 0, NULL, NULL),
             "clEnqueueReadBuffer");
}

void conv_runner_release(struct conv_runner *r)
{
    cl_kernel ks[] = {r->k_im2col, r->k_gemm, r->k_tail, r->k_direct, r->k_tiled, r->k_bifrost};
    cl_mem ms[] = {r->in, r->w, r->col, r->out};
    for (size_t i = 0; i < sizeof ks / sizeof *ks; ++i)
        if (ks[i])
            clReleaseKernel(ks[i]);
    for (size_t i = 0; i < sizeof ms / sizeof *ms; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    if (r->program)
        clReleaseProgram(r->program);
    if (r->program2)
        clReleaseProgram(r->program2);
#ifdef HAVE_CLBLAST
    if (r->method == METHOD_CLBLAST)
        CLBlastClearCache(); /* drops CLBlast's compiled programs, which hold the context */
#endif
    memset(r, 0, sizeof *r);
}
