"""What the report and the sweep call a stored sweep: its parameters' values and its repeats ('tiled 5..20 x6').

Light to import (no pandas): the sweep engine names sweeps with it in its --resume messages, and every cltrace
command loads the engine when it builds its parser."""
from typing import List, Sequence, Tuple

from .values import typed_values


def _shape(values: List[str]) -> str:
    """5..20 | 64..128 step 4 | gemm,direct."""
    typed = typed_values(values)             # numbers only when every value is one
    if len(values) >= 3 and all(isinstance(v, (int, float)) and float(v).is_integer() for v in typed):
        ints = [int(v) for v in typed]
        steps = {b - a for a, b in zip(ints, ints[1:])}
        if len(steps) == 1:
            step = steps.pop()
            if step in (1, -1):
                return f"{values[0]}..{values[-1]}"
            return f"{values[0]}..{values[-1]} step {abs(step)}"
    if len(values) > 4:
        return ",".join(values[:3]) + f",... ({len(values)} values)"
    return ",".join(values)


def sweep_label(params: Sequence[Tuple[str, List[str]]], repeat: int) -> str:
    """What the report calls a sweep: the values of its parameters and its repeats, e.g. 'tiled 5..20 x6'
    (-p method=tiled -p channels=5:20 --repeat 6)."""
    fixed = [v[0] for _, v in params if len(v) == 1]           # what the sweep is of (method=tiled) first
    return " ".join(fixed + [_shape(list(v)) for _, v in params if len(v) != 1] + [f"x{repeat}"])
