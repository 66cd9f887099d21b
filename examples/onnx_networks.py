#!/usr/bin/env python3
"""ONNX graphs of ResNet-50, VGG-16, AlexNet and MobileNetV2 for `cltrace network`: the architecture only,
built with onnx.helper, random weights made here (nothing is downloaded).

    python examples/onnx_networks.py resnet50 -o resnet50.onnx            # small: --width 0.25 (default)
    python examples/onnx_networks.py vgg16 --width 1 -o vgg16.onnx         # the published channel counts
    cltrace network resnet50.onnx --dry-run

--width multiplies every layer's channel count (rounded to a multiple of 8, as MobileNet does), so the default
file is a few MB instead of ~100 MB; --width 1 gives the published shapes (the same as conv_bench's catalogue
`cltrace network resnet50`, whose ResNet-50 is v1 with the stride in the first 1x1 of stages 3-5). BatchNorm is
left out (folded into the convolution at inference), which changes no conv shape. MobileNetV2's depthwise
convolutions are groups = channels: cltrace network lists them as skipped (conv_bench runs dense convolutions).
"""
import argparse
import sys

import numpy as np


class Graph:
    def __init__(self, width: float, seed: int = 0):
        self.nodes, self.inits, self.width, self.n = [], [], width, 0
        self.rng = np.random.default_rng(seed)

    def ch(self, c: int) -> int:
        if self.width == 1:
            return c
        return max(8, int(c * self.width + 4) // 8 * 8)

    def _name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def _weight(self, name, shape):
        from onnx import numpy_helper
        fan_in = int(np.prod(shape[1:]))
        w = (self.rng.standard_normal(shape, dtype=np.float32) * np.sqrt(2.0 / max(fan_in, 1))).astype(np.float32)
        self.inits.append(numpy_helper.from_array(w, name))
        return name

    def node(self, op, inputs, name=None, **attrs):
        from onnx import helper
        name = name or self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x, c_in, c_out, k, s=1, p=0, group=1, relu=True, name=None):
        name = name or self._name("conv")
        w = self._weight(name + "_w", (c_out, c_in // group, k, k))
        b = self._weight(name + "_b", (c_out,))
        y = self.node("Conv", [x, w, b], name=name, kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, group=group)
        return self.node("Relu", [y]) if relu else y

    def maxpool(self, x, k, s, p=0):
        return self.node("MaxPool", [x], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4)

    def head(self, x, c, classes=1000):
        x = self.node("Flatten", [self.node("GlobalAveragePool", [x])])
        w = self._weight(self._name("fc") + "_w", (classes, c))
        return self.node("Gemm", [x, w], transB=1)

    def model(self, name, out, size):
        import onnx
        from onnx import TensorProto, helper
        graph = helper.make_graph(self.nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                                   [1, 3, size, size])],
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        return onnx.shape_inference.infer_shapes(m)


def resnet50(g: Graph):
    x = g.conv("input", 3, g.ch(64), 7, 2, 3, name="conv1")
    x = g.maxpool(x, 3, 2, 1)
    c = g.ch(64)
    for stage, (blocks, width) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512))):
        w, out = g.ch(width), g.ch(4 * width)
        for b in range(blocks):
            s = 2 if b == 0 and stage > 0 else 1
            tag = f"conv{stage + 2}_{b + 1}"
            y = g.conv(x, c, w, 1, s, 0, name=f"{tag}_reduce")
            y = g.conv(y, w, w, 3, 1, 1, name=f"{tag}_3x3")
            y = g.conv(y, w, out, 1, 1, 0, relu=False, name=f"{tag}_expand")
            short = g.conv(x, c, out, 1, s, 0, relu=False, name=f"{tag}_proj") if b == 0 else x
            x = g.node("Relu", [g.node("Add", [y, short])])
            c = out
    return g.head(x, c), 224


def vgg16(g: Graph):
    x, c = "input", 3
    for i, (n, width) in enumerate(((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))):
        for j in range(n):
            x = g.conv(x, c, g.ch(width), 3, 1, 1, name=f"conv{i + 1}_{j + 1}")
            c = g.ch(width)
        x = g.maxpool(x, 2, 2)
    return g.head(x, c), 224


def alexnet(g: Graph):
    x = g.conv("input", 3, g.ch(96), 11, 4, 0, name="conv1")
    x = g.maxpool(x, 3, 2)
    x = g.conv(x, g.ch(96), g.ch(256), 5, 1, 2, name="conv2")
    x = g.maxpool(x, 3, 2)
    x = g.conv(x, g.ch(256), g.ch(384), 3, 1, 1, name="conv3")
    x = g.conv(x, g.ch(384), g.ch(384), 3, 1, 1, name="conv4")
    x = g.conv(x, g.ch(384), g.ch(256), 3, 1, 1, name="conv5")
    x = g.maxpool(x, 3, 2)
    return g.head(x, g.ch(256)), 227


def mobilenetv2(g: Graph):
    c = g.ch(32)
    x = g.conv("input", 3, c, 3, 2, 1, name="conv_stem")
    block = 0
    for t, width, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)):
        out = g.ch(width)
        for i in range(n):
            block += 1
            hidden = c * t
            y = g.conv(x, c, hidden, 1, 1, 0, name=f"block{block}_expand") if t != 1 else x
            y = g.conv(y, hidden, hidden, 3, s if i == 0 else 1, 1, group=hidden, name=f"block{block}_dw")
            y = g.conv(y, hidden, out, 1, 1, 0, relu=False, name=f"block{block}_project")
            x = g.node("Add", [x, y]) if (i > 0 and c == out) else y
            c = out
    last = g.ch(1280) if g.width > 1 else 1280          # MobileNetV2 keeps its last 1280 channels below width 1
    x = g.conv(x, c, last, 1, 1, 0, name="conv_head")
    return g.head(x, last), 224


NETWORKS = {"resnet50": resnet50, "vgg16": vgg16, "alexnet": alexnet, "mobilenetv2": mobilenetv2}


def build(name: str, width: float = 0.25, seed: int = 0):
    g = Graph(width, seed)
    out, size = NETWORKS[name](g)
    return g.model(name, out, size)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("network", choices=sorted(NETWORKS))
    ap.add_argument("-o", "--output", help="the .onnx file to write (default: NETWORK.onnx)")
    ap.add_argument("--width", type=float, default=0.25,
                    help="channel multiplier (default 0.25: small files; 1: the published channel counts)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = ap.parse_args(argv)
    if not 0 < args.width <= 4:
        ap.error(f"--width must be in (0, 4], not {args.width:g}")
    import onnx
    model = build(args.network, args.width, args.seed)
    onnx.checker.check_model(model)
    path = args.output or f"{args.network}.onnx"
    onnx.save(model, path)
    n_conv = sum(1 for n in model.graph.node if n.op_type == "Conv")
    print(f"wrote {path}: {args.network}, width {args.width:g}, {n_conv} Conv nodes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
