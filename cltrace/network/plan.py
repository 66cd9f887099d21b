"""A network's sweep plan: the unique conv shapes (layers that share a shape are measured once), the pruning
distances of each, and the explicit configuration list the sweep engine runs (cltrace/sweep/plan.plan_configs).

Every configuration is tagged layer, channels, distance (the analysis groups by layer along channels) plus the
shape conv_bench needs (input, kernel, stride, pad) and `shared` (the other layers of the same shape), so that
a trace explains itself without the model."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from ..errors import UsageError
from .model import ConvLayer, Network

FINE = 16                 # distances 0..FINE one by one
COARSE_POINTS = 16        # then about this many coarser ones up to half the channels
METHODS = ("gemm", "direct", "tiled", "clblast")
# conv_bench's methods on OpenCL; OpenCV DNN (examples/opencv_conv.py); ACL under qemu (examples/bin/aarch64)
RUNTIMES = ("conv_bench", "opencv", "acl")
NAMES = ("layer", "channels", "distance", "input", "kernel", "stride", "pad", "shared")
_INT = re.compile(r"^\d+$")


@dataclass
class UniqueLayer:
    layer: ConvLayer                       # the first layer of its shape, in execution order (its name is the tag)
    shared: List[str] = field(default_factory=list)     # the later layers of the same shape
    distances: List[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.layer.name


def default_distances(out: int) -> List[int]:
    """0..16 one by one, then a coarser step (a multiple of 4, about 16 points) up to half the channels."""
    fine = list(range(0, min(FINE, out - 1) + 1))
    half = out // 2
    if half <= FINE:
        return fine
    step = max(4, (half - FINE) // COARSE_POINTS // 4 * 4 or 4)
    start = (FINE // step + 1) * step
    return fine + list(range(start, half + 1, step))


def parse_distances(spec: str) -> List[int]:
    """'0:16' | '0,1,2,4,8' | '0:16,32:64:8' -> sorted distinct whole numbers >= 0."""
    values = set()
    for item in spec.split(","):
        item = item.strip()
        parts = item.split(":")
        if not item or not all(_INT.match(p.strip()) for p in parts) or len(parts) > 3:
            raise UsageError(f"--distances {spec}: each item is a whole number >= 0, a:b or a:b:step "
                             f"(e.g. 0:16 or 0,1,2,4,8), not '{item}'")
        if len(parts) == 1:
            values.add(int(parts[0]))
            continue
        a, b = int(parts[0]), int(parts[1])
        step = int(parts[2]) if len(parts) == 3 else 1
        if step == 0 or a > b:
            raise UsageError(f"--distances {spec}: '{item}' counts from a up to b >= a with a step above 0")
        values.update(range(a, b + 1, step))
    return sorted(values)


def unique_layers(network: Network) -> List[UniqueLayer]:
    """The runnable layers with identical shapes folded into the first of them, in execution order."""
    by_shape: dict = {}
    for layer in network.runnable:
        u = by_shape.get(layer.shape)
        if u is None:
            by_shape[layer.shape] = UniqueLayer(layer)
        else:
            u.shared.append(layer.name)
    return list(by_shape.values())


def select_layers(layers: Sequence[UniqueLayer], spec: str, network: Network) -> List[UniqueLayer]:
    """--layers: the unique layers named (by themselves or by a layer sharing their shape), in plan order."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise UsageError("--layers: give layer names, comma-separated")
    owner = {name: u for u in layers for name in [u.name] + u.shared}
    skipped = {layer.name: layer.skip for layer in network.skipped}
    chosen = set()
    for n in names:
        if n in skipped:
            raise UsageError(f"--layers: {n} is skipped ({skipped[n]})")
        if n not in owner:
            raise UsageError(f"--layers: {network.name} has no conv layer {n} (its layers: "
                             f"{', '.join(layer.name for layer in network.layers[:8])}"
                             f"{', ...' if len(network.layers) > 8 else ''})")
        chosen.add(owner[n].name)
    return [u for u in layers if u.name in chosen]


def assign_distances(layers: Sequence[UniqueLayer], distances: Optional[List[int]]) -> None:
    """Each layer's distances: the default for its channel count, or --distances (0 is always swept: the
    unpruned reference). A distance that would leave no channel is a usage error naming the layer."""
    for u in layers:
        if distances is None:
            u.distances = default_distances(u.layer.out)
            continue
        too_far = [d for d in distances if d >= u.layer.out]
        if too_far:
            raise UsageError(f"--distances: {too_far[0]} is beyond layer {u.name}, which has {u.layer.out} "
                             f"output channels (a distance must leave at least one channel)")
        u.distances = sorted(set(distances) | {0})


def configurations(layers: Sequence[UniqueLayer]) -> List[Tuple[Tuple[str, str], ...]]:
    """The explicit plan: one configuration per (layer, distance), each a tuple of (name, value) in NAMES order."""
    out = []
    for u in layers:
        L = u.layer
        for d in u.distances:
            values = (u.name, str(L.out - d), str(d), f"{L.h}x{L.w}x{L.c}", str(L.k), str(L.s), str(L.p),
                      ",".join(u.shared) or "-")
            out.append(tuple(zip(NAMES, values)))
    return out


def command(conv_bench: str, method: str, scale: float, iters: int, warmup: int) -> List[str]:
    """The conv_bench command template of every run ({name} placeholders from the configuration)."""
    return [conv_bench, "--input", "{input}", "--kernel", "{kernel}", "--stride", "{stride}", "--pad", "{pad}",
            "--out-channels", "{channels}", "--method", method, "--scale", f"{scale:g}", "--iters", str(iters),
            "--warmup", str(warmup)]


def opencv_command(python: str, runner: str, scale: float, iters: int, warmup: int) -> List[str]:
    """The command template of the OpenCV DNN runtime: examples/opencv_conv.py (a one-Conv ONNX model per
    configuration, cv2.dnn on DNN_TARGET_OPENCL), each measured forward a region named after the layer."""
    return [python, runner, "--input", "{input}", "--kernel", "{kernel}", "--stride", "{stride}", "--pad", "{pad}",
            "--out-channels", "{channels}", "--scale", f"{scale:g}", "--iters", str(iters), "--warmup",
            str(warmup), "--name", "{layer}"]


def acl_command(acl_bench: str, method: str, device: str, scale: float, iters: int, warmup: int) -> List[str]:
    """The command template of the ACL runtime: conv_bench's command line in acl_conv_bench, with the Mali device
    ACL is told it runs on (--device-name, through the acl_compat layer)."""
    return command(acl_bench, method, scale, iters, warmup) + ["--device-name", device]


def runtime_of(template: Sequence[str]) -> str:
    """The runtime of a command template (a stored sweep's, for --resume): ACL's names a --device-name, conv_bench's
    a --method, the OpenCV runner's neither."""
    return "acl" if "--device-name" in template else "conv_bench" if "--method" in template else "opencv"


def check_scale(layers: Sequence[UniqueLayer], scale: float) -> None:
    """conv_bench refuses a kernel larger than the padded, scaled input: say so before anything runs."""
    if not 0 < scale <= 4:
        raise UsageError(f"--scale must be in (0, 4], not {scale:g}")
    for u in layers:
        L = u.layer
        h, w = (max(1, math.floor(x * scale + 0.5)) for x in (L.h, L.w))     # conv_bench's lround
        if min(h, w) + 2 * L.p < L.k:
            raise UsageError(f"--scale {scale:g}: layer {u.name} ({L.h}x{L.w}, kernel {L.k}, pad {L.p}) would be "
                             f"{h}x{w}, smaller than its kernel; raise --scale")
