/* conv_methods.h: the six ways conv_bench runs one convolution layer on OpenCL. */
#ifndef CONV_METHODS_H
#define CONV_METHODS_H

#include "cl_util.h"

struct conv_problem {
    int c, h, w;        /* input channels, height, width */
    int k, s, p;        /* square kernel, stride, zero padding */
    int m;              /* output channels */
    int ho, wo;         /* output height, width */
};

enum conv_method { METHOD_GEMM, METHOD_DIRECT, METHOD_CLBLAST, METHOD_TILED, METHOD_BIFROST,
                   METHOD_BIFROST_ROUNDS };

/* 0 on success; *out untouched on failure. */
int conv_method_parse(const char *name, enum conv_method *out);
const char *conv_method_name(enum conv_method m);
/* 1 when compiled in (clblast needs CLBlast at build time). */
int conv_method_available(enum conv_method m);

/* Work-group size policy of the direct method. */
enum conv_local {
    LOCAL_NULL, /* local_work_size = NULL: the OpenCL runtime chooses (not reported by OpenCL) */
    LOCAL_AUTO  /* explicit local size from conv_auto_local() (an ACL-like divisibility heuristic) */
};
int conv_local_parse(const char *name, enum conv_local *out);
const char *conv_local_name(enum conv_local l);

#define AUTO_LOCAL_MAX 64 /* work-item budget of --local auto (further capped by CL_KERNEL_WORK_GROUP_SIZE) */
/* The --local auto rule, for a channel-first global size g = (C_out, Ho, Wo):
 *   budget = min(max_wg, AUTO_LOCAL_MAX)
 *   l[0] (channels) = largest v in {8,4,2,1} with g[0] % v == 0 and v <= budget
 *   l[2] (x = Wo)   = largest v in {8,4,2,1} with g[2] % v == 0 and l[0]*v <= budget
 *   l[1] (y = Ho)   = largest v in {8,4,2,1} with g[1] % v == 0 and l[0]*l[2]*v <= budget
 * Every l[i] divides g[i] (OpenCL 1.2 uniform work-groups). */
void conv_auto_local(size_t max_wg, const size_t global[3], size_t local[3]);

#define GEMM_VEC 4      /* output channels per work-item in gemm_v4 */
#define GEMM_LOCAL_X 32 /* explicit work-group width of im2col / gemm_v4 / gemm_tail */

/* --method tiled: conv_tiled, one work-group per tile of TILED_VEC output channels over the whole
 * output plane, global (TILED_LOCAL_X, T), local (TILED_LOCAL_X, 1) with T = ceil(M / TILED_VEC)
 * work-groups; on a device with CU = CL_DEVICE_MAX_COMPUTE_UNITS they run in ceil(T / CU) rounds
 * ("waves"): the latency steps at M = TILED_VEC*CU*r -> TILED_VEC*CU*r + 1 (r = 1, 2, ...). */
#define TILED_VEC 4
#define TILED_LOCAL_X 64

/* --method bifrost: im2col, then gemm_mm_f32_bifrost_like, shaped like ACL's Bifrost F32 GEMM
 * (gemm_mm_floating_point_f32_bifrost, operands not reshaped): BIFROST_VEC output channels per work-item in x,
 * global (ceil(M / BIFROST_VEC), Ho*Wo), local (BIFROST_LOCAL_X, 1) as ACL 19.02's cl::NDRange(4) hint. The
 * range is non-uniform whenever ceil(M/4) % 4 != 0; the program is built with -cl-std=CL2.0 so that OpenCL
 * allows it. A runtime that splits non-uniform ranges (Intel NEO, clvk, a Mali driver; on PoCL the split layer)
 * runs it as 2 jobs there and 1 where ceil(M/4) % 4 == 0. */
#define BIFROST_VEC 4
#define BIFROST_LOCAL_X 4
/* --method bifrost-rounds: bifrost's operands and per-work-item shape (BIFROST_VEC channels, local
 * BIFROST_LOCAL_X in x, -cl-std=CL2.0, non-uniform unless ceil(M/4) % 4 == 0) with the output plane folded into
 * each work-item: gemm_mm_f32_bifrost_rounds over global (ceil(M/4), 1), each work-item looping over all Ho*Wo
 * outputs. Work-groups are few and heavy (like tiled's), so on CU compute units the bulk job takes
 * ceil(floor(ceil(M/4)/4) / CU) rounds and a remainder job, where a runtime splits the range, one more round of its
 * own: at M = 92 (x 23 = 5 groups of 4 + 3) 3 + 1 rounds on 2 CUs, at 93..96 (x 24, 6 groups, 1 job) 3. */

struct conv_runner {
    enum conv_method method;
    const struct cl_env *env;
    struct conv_problem pb;
    cl_program program, program2;     /* program2: conv_cl2.cl, -cl-std=CL2.0 (bifrost*) */
    cl_kernel k_im2col, k_gemm, k_tail, k_direct, k_tiled, k_bifrost;
    cl_mem in, w, col, out;
    size_t im2col_global[2], gemm_global[2], tail_global[2], direct_global[3], tiled_global[2], bifrost_global[2];
    enum conv_local local_mode; /* direct only */
    size_t direct_local[3];     /* LOCAL_AUTO: the explicit local size passed to the runtime */
    unsigned compute_units;     /* tiled, bifrost-rounds: CL_DEVICE_MAX_COMPUTE_UNITS */
    int dispatches;     /* kernel launches per layer execution */
    char plan[256];     /* human-readable list of those launches */
};

/* input: C*H*W floats; weights: M*C*K*K floats (w[m][c][ky][kx]). */
/* cl_source: kernels/conv.cl (OpenCL C 1.2); cl2_source: kernels/conv_cl2.cl (OpenCL C 2.0, bifrost and bifrost-rounds). */
/* local: work-group policy of METHOD_DIRECT (the other methods use their own explicit sizes; pass LOCAL_NULL). */
void conv_runner_init(struct conv_runner *r, const struct cl_env *env, enum conv_method method,
                      enum conv_local local, const struct conv_problem *pb, const float *input, const float *weights,
                      const char *cl_source, const char *cl2_source);
/* Enqueue one execution of the layer (does not wait). */
void conv_runner_run(struct conv_runner *r);
/* Blocking read of the M*Ho*Wo output. */
void conv_runner_read(struct conv_runner *r, float *out);
void conv_runner_release(struct conv_runner *r);

#endif
