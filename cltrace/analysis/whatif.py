"""What-if local sizes: every dispatch fact recomputed as if a library had asked for another local size.

``--what-if-local 'GLOB=4[x1[x1]]'`` (repeatable): kernels whose name matches GLOB (fnmatch, case-sensitive)
get that local size in every signature entry; dimensions left out are 1, and the size is cut to the launch's
work_dim. Work-group counts follow (product of ceil(global / local)); jobs and rounds follow from them
(jobs.py). Latencies are not touched: they were measured with the local size the library really asked for, so
every output built from a what-if signature must say so (``WhatIf.label``).
"""
from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass

from .jobs import size_text, sizes

_SPEC = re.compile(r"^(?P<glob>[^=]+)=(?P<local>[1-9]\d*(?:x[1-9]\d*){0,2})$")


@dataclass(frozen=True)
class WhatIf:
    rules: tuple                       # ((glob, (l0, l1, l2)), ...) in the order given; the first match wins

    @property
    def label(self) -> str:
        return "what-if local " + ", ".join(f"{g}={size_text(loc)}" for g, loc in self.rules)

    def local_for(self, kernel: str):
        for glob, local in self.rules:
            if fnmatch.fnmatchcase(str(kernel), glob):
                return local
        return None

    def apply(self, signature):
        """The signature with the matching entries' local sizes and work-group counts replaced (a
        RepeatedSignature stays one: its period is rewritten)."""
        if getattr(signature, "period", None) is not None:
            return type(signature)(self.apply(signature.period), signature.times)
        out = []
        for entry in signature or ():
            k, g, _loc, _wg, *rest = entry
            local = self.local_for(k)
            gs = sizes(g)
            if local is None or gs is None:
                out.append(tuple(entry))
                continue
            new = local[:len(gs)] + (1,) * max(0, len(gs) - len(local))
            out.append((k, g, size_text(new), math.prod(-(-a // b) for a, b in zip(gs, new)), *rest))
        return tuple(out)

    def matched(self, kernels) -> dict:
        """glob -> the kernel names it matches (a glob matching nothing is worth a warning)."""
        return {g: sorted({k for k in kernels if fnmatch.fnmatchcase(str(k), g)}) for g, _ in self.rules}


def parse_what_if(specs) -> WhatIf | None:
    """WhatIf from 'GLOB=4', 'GLOB=4x1', 'GLOB=8x8x1' texts; None for no specs. ValueError says what is wrong."""
    if not specs:
        return None
    rules = []
    for spec in specs:
        m = _SPEC.match(str(spec).strip())
        if not m:
            raise ValueError(f"--what-if-local takes KERNEL_GLOB=L[xL[xL]] with positive whole sizes, e.g. "
                             f"'gemm_mm*=4' or 'conv=8x8x1', not {spec!r}")
        local = tuple(int(v) for v in m.group("local").split("x"))
        rules.append((m.group("glob").strip(), local + (1,) * (3 - len(local))))
    return WhatIf(tuple(rules))
