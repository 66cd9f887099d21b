/*
 * conv.cl: the OpenCL kernels of the conv_bench examples (read by conv_bench.c,
 * embedded at build time, and by conv_bench.py at run time).
 *
 * Layouts (all float32, row-major):
 *   input   in[c][y][x]                 C x H x W
 *   weights w[m][c][ky][kx]             M x (C*K*K)        (direct, clblast)
 *           wt[(c*K+ky)*K+kx][m]        (C*K*K) x M        (gemm: reshaped once, like ACL)
 *           wt4[t][(c*K+ky)*K+kx][i]    T x (C*K*K) x 4    (tiled: tile t = channels 4t..4t+3,
 *                                                          zero-padded to T = ceil(M/4) tiles)
 *   im2col  col[(c*K+ky)*K+kx][oy*Wo+ox] (C*K*K) x (Ho*Wo)
 *   output  out[m][oy][ox]              M x Ho x Wo
 *
 * The GEMM path mirrors Arm Compute Library's: the main kernel computes 4 output
 * channels per work-item (float4) for the channel count rounded down to a multiple
 * of 4; the 1-3 remaining channels take a second, scalar dispatch (gemm_tail).
 *
 * The bifrost method's GEMM is in conv_cl2.cl (an OpenCL C 2.0 program).
 */

/* One work-item per (output pixel, input channel): writes the K*K rows of that channel. */
__kernel void im2col(__global const float *in, __global float *col,
                     int C, int H, int W, int K, int S, int P, int Ho, int Wo)
{
    const int n = get_global_id(0);          /* output pixel oy*Wo + ox */
    const int c = get_global_id(1);          /* input channel */
    const int N = Ho * Wo;
    if (n >= N)
        return;
    const int y0 = (n / Wo) * S - P;
    const int x0 = (n % Wo) * S - P;
    __global const float *plane = in + c * H * W;
    __global float *dst = col + (c * K * K) * N + n;
    for (int ky = 0; ky < K; ++ky) {
        const int iy = y0 + ky;
        for (int kx = 0; kx < K; ++kx) {
            const int ix = x0 + kx;
            const int inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            dst[(ky * K + kx) * N] = inside ? plane[iy * W + ix] : 0.0f;
        }
    }
}

/* out[m0..m0+3][n] for m0 = 4 * get_global_id(1); only launched for the first (M/4)*4 channels. */
__kernel void gemm_v4(__global const float *wt, __global const float *col, __global float *out,
                      int M, int N, int Kd)
{
    const int n = get_global_id(0);
    const int m0 = get_global_id(1) * 4;
    if (n >= N)
        return;
    float4 acc = (float4)(0.0f);
    for (int k = 0; k < Kd; ++k)
        acc = mad(vload4(0, wt + k * M + m0), (float4)(col[k * N + n]), acc);
    out[(m0 + 0) * N + n] = acc.s0;
    out[(m0 + 1) * N + n] = acc.s1;
    out[(m0 + 2) * N + n] = acc.s2;
    out[(m0 + 3) * N + n] = acc.s3;
}

/* The 1-3 channels left over by gemm_v4: one scalar channel per work-item row. */
__kernel void gemm_tail(__global const float *wt, __global const float *col, __global float *out,
                        int M, int N, int Kd, int m_base)
{
    const int n = get_global_id(0);
    const int m = m_base + get_global_id(1);
    if (n >= N)
        return;
    float acc = 0.0f;
    for (int k = 0; k < Kd; ++k)
        acc = mad(wt[k * M + m], col[k * N + n], acc);
    out[m * N + n] = acc;
}

/* Direct convolution, one output point per work-item, global size (M, Ho, Wo)
 * channel first; the host passes local = NULL so the runtime picks the split. */
__kernel void direct_conv(__global const float *in, __global const float *w, __global float *out,
                          int C, int H, int W, int K, int S, int P)
{
    const int m = get_global_id(0);
    const int oy = get_global_id(1);
    const int ox = get_global_id(2);
    const int Ho = get_global_size(1);
    const int Wo = get_global_size(2);
    float acc = 0.0f;
    for (int c = 0; c < C; ++c) {
        for (int ky = 0; ky < K; ++ky) {
            const int iy = oy * S - P + ky;
            if (iy < 0 || iy >= H)
                continue;
            for (int kx = 0; kx < K; ++kx) {
                const int ix = ox * S - P + kx;
                if (ix < 0 || ix >= W)
                    continue;
                acc = mad(in[(c * H + iy) * W + ix], w[((m * C + c) * K + ky) * K + kx], acc);
            }
        }
    }
    out[(m * Ho + oy) * Wo + ox] = acc;
}

/* Tiled direct convolution with few, large work-groups ("wave" stairs): work-group t computes the
 * tile of 4 output channels 4t..4t+3 (float4 over wt4, zero-padded past M) for the whole Ho x Wo
 * output plane; its get_local_size(0) work-items stride over the output pixels. The host launches
 * global (L, ceil(M/4)), local (L, 1): ceil(M/4) work-groups, which a device with CU compute units
 * runs in ceil(ceil(M/4) / CU) rounds, so the latency steps up at M = 4*CU*r -> 4*CU*r + 1. */
__kernel void conv_tiled(__global const float *in, __global const float *wt4, __global float *out,
                         int C, int H, int W, int K, int S, int P, int Ho, int Wo, int M)
{
    const int lx = get_local_id(0);
    const int lsize = get_local_size(0);
    const int t = get_group_id(1);
    const int m0 = t * 4;
    const int N = Ho * Wo;
    const int Kd = C * K * K;
    __global const float *wtile = wt4 + (size_t)t * Kd * 4;
    for (int n = lx; n < N; n += lsize) {
        const int oy = n / Wo, ox = n % Wo;
        const int y0 = oy * S - P, x0 = ox * S - P;
        float4 acc = (float4)(0.0f);
        for (int c = 0; c < C; ++c) {
            __global const float *plane = in + c * H * W;
            for (int ky = 0; ky < K; ++ky) {
                const int iy = y0 + ky;
                if (iy < 0 || iy >= H)
                    continue;
                for (int kx = 0; kx < K; ++kx) {
                    const int ix = x0 + kx;
                    if (ix < 0 || ix >= W)
                        continue;
                    acc = mad(vload4((c * K + ky) * K + kx, wtile), (float4)(plane[iy * W + ix]), acc);
                }
            }
        }
        out[m0 * N + n] = acc.s0;
        if (m0 + 1 < M) out[(m0 + 1) * N + n] = acc.s1;
        if (m0 + 2 < M) out[(m0 + 2) * N + n] = acc.s2;
        if (m0 + 3 < M) out[(m0 + 3) * N + n] = acc.s3;
    }
}
