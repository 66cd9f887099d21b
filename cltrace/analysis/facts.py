"""The vocabulary of dispatch facts: kernel families (per-shape specialisations of one kernel are one family)
and ``Change``, one difference between two dispatch signatures (attribution.pair_changes, jobs.job_changes)."""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Change:
    """One difference between two dispatch signatures (a fact, see pair_changes)."""
    kind: str
    text: str
    kernel: str | None = None           # the kernel's name (on the after side when it runs there)
    family: str | None = None           # kernel_family(kernel)
    before: str | None = None           # launches, local or global size, or work-group count: see kind
    after: str | None = None
    work_groups_before: int | None = None
    work_groups_after: int | None = None
    rounds_before: int | None = None    # ceil(work_groups / compute_units), when both are known
    rounds_after: int | None = None
    renamed_from: str | None = None     # the before side's name when it differs within the family

    def to_dict(self) -> dict:
        return asdict(self)


# -- kernel families ---------------------------------------------------------------------------------------
# A name is split at "_" into tokens.  Shape tokens become "#" (a run of them one "#"):
#   - a plain number: "_61_", tinygrad's "r_16_4_8", ocl4dnn's block sizes "_2_4_4_1", TVM's dedup "_1";
#   - a number with tinygrad's dedup suffix: "4n1";
#   - three or more numbers joined by "x": "64x56x56" (a tensor shape; two, "3x3" or "4x4", name a
#     filter or tile variant and stay);
#   - short tags (1-3 letters) each followed by numbers: "M61", "K576", "N3136", "cn64", "in64x64",
#     "k3x3", "M64N32K8" -> "M#", "K#", ...; except a single precision / version / vector-width tag
#     ("f32", "fp16", "FP32", "bf16", "i8", "u8", "int8", "v4", "vec4", "x4"), which names a variant.
# Tags of 4+ letters ("SIMD16", "activ0", "kernel0" -- TVM's kernel index within one function) and numbers
# inside words ("im2col", "conv2d", "convolution3x3") are no shape tokens.
_NUMBER = re.compile(r"\d+(?:n\d+)?|\d+x\d+(?:x\d+)+")
_TAGGED = re.compile(r"(?:[A-Za-z]{1,3}\d+(?:x\d+)*)+")
_VARIANT_TAG = re.compile(r"(?i)(?:f|fp|bf|tf|i|u|int|uint|q|v|vec|x)\d+")


@functools.lru_cache(maxsize=65536)
def kernel_family(name: str) -> str:
    """The name with its shape tokens replaced by "#": per-shape specialisations of one kernel are one
    family (ocl4dnn "conv_M61_..." and "conv_M62_..."), genuinely different kernels stay apart ("gemm_v4",
    "gemm_tail"; "Xgemm", "XgemmDirectTN"; "direct_convolution1x1", "direct_convolution3x3_f32_bifrost")."""
    if not isinstance(name, str) or not any(ch.isdigit() for ch in name):
        return name
    out: list[str] = []
    for tok in name.split("_"):
        if _NUMBER.fullmatch(tok):
            tok = "#"
        elif _TAGGED.fullmatch(tok) and not _VARIANT_TAG.fullmatch(tok):
            tok = re.sub(r"\d+(?:x\d+)*", "#", tok)
        if tok == "#" and out and out[-1] == "#":
            continue
        out.append(tok)
    return "_".join(out)
