"""A network's conv layers: read from an ONNX model (shapes from onnx.shape_inference) or from conv_bench's
built-in catalogue (`conv_bench --list-layers`: resnet50, vgg16, alexnet), in execution order.

Every layer is kept, with a reason when conv_bench cannot run it (depthwise and grouped convolutions,
dilation, rectangular kernels, strides or pads): those are listed as skipped, never dropped silently."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import List, Optional

from ..errors import CltraceError

CATALOGUE = ("resnet50", "vgg16", "alexnet")


@dataclass(frozen=True)
class ConvLayer:
    name: str
    h: int = 0
    w: int = 0
    c: int = 0                  # input channels
    k: int = 0                  # square kernel
    s: int = 1
    p: int = 0
    out: int = 0                # unpruned output channels
    groups: int = 1
    desc: str = ""
    skip: Optional[str] = None  # why conv_bench cannot run it (None: it can)

    @property
    def shape(self) -> tuple:
        """What makes two layers the same measurement (conv_bench --input HxWxC --kernel K --stride S --pad P,
        --out-channels OUT)."""
        return (self.h, self.w, self.c, self.k, self.s, self.p, self.out)

    def shape_text(self) -> str:
        return f"{self.h}x{self.w}x{self.c} k{self.k} s{self.s} p{self.p} -> {self.out}"


@dataclass
class Network:
    name: str                   # the catalogue name or the model's file name
    source: str                 # "catalogue" | "onnx"
    layers: List[ConvLayer]

    @property
    def runnable(self) -> List[ConvLayer]:
        return [layer for layer in self.layers if layer.skip is None]

    @property
    def skipped(self) -> List[ConvLayer]:
        return [layer for layer in self.layers if layer.skip is not None]


def load(spec: str, conv_bench: str, input_shape: Optional[List[int]] = None, runner: str = "conv_bench") -> Network:
    """A catalogue name (resnet50, vgg16, alexnet) or the path of an .onnx file (``input_shape``: the dims of its
    first input, for a model exported with dynamic sizes; ``runner``: the program that runs the layers, named in
    the skip reasons)."""
    if spec in CATALOGUE and not os.path.exists(spec):
        if input_shape is not None:
            from ..errors import UsageError
            raise UsageError(f"--input-shape sets the input of an ONNX model; {spec} is a built-in network")
        return from_catalogue(spec, conv_bench)
    if not os.path.exists(spec):
        raise CltraceError(f"{spec}: no such file, and not a built-in network ({', '.join(CATALOGUE)})")
    if os.path.isdir(spec):
        raise CltraceError(f"{spec} is a directory, not an ONNX model")
    return from_onnx(spec, input_shape, runner)


def parse_shape(text: str) -> List[int]:
    """'1x3x224x224' -> [1, 3, 224, 224] (UsageError otherwise)."""
    from ..errors import UsageError
    parts = text.lower().split("x")
    if len(parts) < 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"--input-shape {text}: give the input's dims as NxCxHxW, e.g. 1x3x224x224")
    return [int(p) for p in parts]


# -- the catalogue ---------------------------------------------------------------------------------------------
def from_catalogue(name: str, conv_bench: str) -> Network:
    try:
        p = subprocess.run([conv_bench, "--list-layers"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise CltraceError(f"cannot run {conv_bench} --list-layers: {e.strerror or e} (build it: make -C examples)") \
            from None
    if p.returncode != 0:
        raise CltraceError(f"{conv_bench} --list-layers failed (exit {p.returncode})")
    layers = parse_catalogue(p.stdout, name)
    if not layers:
        raise CltraceError(f"{conv_bench} --list-layers lists no layer of {name}")
    return Network(name, "catalogue", layers)


def parse_catalogue(text: str, network: str) -> List[ConvLayer]:
    """The rows of `conv_bench --list-layers` (layer, HxWxC, kernel, stride, pad, out, description) whose name
    starts with NETWORK."""
    out = []
    for line in text.splitlines():
        parts = line.split(None, 6)
        if len(parts) < 6 or line.startswith("#") or not parts[0].startswith(network + "."):
            continue
        try:
            h, w, c = (int(x) for x in parts[1].split("x"))
            k, s, pad, n = (int(x) for x in parts[2:6])
        except ValueError:
            continue
        out.append(ConvLayer(parts[0], h, w, c, k, s, pad, n, 1, parts[6] if len(parts) > 6 else ""))
    return out


# -- ONNX ------------------------------------------------------------------------------------------------------
def _onnx():
    try:
        import onnx
        return onnx
    except ImportError:
        raise CltraceError("reading an ONNX model needs the onnx package: pip install onnx") from None


def from_onnx(path: str, input_shape: Optional[List[int]] = None, runner: str = "conv_bench") -> Network:
    onnx = _onnx()
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001  (onnx raises many types for a file it cannot parse)
        raise CltraceError(f"{path} is not an ONNX model (the onnx package cannot parse it)") from None
    if not model.ir_version or not model.HasField("graph"):
        raise CltraceError(f"{path} is not an ONNX model (the onnx package cannot parse it)")
    if input_shape is not None:
        _set_input_shape(model.graph, input_shape, path)
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception as e:  # noqa: BLE001  (and its shape inference as many for a graph it cannot type)
        raise CltraceError(f"{path}: ONNX shape inference failed ({str(e).splitlines()[0][:200]})") from None
    layers = conv_layers(inferred.graph, runner)
    if not layers:
        raise CltraceError(f"{path} has no Conv layer to sweep")
    return Network(os.path.basename(path), "onnx", layers)


def _set_input_shape(graph, dims: List[int], path: str) -> None:
    """Fix the dims of the graph's first real input (not an initializer) before shape inference."""
    inits = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if not inputs:
        raise CltraceError(f"{path}: --input-shape: the model has no input")
    shape = inputs[0].type.tensor_type.shape
    if len(shape.dim) not in (0, len(dims)):
        raise CltraceError(f"{path}: --input-shape has {len(dims)} dims, input {inputs[0].name} has "
                           f"{len(shape.dim)}")
    del shape.dim[:]
    for d in dims:
        shape.dim.add().dim_value = d
    # shape inference recomputes the other tensors' shapes: stale ones from the export would clash
    del graph.value_info[:]


def _shapes(graph) -> dict:
    """tensor name -> list of dims (int, or None where unknown)."""
    shapes = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def conv_layers(graph, runner: str = "conv_bench") -> List[ConvLayer]:
    """Every Conv node of the graph in execution order, as a ConvLayer (with a skip reason where conv_bench
    cannot run it)."""
    shapes = _shapes(graph)
    out, seen = [], set()
    for i, node in enumerate(n for n in graph.node if n.op_type == "Conv"):
        name = node.name or (node.output[0] if node.output else f"conv{i + 1}")
        while name in seen:
            name += "_"
        seen.add(name)
        out.append(_conv(node, name, shapes, runner))
    return out


def _conv(node, name: str, shapes: dict, runner: str = "conv_bench") -> ConvLayer:
    x = shapes.get(node.input[0]) if node.input else None
    wt = shapes.get(node.input[1]) if len(node.input) > 1 else None
    a = _attrs(node)
    if not x or len(x) != 4 or not wt or len(wt) != 4 or None in x[1:] or None in wt:
        dims = "2-D" if (x and len(x) != 4) else "known"
        why = ("not a 2-D convolution" if dims == "2-D" or (wt and len(wt) != 4)
               else "its input or weight shape is unknown after shape inference")
        return ConvLayer(name, skip=why)
    _, c, h, w = x
    m, c_per_group, kh, kw = wt
    groups = int(a.get("group", 1))
    strides = list(a.get("strides", [1, 1]))
    dil = list(a.get("dilations", [1, 1]))
    pads = list(a.get("pads", [0, 0, 0, 0]))
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    skip = None
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if kh == kw and kh % 2 == 1 and strides == [1, 1]:
            pads = [(kh - 1) // 2] * 4
        else:
            skip = f"auto_pad {auto} with kernel {kh}x{kw} and strides {strides}: padding {runner} cannot express"
    elif auto == "VALID":
        pads = [0, 0, 0, 0]
    layer = dict(name=name, h=int(h), w=int(w), c=int(c), k=int(kh), s=int(strides[0]), p=int(pads[0]),
                 out=int(m), groups=groups)
    if groups > 1:
        kind = "depthwise" if groups == c and c_per_group == 1 else f"grouped ({groups} groups)"
        skip = f"{kind} convolution: {runner} runs dense convolutions only"
    elif any(d != 1 for d in dil):
        skip = f"dilation {'x'.join(map(str, dil))}: {runner} runs undilated convolutions only"
    elif kh != kw:
        skip = f"kernel {kh}x{kw}: {runner} runs square kernels only"
    elif len(set(strides)) != 1:
        skip = f"strides {'x'.join(map(str, strides))}: {runner} runs equal strides only"
    elif len(set(pads)) != 1:
        skip = f"pads {','.join(map(str, pads))}: {runner} runs equal padding on every side only"
    return ConvLayer(**layer, desc=f"ONNX Conv {name}", skip=skip)
