#!/usr/bin/env python3
"""opencv_conv.py: one convolution layer run by OpenCV DNN (a real third-party library) on OpenCL.

    python3 examples/opencv_conv.py --input 56x56x64 --kernel 3 --pad 1 --out-channels 62 --scale 0.25
    python3 examples/opencv_conv.py --input 56x56x64 --kernel 3 --pad 1 --out-channels 62,60,61 --order-seed 3

Builds a one-Conv ONNX model with onnx.helper for the configuration (random weights made here, nothing
downloaded), loads it with cv2.dnn.readNetFromONNX, runs it with DNN_BACKEND_OPENCV + DNN_TARGET_OPENCL (OpenCV's
ocl4dnn kernels on the OpenCL device: PoCL here), and prints the median host-clock latency of net.forward().
Warm-up forwards stay outside regions (they compile and tune OpenCV's kernels); each measured forward is one
cltrace region named after the layer (--name, default custom.HxWxC.kKsSpP as conv_bench), tagged
channels=N,method=opencv, so `cltrace run` / `cltrace network` attribute the layer's launches to it.

A list of counts (--out-channels 62,60,61) measures every count in this one process, a blocked run as
`cltrace sweep --block K` makes and conv_bench measures one (docs/analysis.md): each count its own model (the
weights and input a process of that count alone draws), net and warm-up forwards (ocl4dnn builds each
convolution's kernels with its channel count compiled in, so one count's warm-up does not warm another's), then
the forwards interleaved (round i runs forward i of every count: with --order-seed in a new random order each
round), each in a region tagged with its count, and a RESULT line per count.

OpenCV runs DNN on OpenCL only on a device it accepts: its default device filter takes GPUs only, and its DNN
module falls back to its CPU code on any other device. So this program sets, where they are unset,
OPENCV_OPENCL_DEVICE=:GPU|CPU: (a GPU, else a CPU device such as PoCL's) and OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1,
and exits 1 with a clear line when OpenCV would still run without OpenCL (silently, with no kernel launch to
trace). OpenCV 5's new DNN engine runs on the CPU only: opencv-python-headless 4.x is needed.
--probe checks all that and prints OpenCV's version and device (cltrace network --runtime opencv runs it first).
Exit codes: 0 ok, 1 runtime failure (OpenCV without OpenCL, a failing forward), 2 bad input or opencv missing.
"""
import argparse
import copy
import math
import os
import random
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from region_loader import load_region  # noqa: E402  (next to this script, found without cltrace installed)
PROG = "opencv_conv.py"
EXIT_RUNTIME, EXIT_USAGE = 1, 2
METHOD = "opencv"
INSTALL = "pip install 'opencv-python-headless<5'"
DEFAULT_DEVICE = ":GPU|CPU:"        # OpenCV's device filter: a GPU if there is one, else a CPU device (PoCL)
ALLOW_ALL = "OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES"      # else OpenCV DNN falls back to its CPU code off GPUs
TRUE = ("1", "true", "True", "TRUE", "on", "ON")


def die(code, message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(code)


def import_cv2():
    """cv2 (OpenCV's Python module), or exit 2 with how to install it."""
    try:
        import cv2
    except ImportError:
        die(EXIT_USAGE, f"OpenCV's Python module (cv2) is not installed: {INSTALL}")
    major = int(re.match(r"\d+", cv2.__version__).group())
    if major >= 5:
        die(EXIT_USAGE, f"OpenCV {cv2.__version__}: its DNN engine runs on the CPU only (no OpenCL target); "
                        f"{INSTALL}")
    return cv2


def positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected a whole number)") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected a whole number >= 1)")
    return v


def channel_list(text):
    """--out-channels N or N1,N2,...: whole numbers >= 1, none twice (one unit per count and process)."""
    values = []
    for part in text.split(","):
        if not part.isdigit() or int(part) < 1:
            listed = " or a list N1,N2,... of them" if "," in text else ""
            raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected a whole number >= 1{listed})")
        if int(part) in values:
            raise argparse.ArgumentTypeError(f"{text}: {int(part)} appears twice (a process measures each count "
                                             f"once)")
        values.append(int(part))
    return values


def whole(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid value '{text}' (expected a whole number >= 0)")
    return int(text)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", metavar="HxWxC", help="the layer's input (before --scale)")
    ap.add_argument("--kernel", type=positive, metavar="K", help="square kernel size")
    ap.add_argument("--stride", type=positive, default=1, metavar="S")
    ap.add_argument("--pad", type=int, default=0, metavar="P", help="padding on every side (default 0)")
    ap.add_argument("--out-channels", type=channel_list, metavar="N[,N...]",
                    help="output channels; a list measures each count in this process (a blocked run)")
    ap.add_argument("--order-seed", type=whole, default=0, metavar="S",
                    help="the counts of a list in a random order drawn from seed S, a new one each round "
                         "(default 0: the order given)")
    ap.add_argument("--scale", type=float, default=1.0, metavar="F",
                    help="multiply the input's H and W by F, rounded (as conv_bench; default 1)")
    ap.add_argument("--iters", type=positive, default=10, metavar="N", help="measured forwards (default 10)")
    ap.add_argument("--warmup", type=int, default=2, metavar="N",
                    help="unmeasured forwards first (default 2; the first forward compiles OpenCV's kernels)")
    ap.add_argument("--name", metavar="NAME", help="the region name (default custom.HxWxC.kKsSpP)")
    ap.add_argument("--target", choices=("opencl", "opencl_fp16"), default="opencl",
                    help="the DNN target (default opencl: fp32)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the random weights and input")
    ap.add_argument("--check", action="store_true",
                    help="compare the OpenCL result with OpenCV's CPU target (exit 1 on a mismatch)")
    ap.add_argument("--probe", action="store_true",
                    help="only check that OpenCV runs DNN on an OpenCL device: print its version and the device")
    args = ap.parse_args(argv)
    if args.probe:
        return args
    for flag in ("input", "kernel", "out_channels"):
        if getattr(args, flag) is None:
            ap.error(f"--{flag.replace('_', '-')} is required")
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", args.input)
    if not m or min(int(x) for x in m.groups()) < 1:
        ap.error(f"invalid value '{args.input}' for --input (expected HxWxC, e.g. 56x56x64)")
    if args.pad < 0:
        ap.error(f"invalid value '{args.pad}' for --pad (expected a whole number >= 0)")
    if args.warmup < 0:
        ap.error(f"invalid value '{args.warmup}' for --warmup (expected a whole number >= 0)")
    if not (args.scale > 0 and args.scale <= 4):
        ap.error(f"invalid value '{args.scale:g}' for --scale (expected a number in (0, 4])")
    args.counts = args.out_channels
    if args.order_seed and len(args.counts) < 2:
        ap.error("--order-seed orders a list of counts: give --out-channels N1,N2,...")
    if args.order_seed:
        random.Random(args.order_seed).shuffle(args.counts)
    h, w, c = (int(x) for x in m.groups())
    args.name = args.name or f"custom.{h}x{w}x{c}.k{args.kernel}s{args.stride}p{args.pad}"
    args.c = c
    args.h = max(1, int(math.floor(h * args.scale + 0.5)))
    args.w = max(1, int(math.floor(w * args.scale + 0.5)))
    if min(args.h, args.w) + 2 * args.pad < args.kernel:
        die(EXIT_USAGE, f"kernel {args.kernel} does not fit the {args.h}x{args.w} input with pad {args.pad} "
                        f"(raise --scale)")
    return args


def conv_model(a, rng):
    """A one-Conv ONNX model (input 1xCxHxW, weights and bias as initializers) as bytes."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    fan_in = a.c * a.kernel * a.kernel
    ho, wo = out_size(a)
    w = (rng.standard_normal((a.out_channels, a.c, a.kernel, a.kernel), dtype=np.float32)
         * np.float32(math.sqrt(2.0 / fan_in)))
    b = rng.standard_normal(a.out_channels, dtype=np.float32) * np.float32(0.1)
    node = helper.make_node("Conv", ["input", "w", "b"], ["output"], name=a.name,
                            kernel_shape=[a.kernel, a.kernel], strides=[a.stride, a.stride], pads=[a.pad] * 4)
    graph = helper.make_graph([node], "conv", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                             [1, a.c, a.h, a.w])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, a.out_channels, ho, wo])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = min(model.ir_version, 8)       # OpenCV 4's ONNX importer reads IR <= 8
    return model.SerializeToString()


def out_size(a):
    return (a.h + 2 * a.pad - a.kernel) // a.stride + 1, (a.w + 2 * a.pad - a.kernel) // a.stride + 1


def load_net(cv2, model: bytes, target: int):
    """cv2.dnn.readNetFromONNX of the model (through a temporary file: the path overload is in every 4.x)."""
    fd, path = tempfile.mkstemp(suffix=".onnx", prefix="opencv_conv-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model)
        net = cv2.dnn.readNetFromONNX(path)
    finally:
        os.unlink(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(target)
    return net


def setup_environment():
    """OpenCV reads these when it loads (the DNN one) or first initialises OpenCL: set before importing cv2.
    A device the user chose (OPENCV_OPENCL_DEVICE) or a refusal they set is kept."""
    os.environ.setdefault("OPENCV_OPENCL_DEVICE", DEFAULT_DEVICE)
    os.environ.setdefault(ALLOW_ALL, "1")


def opencl_device(cv2):
    """OpenCV's OpenCL device, or exit 1 saying why OpenCV DNN would run on its CPU code instead (it does so
    silently, with no kernel launch to trace)."""
    if not cv2.ocl.haveOpenCL():
        die(EXIT_RUNTIME, "OpenCV finds no OpenCL platform (is an ICD installed? PoCL: the pocl-opencl-icd "
                          "package)")
    cv2.ocl.setUseOpenCL(True)
    if not cv2.ocl.useOpenCL():
        die(EXIT_RUNTIME, f"OpenCV accepts no OpenCL device (OPENCV_OPENCL_DEVICE="
                          f"{os.environ.get('OPENCV_OPENCL_DEVICE', '')!r}; '{DEFAULT_DEVICE}' takes a GPU, "
                          f"else a CPU device such as PoCL's)")
    dev = cv2.ocl.Device.getDefault()
    if dev.type() != cv2.ocl.Device_TYPE_GPU and os.environ.get(ALLOW_ALL, "") not in TRUE:
        die(EXIT_RUNTIME, f"OpenCV DNN runs on GPUs only unless {ALLOW_ALL}=1 ({ALLOW_ALL}="
                          f"{os.environ.get(ALLOW_ALL, '')!r}, device {dev.name()}: a CPU)")
    return dev


def main(argv=None) -> int:
    a = parse_args(argv)
    setup_environment()
    cv2 = import_cv2()
    dev = opencl_device(cv2)
    if a.probe:
        print(f"opencv {cv2.__version__} DNN_TARGET_OPENCL on {dev.name()} ({dev.vendorName()}, "
              f"{'GPU' if dev.type() == cv2.ocl.Device_TYPE_GPU else 'CPU'})")
        return 0
    import numpy as np
    region = load_region()
    target = cv2.dnn.DNN_TARGET_OPENCL if a.target == "opencl" else cv2.dnn.DNN_TARGET_OPENCL_FP16
    points = []
    try:
        for n in a.counts:          # each count: the model, input and warm-up of a process of that count alone
            p = copy.copy(a)
            p.out_channels = n
            rng = np.random.default_rng(a.seed)
            p.net = load_net(cv2, conv_model(p, rng), target)
            p.x = rng.standard_normal((1, a.c, a.h, a.w), dtype=np.float32)
            p.net.setInput(p.x)
            for _ in range(a.warmup):       # outside regions: kernel compilation, OpenCV's set-up
                p.out = p.net.forward()
            p.tags = dict(channels=n, method=METHOD)
            p.ms = []
            points.append(p)
        order = list(range(len(points)))
        for i in range(a.iters):    # forwards interleaved: round i runs forward i of every count
            if a.order_seed and i > 0:
                random.Random(a.order_seed + i).shuffle(order)
            for k in order:
                p = points[k]
                with region(a.name, **p.tags):
                    t0 = time.perf_counter()
                    p.out = p.net.forward()
                    p.ms.append((time.perf_counter() - t0) * 1e3)
    except cv2.error as e:
        die(EXIT_RUNTIME, f"net.forward failed: {str(e).strip().splitlines()[-1]}")
    if not cv2.ocl.useOpenCL():
        die(EXIT_RUNTIME, "OpenCV turned OpenCL off while running the layer (see its log above)")
    for p in points:
        report(cv2, np, p, dev)
    return 0


def report(cv2, np, a, dev):
    """The summary lines (and --check) of one count."""
    out, ms = a.out, a.ms
    ho, wo = out_size(a)
    if out.shape != (1, a.out_channels, ho, wo):
        die(EXIT_RUNTIME, f"net.forward returned shape {out.shape}, expected {(1, a.out_channels, ho, wo)}")
    if a.check:
        ref_net = load_net(cv2, conv_model(a, np.random.default_rng(a.seed)), cv2.dnn.DNN_TARGET_CPU)
        ref_net.setInput(a.x)
        ref = ref_net.forward()
        tol = 1e-3 if a.target == "opencl" else 5e-2
        err = float(np.max(np.abs(out - ref)) / max(1e-6, float(np.max(np.abs(ref)))))
        if not err <= tol:
            die(EXIT_RUNTIME, f"check: the OpenCL result differs from the CPU target's (max relative error "
                              f"{err:.3g} > {tol:g})")
        print(f"check    ok (max relative error {err:.2e} against DNN_TARGET_CPU)")
    ms.sort()
    n = len(ms)
    median = ms[n // 2] if n % 2 else 0.5 * (ms[n // 2 - 1] + ms[n // 2])
    print(f"layer    {a.name}  input {a.h}x{a.w}x{a.c}  kernel {a.kernel} stride {a.stride} pad {a.pad}")
    print(f"opencv   {cv2.__version__}  DNN_BACKEND_OPENCV + DNN_TARGET_{a.target.upper()} on "
          f"{dev.name()} ({dev.vendorName()})")
    print(f"RESULT layer={a.name} method={METHOD} channels={a.out_channels} median_ms={median:.4f} "
          f"min_ms={ms[0]:.4f} max_ms={ms[-1]:.4f}")


if __name__ == "__main__":
    sys.exit(main())
