/* conv_methods.h: the three ways conv_bench runs one convolution layer on OpenCL. */
#ifndef CONV_METHODS_H
#define CONV_METHODS_H

#include "cl_util.h"

struct conv_problem {
    int c, h, w;        /* input channels, height, width */
    int k, s, p;        /* square kernel, stride, zero padding */
    int m;              /* output channels */
    int ho, wo;         /* output height, width */
};

enum conv_method { METHOD_GEMM, METHOD_DIRECT, METHOD_CLBLAST };

/* 0 on success; *out untouched on failure. */
int conv_method_parse(const char *name, enum conv_method *out);
const char *conv_method_name(enum conv_method m);
/* 1 when compiled in (clblast needs CLBlast at build time). */
int conv_method_available(enum conv_method m);

#define GEMM_VEC 4      /* output channels per work-item in gemm_v4 */
#define GEMM_LOCAL_X 32 /* explicit work-group width of im2col / gemm_v4 / gemm_tail */

struct conv_runner {
    enum conv_method method;
    const struct cl_env *env;
    struct conv_problem pb;
    cl_program program;
    cl_kernel k_im2col, k_gemm, k_tail, k_direct;
    cl_mem in, w, col, out;
    size_t im2col_global[2], gemm_global[2], tail_global[2], direct_global[3];
    int dispatches;     /* kernel launches per layer execution */
    char plan[192];     /* human-readable list of those launches */
};

/* input: C*H*W floats; weights: M*C*K*K floats (w[m][c][ky][kx]). */
void conv_runner_init(struct conv_runner *r, const struct cl_env *env, enum conv_method method,
                      const struct conv_problem *pb, const float *input, const float *weights,
                      const char *cl_source);
/* Enqueue one execution of the layer (does not wait). */
void conv_runner_run(struct conv_runner *r);
/* Blocking read of the M*Ho*Wo output. */
void conv_runner_read(struct conv_runner *r, float *out);
void conv_runner_release(struct conv_runner *r);

#endif
