"""Planning a sweep: parameter specs, their cartesian product, run order, command templates."""
import itertools
import random
import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ..errors import UsageError

ORDERS = ("interleave", "sequential", "shuffle")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INT = re.compile(r"^[+-]?\d+$")


def _range(spec: str, name: str) -> List[str]:
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(_INT.match(p.strip()) for p in parts):
        raise UsageError(f"-p {name}={spec}: a range is a:b or a:b:step with whole numbers")
    a, b = int(parts[0]), int(parts[1])
    step = abs(int(parts[2])) if len(parts) == 3 else 1
    if step == 0:
        raise UsageError(f"-p {name}={spec}: the step of a range cannot be 0")
    values = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
    return [str(v) for v in values]


def parse_param(text: str) -> Tuple[str, List[str]]:
    """'channels=64:128' | 'channels=128:64:4' | 'method=gemm,direct' | 'x=5' -> (name, values)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not _NAME.match(name):
        raise UsageError(f"-p expects NAME=VALUES (e.g. channels=64:128 or method=gemm,direct), got '{text}'")
    spec = spec.strip()
    if not spec:
        raise UsageError(f"-p {name}= has no values")
    if ":" in spec:
        values = _range(spec, name)
    else:
        values = [v.strip() for v in spec.split(",")]
        if any(not v for v in values):
            raise UsageError(f"-p {name}={spec}: empty value in the list")
    if len(set(values)) != len(values):
        raise UsageError(f"-p {name}={spec}: a value appears twice")
    return name, values


@dataclass(frozen=True)
class PlannedRun:
    index: int                  # position in the sweep
    config: Tuple[Tuple[str, str], ...]
    repeat: int

    @property
    def params(self) -> Dict[str, str]:
        return dict(self.config)

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.config)


def plan(params: Sequence[Tuple[str, List[str]]], repeat: int, order: str = "interleave",
         seed: int = 0) -> List[PlannedRun]:
    """Every configuration `repeat` times. interleave = each repetition is one pass over all
    configurations (spreads machine drift across the sweep); sequential = all repeats of one
    configuration back to back; shuffle = interleave with each pass in a seeded random order."""
    names = [n for n, _ in params]
    if len(set(names)) != len(names):
        raise UsageError("a parameter is given twice with -p")
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, not {repeat}")
    if order not in ORDERS:
        raise UsageError(f"unknown --order '{order}' (choose from {', '.join(ORDERS)})")
    configs = [tuple(zip(names, combo)) for combo in itertools.product(*[v for _, v in params])]
    rng = random.Random(seed)
    runs = []
    if order == "sequential":
        pairs = [(c, r) for c in configs for r in range(repeat)]
    else:
        pairs = []
        for r in range(repeat):
            this_pass = list(configs)
            if order == "shuffle":
                rng.shuffle(this_pass)
            pairs += [(c, r) for c in this_pass]
    for i, (c, r) in enumerate(pairs):
        runs.append(PlannedRun(i, c, r))
    return runs


def check_template(argv: Sequence[str], names: Sequence[str]) -> List[str]:
    """Unknown placeholders are errors; returns the parameters the command never mentions."""
    used = set()
    for arg in argv:
        for ph in _PLACEHOLDER.findall(arg):
            if ph not in names:
                raise UsageError(f"the command uses {{{ph}}}, which is not a parameter "
                                 f"(parameters: {', '.join(names)})")
            used.add(ph)
    return [n for n in names if n not in used]


def render_command(argv: Sequence[str], params: Dict[str, str]) -> List[str]:
    out = []
    for arg in argv:
        out.append(_PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), arg))
    return out
