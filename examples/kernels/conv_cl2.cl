/*
 * conv_cl2.cl: the OpenCL C 2.0 kernels of conv_bench --method bifrost and bifrost-rounds (built with -cl-std=CL2.0, so that OpenCL
 * allows its non-uniform range; its im2col comes from conv.cl). Layouts as in conv.cl, and
 *   weights wtp[(c*K+ky)*K+kx][m]   (C*K*K) x Mp, Mp = 4*ceil(M/4), zero columns past M, read as float4
 * (PoCL 3.1's OpenCL C 2.0 mode has no vload4 for __global pointers, hence the float4 pointer).
 */

/* Shaped like Arm Compute Library's Bifrost F32 GEMM (gemm_mm_floating_point_f32_bifrost, operands not
 * reshaped, as ACL runs a GEMM convolution on a Mali-G72): each work-item computes 4 output channels
 * (x: channels 4*get_global_id(0) .. +3, global x = ceil(M/4)) of one output pixel (y: get_global_id(1),
 * global y = Ho*Wo). The host asks for local (4, 1), ACL 19.02's "Bifrost quad" hint, which does not divide
 * ceil(M/4) unless it is a multiple of 4: an OpenCL 2.0 non-uniform range. Only get_global_id is read, so
 * the result is the same whether a runtime runs the range as one job or splits it into uniform regions with
 * global offsets (the split layer on PoCL). */
__kernel void gemm_mm_f32_bifrost_like(__global const float4 *wtp, __global const float *col, __global float *out,
                                       int M, int N, int Kd, int Mp)
{
    const int x = get_global_id(0);
    const int m0 = x * 4;
    const int n = get_global_id(1);
    const int row = Mp / 4;
    float4 acc = (float4)(0.0f);
    for (int k = 0; k < Kd; ++k)
        acc = mad(wtp[k * row + x], (float4)(col[k * N + n]), acc);
    out[m0 * N + n] = acc.s0;
    if (m0 + 1 < M) out[(m0 + 1) * N + n] = acc.s1;
    if (m0 + 2 < M) out[(m0 + 2) * N + n] = acc.s2;
    if (m0 + 3 < M) out[(m0 + 3) * N + n] = acc.s3;
}

/* conv_bench --method bifrost-rounds: the same work-item shape in x (4 output channels per work-item, global x =
 * ceil(M/4), local 4, non-uniform unless ceil(M/4) % 4 == 0) with the output plane folded into each work-item
 * (global y = 1; each work-item loops over all N = Ho*Wo outputs), so that work-groups are few and heavy, like
 * conv_tiled's: on a device with few cores a remainder job, where a runtime splits the range, costs a whole
 * round. Only get_global_id is read, so a split into uniform regions with global offsets gives the same result. */
__kernel void gemm_mm_f32_bifrost_rounds(__global const float4 *wtp, __global const float *col, __global float *out,
                                         int M, int N, int Kd, int Mp)
{
    const int x = get_global_id(0);
    const int m0 = x * 4;
    const int row = Mp / 4;
    for (int n = 0; n < N; ++n) {
        float4 acc = (float4)(0.0f);
        for (int k = 0; k < Kd; ++k)
            acc = mad(wtp[k * row + x], (float4)(col[k * N + n]), acc);
        out[m0 * N + n] = acc.s0;
        if (m0 + 1 < M) out[(m0 + 1) * N + n] = acc.s1;
        if (m0 + 2 < M) out[(m0 + 2) * N + n] = acc.s2;
        if (m0 + 3 < M) out[(m0 + 3) * N + n] = acc.s3;
    }
}
