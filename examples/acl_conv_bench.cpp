/*
 * acl_conv_bench: conv_bench on top of the Arm Compute Library (ACL), the library
 * profiled by Radu et al. (IISWC 2019) on HiKey 970 / Odroid-XU4 Mali GPUs.
 *
 *   acl_conv_bench --layer resnet50.L15 --out-channels 92 --method gemm --check
 *
 * gemm   -> arm_compute::CLGEMMConvolutionLayer   (im2col + gemm_mm kernels chosen by ACL)
 * direct -> arm_compute::CLDirectConvolutionLayer (1x1, 3x3, 5x5 kernels only)
 * Same command line as conv_bench (no --method clblast, no --platform: ACL initialises
 * the default OpenCL platform through CLScheduler::default_init()). Each measured run
 * (function.run() + CLScheduler::sync()) is one cltrace region named after the layer,
 * tagged channels=N,method=M; warm-up runs (the first one also reshapes the weights)
 * are in "<layer>.warmup".
 *
 * --device-name NAME (e.g. Mali-G72, Mali-T628) asks the ACL-on-PoCL compatibility layer
 * (examples/acl_compat) to report that CL_DEVICE_NAME, so that ACL picks that GPU's kernels and
 * heuristics; the run fails (exit 2) when the device does not then carry that name.
 *
 * Written against the public API that is stable from ACL 18.05 to 24.x: configure()
 * with the defaulted trailing arguments, validate(), CLTensor map()/unmap().
 * Build: make -C examples acl ACL_ROOT=/path/to/ComputeLibrary (see examples/README.md).
 * Exit codes: 0 ok, 1 runtime failure or --check mismatch, 2 bad input.
 */
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "arm_compute/core/CL/CLKernelLibrary.h"
#include "arm_compute/core/GPUTarget.h"
#include "arm_compute/core/Types.h"
#include "arm_compute/runtime/CL/CLScheduler.h"
#include "arm_compute/runtime/CL/CLTensor.h"
#include "arm_compute/runtime/CL/functions/CLDirectConvolutionLayer.h"
#include "arm_compute/runtime/CL/functions/CLGEMMConvolutionLayer.h"

#include "conv_layers.h"
#include "../native/include/cltrace.h"

using namespace arm_compute;

namespace
{
const char *const prog = "acl_conv_bench";

[[noreturn]] void die(int code, const char *fmt, ...)
{
    va_list ap;
    std::fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
    std::exit(code);
}

const char usage[] =
    "usage: acl_conv_bench (--layer NAME | --input HxWxC --kernel K [--stride S] [--pad P])\n"
    "                      [--out-channels N] [--method gemm|direct] [--iters N] [--warmup N]\n"
    "                      [--scale F] [--check] [--device-name NAME]\n"
    "       acl_conv_bench --list-layers | --help\n"
    "gemm = CLGEMMConvolutionLayer, direct = CLDirectConvolutionLayer (kernel 1, 3 or 5).\n"
    "Options as in conv_bench --help; median host-clock latency of --iters runs.\n"
    "--device-name NAME: the device name ACL sees (e.g. Mali-G72), through the acl_compat layer (ACL on PoCL).\n";

struct Options
{
    const char *layer = nullptr, *input = nullptr, *device_name = nullptr;
    int kernel = -1, stride = -1, pad = -1, out_channels = -1, iters = 10, warmup = 2;
    bool check = false;
    double scale = 1.0;
    std::string method = "gemm";
};

struct Problem
{
    int c, h, w, k, s, p, m, ho, wo;
};

int parse_int(const char *opt, const char *v, int min)
{
    char *end;
    long x = std::strtol(v, &end, 10);
    if(!*v || *end || x < min || x > 1000000)
        die(2, "invalid value '%s' for %s (expected an integer >= %d)", v, opt, min);
    return static_cast<int>(x);
}

Options parse_args(int argc, char **argv)
{
    Options o;
    static const char *valued[] = {"--layer", "--input", "--kernel", "--stride", "--pad", "--out-channels",
                                   "--method", "--iters", "--warmup", "--scale", "--platform", "--device-name"};
    for(int i = 1; i < argc; ++i)
    {
        const std::string a = argv[i];
        if(a == "--help" || a == "-h")
        {
            std::fputs(usage, stdout);
            std::exit(0);
        }
        if(a == "--list-layers")
        {
            conv_layers_print(stdout);
            std::exit(0);
        }
        if(a == "--check")
        {
            o.check = true;
            continue;
        }
        if(a.compare(0, 2, "--") != 0)
            die(2, "unexpected argument '%s' (see --help)", a.c_str());
        if(std::find_if(std::begin(valued), std::end(valued), [&](const char *v) { return a == v; }) == std::end(valued))
            die(2, "unknown option '%s' (see --help)", a.c_str());
        if(i + 1 >= argc)
            die(2, "option %s needs a value", a.c_str());
        const char *v = argv[++i];
        if(a == "--layer") o.layer = v;
        else if(a == "--input") o.input = v;
        else if(a == "--kernel") o.kernel = parse_int(a.c_str(), v, 1);
        else if(a == "--stride") o.stride = parse_int(a.c_str(), v, 1);
        else if(a == "--pad") o.pad = parse_int(a.c_str(), v, 0);
        else if(a == "--out-channels") o.out_channels = parse_int(a.c_str(), v, 1);
        else if(a == "--device-name")
        {
            if(!*v)
                die(2, "--device-name needs a non-empty name, e.g. Mali-G72");
            o.device_name = v;
        }
        else if(a == "--iters") o.iters = parse_int(a.c_str(), v, 1);
        else if(a == "--warmup") o.warmup = parse_int(a.c_str(), v, 0);
        else if(a == "--platform")
            die(2, "--platform is not supported by acl_conv_bench (ACL uses the default OpenCL platform)");
        else if(a == "--method")
        {
            o.method = v;
            if(o.method == "clblast")
                die(2, "method clblast is not available in acl_conv_bench (use conv_bench)");
            if(o.method != "gemm" && o.method != "direct")
                die(2, "unknown method '%s' (expected gemm, direct or clblast)", v);
        }
        else if(a == "--scale")
        {
            char *end;
            o.scale = std::strtod(v, &end);
            if(!*v || *end || !(o.scale > 0.0 && o.scale <= 4.0))
                die(2, "invalid value '%s' for --scale (expected a number in (0, 4])", v);
        }
    }
    return o;
}

Problem resolve(const Options &o, std::string &name)
{
    Problem pb{};
    int h = 0, w = 0, c = 0;
    if(o.layer && o.input)
        die(2, "--layer and --input are mutually exclusive");
    if(o.layer)
    {
        const conv_layer *l = conv_layer_find(o.layer);
        if(!l)
            die(2, "unknown layer '%s' (see --list-layers)", o.layer);
        if(o.kernel >= 0 || o.stride >= 0 || o.pad >= 0)
            die(2, "--kernel, --stride and --pad go with --input, not --layer");
        h = l->h, w = l->w, c = l->c, pb.k = l->k, pb.s = l->s, pb.p = l->p;
        pb.m = o.out_channels > 0 ? o.out_channels : l->out;
        name = l->name;
    }
    else if(o.input)
    {
        char tail;
        if(std::sscanf(o.input, "%dx%dx%d%c", &h, &w, &c, &tail) != 3 || h < 1 || w < 1 || c < 1)
            die(2, "invalid value '%s' for --input (expected HxWxC, e.g. 56x56x64)", o.input);
        if(o.kernel < 0)
            die(2, "--input needs --kernel");
        if(o.out_channels < 0)
            die(2, "--input needs --out-channels");
        pb.k = o.kernel, pb.s = o.stride > 0 ? o.stride : 1, pb.p = o.pad >= 0 ? o.pad : 0, pb.m = o.out_channels;
        name = "custom." + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) + ".k" +
               std::to_string(pb.k) + "s" + std::to_string(pb.s) + "p" + std::to_string(pb.p);
    }
    else
        die(2, "give --layer NAME or --input HxWxC (see --help)");
    pb.c = c;
    pb.h = std::max(1, static_cast<int>(std::lround(h * o.scale)));
    pb.w = std::max(1, static_cast<int>(std::lround(w * o.scale)));
    if(pb.h + 2 * pb.p < pb.k || pb.w + 2 * pb.p < pb.k)
        die(2, "kernel %d does not fit the %dx%d input with pad %d (raise --scale)", pb.k, pb.h, pb.w, pb.p);
    pb.ho = (pb.h + 2 * pb.p - pb.k) / pb.s + 1;
    pb.wo = (pb.w + 2 * pb.p - pb.k) / pb.s + 1;
    return pb;
}

std::vector<float> random_floats(size_t n, unsigned &state) // same LCG and order as conv_bench.c
{
    std::vector<float> x(n);
    for(auto &v : x)
    {
        state = state * 1664525u + 1013904223u;
        v     = static_cast<float>((state >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
    }
    return x;
}

/* Copy between a host array laid out [d3][d2][d1][d0] (d0 fastest) and a CLTensor, whose
 * rows may be padded by the functions that use it. */
void transfer(CLTensor &t, float *host, bool to_device)
{
    t.map(true);
    const ITensorInfo *info = t.info();
    const TensorShape &sh   = info->tensor_shape();
    size_t i                = 0;
    for(size_t d3 = 0; d3 < std::max<size_t>(sh[3], 1); ++d3)
        for(size_t d2 = 0; d2 < std::max<size_t>(sh[2], 1); ++d2)
            for(size_t d1 = 0; d1 < std::max<size_t>(sh[1], 1); ++d1)
                for(size_t d0 = 0; d0 < sh[0]; ++d0, ++i)
                {
                    const size_t idx[4] = {d0, d1, d2, d3};
                    Coordinates  pos;
                    for(size_t d = 0; d < std::max<size_t>(sh.num_dimensions(), 1); ++d)
                        pos.set(d, static_cast<int>(idx[d]));
                    auto *p = reinterpret_cast<float *>(t.buffer() + info->offset_element_in_bytes(pos));
                    if(to_device)
                        *p = host[i];
                    else
                        host[i] = *p;
                }
    t.unmap();
}

int check_output(const Problem &pb, const std::vector<float> &in, const std::vector<float> &w,
                 const std::vector<float> &out, int &points, double &max_err)
{
    int bad = 0;
    unsigned st = 12345;
    max_err = 0.0, points = 0;
    for(int i = 0; i < 64; ++i, ++points)
    {
        st = st * 1664525u + 1013904223u;
        int m = i < 4 ? (i == 0 || pb.m - i < 0 ? 0 : pb.m - i) : static_cast<int>((st >> 8) % pb.m);
        int oy = i % 4 == 0 ? 0 : i % 4 == 1 ? pb.ho - 1 : static_cast<int>((st >> 4) % pb.ho);
        int ox = i % 4 == 0 ? 0 : i % 4 == 1 ? pb.wo - 1 : static_cast<int>((st >> 12) % pb.wo);
        double ref = 0.0, mag = 0.0;
        for(int c = 0; c < pb.c; ++c)
            for(int ky = 0; ky < pb.k; ++ky)
                for(int kx = 0; kx < pb.k; ++kx)
                {
                    int iy = oy * pb.s - pb.p + ky, ix = ox * pb.s - pb.p + kx;
                    if(iy < 0 || iy >= pb.h || ix < 0 || ix >= pb.w)
                        continue;
                    double t = static_cast<double>(in[(static_cast<size_t>(c) * pb.h + iy) * pb.w + ix]) *
                               w[((static_cast<size_t>(m) * pb.c + c) * pb.k + ky) * pb.k + kx];
                    ref += t, mag += std::fabs(t);
                }
        double err = std::fabs(out[(static_cast<size_t>(m) * pb.ho + oy) * pb.wo + ox] - ref);
        max_err    = std::max(max_err, err);
        if(err > 1e-3 * mag + 1e-4) // looser than conv_bench: Mali may use fused or reordered arithmetic
        {
            if(bad++ < 3)
                std::fprintf(stderr, "%s: mismatch at channel %d, y %d, x %d: got %.6g, expected %.6g\n", prog, m, oy,
                             ox, out[(static_cast<size_t>(m) * pb.ho + oy) * pb.wo + ox], ref);
        }
    }
    return bad;
}
} // namespace

int main(int argc, char **argv)
try
{
    Options o = parse_args(argc, argv);
    std::string name;
    Problem pb = resolve(o, name);
    const std::string warm_name = name + ".warmup";
    const std::string tags      = "channels=" + std::to_string(pb.m) + ",method=" + o.method +
                             (o.device_name ? std::string(",device=") + o.device_name : std::string());

    unsigned seed = 42;
    std::vector<float> input   = random_floats(static_cast<size_t>(pb.c) * pb.h * pb.w, seed);
    std::vector<float> weights = random_floats(static_cast<size_t>(pb.m) * pb.c * pb.k * pb.k, seed);
    std::vector<float> biases(pb.m, 0.0f);

    if(o.device_name)
        setenv("ACL_COMPAT_DEVICE_NAME", o.device_name, 1); // read by examples/acl_compat at clGetDeviceInfo
    CLScheduler::get().default_init();
    const std::string device = CLKernelLibrary::get().get_device().getInfo<CL_DEVICE_NAME>().c_str();
    if(o.device_name && device != o.device_name)
        die(2, "--device-name %s: the device still reports '%s' (load examples/acl_compat's layer through "
               "OPENCL_LAYERS; see docs/acl.md)", o.device_name, device.c_str());

    // NCHW tensors; ACL shapes list the fastest dimension first.
    CLTensor src, wts, bia, dst;
    src.allocator()->init(TensorInfo(TensorShape(pb.w, pb.h, pb.c), 1, DataType::F32));
    wts.allocator()->init(TensorInfo(TensorShape(pb.k, pb.k, pb.c, pb.m), 1, DataType::F32));
    bia.allocator()->init(TensorInfo(TensorShape(pb.m), 1, DataType::F32));
    dst.allocator()->init(TensorInfo(TensorShape(pb.wo, pb.ho, pb.m), 1, DataType::F32));
    const PadStrideInfo conv_info(pb.s, pb.s, pb.p, pb.p);

    std::unique_ptr<IFunction> fn;
    if(o.method == "gemm")
    {
        Status st = CLGEMMConvolutionLayer::validate(src.info(), wts.info(), bia.info(), dst.info(), conv_info);
        if(!bool(st))
            die(2, "CLGEMMConvolutionLayer rejects this layer: %s", st.error_description().c_str());
        auto f = std::unique_ptr<CLGEMMConvolutionLayer>(new CLGEMMConvolutionLayer());
        f->configure(&src, &wts, &bia, &dst, conv_info);
        fn = std::move(f);
    }
    else
    {
        Status st = CLDirectConvolutionLayer::validate(src.info(), wts.info(), bia.info(), dst.info(), conv_info);
        if(!bool(st))
            die(2, "CLDirectConvolutionLayer rejects this layer: %s", st.error_description().c_str());
        auto f = std::unique_ptr<CLDirectConvolutionLayer>(new CLDirectConvolutionLayer());
        f->configure(&src, &wts, &bia, &dst, conv_info);
        fn = std::move(f);
    }
    // Allocate after configure(): the functions may have extended the tensors' padding.
    src.allocator()->allocate();
    wts.allocator()->allocate();
    bia.allocator()->allocate();
    dst.allocator()->allocate();
    transfer(src, input.data(), true);
    transfer(wts, weights.data(), true);
    transfer(bia, biases.data(), true);

    for(int i = 0; i < o.warmup; ++i)
    {
        cltrace_region_begin(warm_name.c_str(), tags.c_str());
        fn->run();
        CLScheduler::get().sync();
        cltrace_region_end();
    }
    std::vector<double> ms;
    for(int i = 0; i < o.iters; ++i)
    {
        cltrace_region_begin(name.c_str(), tags.c_str());
        auto t0 = std::chrono::steady_clock::now();
        fn->run();
        CLScheduler::get().sync();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        cltrace_region_end();
    }
    std::sort(ms.begin(), ms.end());
    const size_t n   = ms.size();
    const double med = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);

    std::printf("layer    %s  input %dx%dx%d  kernel %d stride %d pad %d\n", name.c_str(), pb.h, pb.w, pb.c, pb.k,
                pb.s, pb.p);
    std::printf("output   %d x %dx%d   (GEMM view: M=%d N=%d K=%d)\n", pb.m, pb.ho, pb.wo, pb.m, pb.ho * pb.wo,
                pb.c * pb.k * pb.k);
    std::printf("device   %s  (ACL GPU target %s)\n", device.c_str(),
                string_from_target(CLScheduler::get().target()).c_str());
    std::printf("method   %s: %s\n", o.method.c_str(),
                o.method == "gemm" ? "arm_compute::CLGEMMConvolutionLayer" : "arm_compute::CLDirectConvolutionLayer");
    std::printf("time     median %.3f ms  min %.3f  max %.3f  (%d iterations after %d warm-up)\n", med, ms.front(),
                ms.back(), o.iters, o.warmup);
    int status = 0;
    if(o.check)
    {
        std::vector<float> out(static_cast<size_t>(pb.m) * pb.ho * pb.wo);
        transfer(dst, out.data(), false);
        int points;
        double max_err;
        int bad = check_output(pb, input, weights, out, points, max_err);
        if(bad)
        {
            std::fprintf(stderr, "%s: check failed: %d of %d sampled outputs differ from the CPU reference\n", prog,
                         bad, points);
            status = 1;
        }
        else
            std::printf("check    ok (%d sampled outputs, max abs error %.2g)\n", points, max_err);
    }
    std::printf("RESULT layer=%s method=%s channels=%d median_ms=%.4f min_ms=%.4f max_ms=%.4f\n", name.c_str(),
                o.method.c_str(), pb.m, med, ms.front(), ms.back());
    fn.reset(); // functions before the tensors they reference
    return status;
}
catch(const std::exception &e)
{
    std::fprintf(stderr, "%s: %s\n", prog, e.what());
    return 1;
}
