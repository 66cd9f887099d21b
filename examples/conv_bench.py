#!/usr/bin/env python3
"""conv_bench.py: pyopencl twin of conv_bench.c (same kernels, same command line subset).

    python3 examples/conv_bench.py --layer resnet50.L15 --scale 0.25 --out-channels 92 --method gemm --check

Runs one convolution layer with a given number of output channels by `gemm` (im2col +
float4 GEMM, 4 channels per work-item, + a scalar `gemm_tail` dispatch for the 1-3 left
over), `direct` (global (C_out, H_out, W_out), local size left to the runtime) or `tiled`
(one work-group of 64 work-items per tile of 4 output channels: ceil(C_out/4) work-groups, run
in rounds of the device's compute units), and prints the median host-clock latency. Each
measured iteration is a cltrace region named after the layer, tagged channels=N,method=M;
warm-up iterations stay outside regions.
Exit codes: 0 ok, 1 runtime failure or --check mismatch, 2 bad input.
"""
import argparse
import math
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from region_loader import load_region  # noqa: E402  (next to this script, found without cltrace installed)
KERNELS = os.path.join(HERE, "kernels", "conv.cl")
PROG = "conv_bench.py"
GEMM_VEC = 4
GEMM_LOCAL_X = 32
TILED_VEC = 4
TILED_LOCAL_X = 64


def die(code, message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------- layers (same table as conv_layers.c)

def build_layers():
    """name -> (H, W, C, K, S, P, default out channels, description); numbering as in conv_layers.c."""
    t = {"resnet50.L1": (224, 224, 3, 7, 2, 3, 64, "conv1, 7x7/2")}
    stages = [(56, 3, 64, 64), (56, 4, 128, 256), (28, 6, 256, 512), (14, 3, 512, 1024)]
    n = 1
    for st, (size_in, blocks, width, c_in0) in enumerate(stages):
        stride = 1 if st == 0 else 2
        size = size_in // stride
        for b in range(blocks):
            c_in = c_in0 if b == 0 else 4 * width
            s = stride if b == 0 else 1
            in_size = size_in if b == 0 else size
            sfx = " /2" if s == 2 else ""
            t[f"resnet50.L{n + 1}"] = (in_size, in_size, c_in, 1, s, 0, width,
                                       f"conv{st + 2}_x block {b + 1}, 1x1 reduce{sfx}")
            t[f"resnet50.L{n + 2}"] = (size, size, width, 3, 1, 1, width, f"conv{st + 2}_x block {b + 1}, 3x3")
            t[f"resnet50.L{n + 3}"] = (size, size, width, 1, 1, 0, 4 * width,
                                       f"conv{st + 2}_x block {b + 1}, 1x1 expand")
            n += 3
    for st, (size_in, _, width, c_in0) in enumerate(stages):
        stride = 1 if st == 0 else 2
        t[f"resnet50.P{st + 2}"] = (size_in, size_in, c_in0, 1, stride, 0, 4 * width,
                                    f"conv{st + 2}_x projection shortcut{' /2' if stride == 2 else ''}")
    vgg = [(224, 3, 64), (224, 64, 64), (112, 64, 128), (112, 128, 128), (56, 128, 256), (56, 256, 256),
           (56, 256, 256), (28, 256, 512), (28, 512, 512), (28, 512, 512), (14, 512, 512), (14, 512, 512),
           (14, 512, 512)]
    names = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_1", "conv4_2",
             "conv4_3", "conv5_1", "conv5_2", "conv5_3"]
    for i, (size, c_in, out) in enumerate(vgg):
        t[f"vgg16.L{i + 1}"] = (size, size, c_in, 3, 1, 1, out, names[i])
    t["alexnet.L1"] = (227, 227, 3, 11, 4, 0, 96, "conv1, 11x11/4")
    t["alexnet.L2"] = (27, 27, 96, 5, 1, 2, 256, "conv2, 5x5")
    t["alexnet.L3"] = (13, 13, 256, 3, 1, 1, 384, "conv3, 3x3")
    t["alexnet.L4"] = (13, 13, 384, 3, 1, 1, 384, "conv4, 3x3")
    t["alexnet.L5"] = (13, 13, 384, 3, 1, 1, 256, "conv5, 3x3")
    return t


LAYERS = build_layers()


# ---------------------------------------------------------------- command line

class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like conv_bench.c
        die(2, message)


def positive_int(minimum):
    def parse(text):
        if not re.fullmatch(r"[+-]?\d+", text) or not minimum <= int(text) <= 1000000:
            raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected an integer >= {minimum})")
        return int(text)
    return parse


def scale_value(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 4.0:
        raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected a number in (0, 4])")
    return value


def parse_args(argv):
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--layer")
    p.add_argument("--input", metavar="HxWxC")
    p.add_argument("--kernel", type=positive_int(1))
    p.add_argument("--stride", type=positive_int(1))
    p.add_argument("--pad", type=positive_int(0))
    p.add_argument("--out-channels", type=positive_int(1))
    p.add_argument("--method", default="gemm")
    p.add_argument("--iters", type=positive_int(1), default=10)
    p.add_argument("--warmup", type=positive_int(0), default=2)
    p.add_argument("--scale", type=scale_value, default=1.0)
    p.add_argument("--check", action="store_true")
    p.add_argument("--platform")
    p.add_argument("--list-layers", action="store_true")
    args = p.parse_args(argv)
    if args.method not in ("gemm", "direct", "clblast", "tiled", "bifrost", "bifrost-rounds"):
        die(2, f"unknown method '{args.method}' (expected gemm, direct, clblast, tiled, bifrost or bifrost-rounds)")
    if args.method in ("clblast", "bifrost", "bifrost-rounds"):
        die(2, f"method {args.method} is not available in conv_bench.py (use examples/bin/conv_bench)")
    return args


def resolve_problem(args):
    """-> (region name, dict of the problem)."""
    if args.layer and args.input:
        die(2, "--layer and --input are mutually exclusive")
    if args.layer:
        if args.layer not in LAYERS:
            die(2, f"unknown layer '{args.layer}' (see --list-layers)")
        if args.kernel is not None or args.stride is not None or args.pad is not None:
            die(2, "--kernel, --stride and --pad go with --input, not --layer")
        h, w, c, k, s, pad, out, _ = LAYERS[args.layer]
        m = args.out_channels or out
        name = args.layer
    elif args.input:
        match = re.fullmatch(r"(\d+)x(\d+)x(\d+)", args.input)
        if not match or min(int(g) for g in match.groups()) < 1:
            die(2, f"invalid value '{args.input}' for --input (expected HxWxC, e.g. 56x56x64)")
        h, w, c = (int(g) for g in match.groups())
        if args.kernel is None:
            die(2, "--input needs --kernel")
        if args.out_channels is None:
            die(2, "--input needs --out-channels")
        k, s, pad, m = args.kernel, args.stride or 1, args.pad or 0, args.out_channels
        name = f"custom.{h}x{w}x{c}.k{k}s{s}p{pad}"
    else:
        die(2, "give --layer NAME or --input HxWxC (see --help)")
    h = max(1, int(math.floor(h * args.scale + 0.5)))
    w = max(1, int(math.floor(w * args.scale + 0.5)))
    if h + 2 * pad < k or w + 2 * pad < k:
        die(2, f"kernel {k} does not fit the {h}x{w} input with pad {pad} (raise --scale)")
    ho, wo = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    return name, dict(c=c, h=h, w=w, k=k, s=s, p=pad, m=m, ho=ho, wo=wo)


def list_layers():
    print("# Lk = k-th convolution of the network in execution order (from 1).")
    print("# resnet50: the 49 convs of the canonical 50-layer count (v1, stride in the first 1x1);")
    print("#           projection shortcuts listed separately as resnet50.P2..P5.")
    print("# input is HxWxC; out = default (unpruned) output channels.")
    print(f"{'layer':<14} {'input':<13} {'kernel':>6} {'stride':>6} {'pad':>4} {'out':>4} description")
    for name, (h, w, c, k, s, p, out, desc) in LAYERS.items():
        print(f"{name:<14} {f'{h}x{w}x{c}':<13} {k:>6} {s:>6} {p:>4} {out:>4} {desc}")


# ---------------------------------------------------------------- data and reference

def random_floats(n, state):
    """Same LCG as conv_bench.c (seed 42, input first, then weights): identical data.

    Vectorised with jump-ahead: x[base + j] = A[j] * x[base] + C[j] (mod 2**32).
    """
    import numpy as np

    a, c, mask, block = 1664525, 1013904223, 0xFFFFFFFF, 4096
    mul, add = np.empty(block, dtype=np.uint64), np.empty(block, dtype=np.uint64)
    am, cm = 1, 0
    for j in range(block):
        am, cm = (am * a) & mask, (cm * a + c) & mask
        mul[j], add[j] = am, cm
    out = np.empty(n, dtype=np.float32)
    x = state[0]
    for base in range(0, n, block):
        xs = (mul * np.uint64(x) + add) & np.uint64(mask)
        take = min(block, n - base)
        out[base:base + take] = (xs[:take] >> np.uint64(8)).astype(np.float64) * (2.0 / 16777216.0) - 1.0
        x = int(xs[take - 1])
    state[0] = x
    return out


def check_output(pb, inp, wts, out):
    """Sampled outputs vs a float64 reference -> (points, mismatches, max abs error)."""
    import numpy as np

    c, h, w, k, s, p, m, ho, wo = (pb[x] for x in "c h w k s p m ho wo".split())
    x = np.pad(inp.reshape(c, h, w).astype(np.float64), ((0, 0), (p, p), (p, p)))
    wt = wts.reshape(m, c, k, k).astype(np.float64)
    o = out.reshape(m, ho, wo)
    rng = np.random.default_rng(12345)
    points = [(0, 0, 0), (m - 1, ho - 1, wo - 1), (max(m - 2, 0), 0, wo - 1), (max(m - 3, 0), ho - 1, 0)]
    points += [(int(rng.integers(m)), int(rng.integers(ho)), int(rng.integers(wo))) for _ in range(60)]
    bad, max_err = 0, 0.0
    for ch, oy, ox in points:
        patch = x[:, oy * s:oy * s + k, ox * s:ox * s + k] * wt[ch]
        ref, mag = patch.sum(), np.abs(patch).sum()
        err = abs(float(o[ch, oy, ox]) - ref)
        max_err = max(max_err, err)
        if err > 1e-4 * mag + 1e-5:
            if bad < 3:
                print(f"{PROG}: mismatch at channel {ch}, y {oy}, x {ox}: got {o[ch, oy, ox]:.6g}, "
                      f"expected {ref:.6g}", file=sys.stderr)
            bad += 1
    return len(points), bad, max_err


# ---------------------------------------------------------------- OpenCL

def pick_device(cl, substr):
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        platforms = []
    if not platforms:
        die(1, "no OpenCL platform found (is an ICD installed?)")
    for plat in platforms:
        if substr and substr not in plat.name and substr not in plat.vendor:
            continue
        try:
            devices = plat.get_devices()
        except cl.Error:
            continue
        if devices:
            return plat, devices[0]
    if substr:
        die(2, f"no OpenCL platform with a device matches '{substr}'")
    die(1, "no OpenCL device found")


def round_up(x, to):
    return (x + to - 1) // to * to


class Runner:
    """Buffers, kernels and launch geometry of one method; run() enqueues one layer execution."""

    def __init__(self, cl, ctx, queue, method, pb, inp, wts):
        import numpy as np

        self.cl, self.queue, self.method, self.pb = cl, queue, method, pb
        with open(KERNELS) as f:
            self.program = cl.Program(ctx, f.read()).build(options=["-cl-std=CL1.2"])
        mf = cl.mem_flags
        c, h, w, k, s, p, m, ho, wo = (pb[x] for x in "c h w k s p m ho wo".split())
        n, kd = ho * wo, c * k * k
        i32 = np.int32
        self.inp = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=inp)
        self.out = cl.Buffer(ctx, mf.READ_WRITE, size=4 * m * n)
        self.launches = []  # (kernel, global, local)
        if method == "gemm":
            groups, tail = divmod(m, GEMM_VEC)
            wt = np.ascontiguousarray(wts.reshape(m, kd).T)  # (C*K*K) x M, reshaped once like ACL
            self.w = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=wt)
            self.col = cl.Buffer(ctx, mf.READ_WRITE, size=4 * n * kd)
            gx, local = round_up(n, GEMM_LOCAL_X), (GEMM_LOCAL_X, 1)
            k_im2col = cl.Kernel(self.program, "im2col")
            k_im2col.set_args(self.inp, self.col, *(i32(v) for v in (c, h, w, k, s, p, ho, wo)))
            self.launches.append((k_im2col, (gx, c), local))
            plan = ["im2col", f"gemm_v4 ({groups} x {GEMM_VEC} channels)"]
            if groups:
                k_gemm = cl.Kernel(self.program, "gemm_v4")
                k_gemm.set_args(self.w, self.col, self.out, i32(m), i32(n), i32(kd))
                self.launches.append((k_gemm, (gx, groups), local))
            if tail:
                k_tail = cl.Kernel(self.program, "gemm_tail")
                k_tail.set_args(self.w, self.col, self.out, i32(m), i32(n), i32(kd), i32(groups * GEMM_VEC))
                self.launches.append((k_tail, (gx, tail), local))
                plan.append(f"gemm_tail ({tail} channel{'s' if tail > 1 else ''})")
            self.plan = ", ".join(plan)
        elif method == "tiled":
            tiles = -(-m // TILED_VEC)
            wt4 = np.zeros((tiles * TILED_VEC, kd), dtype=np.float32)   # zero-padded to whole tiles
            wt4[:m] = wts.reshape(m, kd)
            wt4 = np.ascontiguousarray(wt4.reshape(tiles, TILED_VEC, kd).transpose(0, 2, 1))  # [t][k][i]
            self.w = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=wt4)
            k_tiled = cl.Kernel(self.program, "conv_tiled")
            k_tiled.set_args(self.inp, self.w, self.out, *(i32(v) for v in (c, h, w, k, s, p, ho, wo, m)))
            self.launches.append((k_tiled, (TILED_LOCAL_X, tiles), (TILED_LOCAL_X, 1)))
            cu = max(1, queue.device.max_compute_units)
            rounds = -(-tiles // cu)
            self.plan = (f"conv_tiled global {TILED_LOCAL_X}x{tiles}, local {TILED_LOCAL_X}x1: {tiles} "
                         f"work-group{'s' if tiles != 1 else ''} of {TILED_VEC} channels, {cu} compute "
                         f"unit{'s' if cu != 1 else ''} -> {rounds} round{'s' if rounds != 1 else ''}")
        else:
            self.w = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=wts)
            k_direct = cl.Kernel(self.program, "direct_conv")
            k_direct.set_args(self.inp, self.w, self.out, *(i32(v) for v in (c, h, w, k, s, p)))
            self.launches.append((k_direct, (m, ho, wo), None))
            self.plan = f"direct_conv global {m}x{ho}x{wo}, local chosen by the runtime"

    def run(self):
        for kernel, global_size, local_size in self.launches:
            self.cl.enqueue_nd_range_kernel(self.queue, kernel, global_size, local_size)

    def read(self):
        import numpy as np

        out = np.empty(self.pb["m"] * self.pb["ho"] * self.pb["wo"], dtype=np.float32)
        self.cl.enqueue_copy(self.queue, out, self.out)
        return out


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list_layers:
        list_layers()
        return 0
    name, pb = resolve_problem(args)
    try:
        import pyopencl as cl
    except ImportError:
        die(1, "pyopencl is not installed (pip install pyopencl)")
    region = load_region()
    tags = dict(channels=pb["m"], method=args.method)
    state = [42]
    inp = random_floats(pb["c"] * pb["h"] * pb["w"], state)
    wts = random_floats(pb["m"] * pb["c"] * pb["k"] * pb["k"], state)

    platform, device = pick_device(cl, args.platform)
    ctx = cl.Context([device])
    queue = cl.CommandQueue(ctx)
    runner = Runner(cl, ctx, queue, args.method, pb, inp, wts)
    for _ in range(args.warmup):      # outside regions: warm-ups carry compilation, they are no sample
        runner.run()
        queue.finish()
    times = []
    for _ in range(args.iters):
        with region(name, **tags):
            t0 = time.perf_counter()
            runner.run()
            queue.finish()
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    mid = len(times) // 2
    median = times[mid] if len(times) % 2 else 0.5 * (times[mid - 1] + times[mid])
    kd = pb["c"] * pb["k"] * pb["k"]
    print(f"layer    {name}  input {pb['h']}x{pb['w']}x{pb['c']}  kernel {pb['k']} stride {pb['s']} pad {pb['p']}")
    print(f"output   {pb['m']} x {pb['ho']}x{pb['wo']}   (GEMM view: M={pb['m']} N={pb['ho'] * pb['wo']} K={kd})")
    print(f"method   {args.method}: {runner.plan}")
    print(f"device   {device.name} ({platform.name})")
    print(f"time     median {median:.3f} ms  min {times[0]:.3f}  max {times[-1]:.3f}  "
          f"({args.iters} iterations after {args.warmup} warm-up)")
    status = 0
    if args.check:
        points, bad, max_err = check_output(pb, inp, wts, runner.read())
        if bad:
            print(f"{PROG}: check failed: {bad} of {points} sampled outputs differ from the CPU reference",
                  file=sys.stderr)
            status = 1
        else:
            print(f"check    ok ({points} sampled outputs, max abs error {max_err:.2g})")
    print(f"RESULT layer={name} method={args.method} channels={pb['m']} median_ms={median:.4f} "
          f"min_ms={times[0]:.4f} max_ms={times[-1]:.4f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
