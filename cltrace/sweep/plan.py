"""Planning a sweep: parameter specs, their cartesian product, run order, command templates."""
import itertools
import math
import random
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import UsageError

ORDERS = ("interleave", "sequential", "shuffle")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INT = re.compile(r"^[+-]?\d+$")
# A sweep runs one process per planned run: far beyond these, a range is a typo (1:100000000), and building
# the plan alone would take gigabytes before anything is printed.
MAX_VALUES = 100_000
MAX_RUNS = 1_000_000


def _range(spec: str, name: str) -> List[str]:
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(_INT.match(p.strip()) for p in parts):
        raise UsageError(f"-p {name}={spec}: a range is a:b or a:b:step with whole numbers")
    a, b = int(parts[0]), int(parts[1])
    signed = int(parts[2]) if len(parts) == 3 else 1
    step = abs(signed)
    if step == 0:
        raise UsageError(f"-p {name}={spec}: the step of a range cannot be 0")
    if signed < 0 and a < b:
        # a step is a size (the direction comes from a and b), but a minus sign says the user meant to count down
        raise UsageError(f"-p {name}={spec}: the step {signed} counts down but {a}:{b} counts up; write "
                         f"{name}={a}:{b}:{step} to count up or {name}={b}:{a}:{step} to count down")
    values = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
    if len(values) > MAX_VALUES:
        raise UsageError(f"-p {name}={spec}: {len(values):,} values, more than a sweep can run "
                         f"(at most {MAX_VALUES:,} per parameter); narrow the range or give a step (a:b:step)")
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


def configurations(params: Sequence[Tuple[str, List[str]]]) -> List[Tuple[Tuple[str, str], ...]]:
    """Every configuration (the cartesian product), in plan order."""
    names = [n for n, _ in params]
    return [tuple(zip(names, combo)) for combo in itertools.product(*[v for _, v in params])]


def params_of(configs: Sequence[Tuple[Tuple[str, str], ...]]) -> List[Tuple[str, List[str]]]:
    """The parameters of an explicit configuration list: each name with its distinct values in first-seen
    order (what the stored plan and the dry run show; not a product: the list is the plan)."""
    names: Dict[str, List[str]] = {}
    for c in configs:
        for k, v in c:
            vals = names.setdefault(k, [])
            if v not in vals:
                vals.append(v)
    return [(k, v) for k, v in names.items()]


def new_seed(order: str) -> int:
    """The seed of a new sweep given no --seed: a fresh one for a shuffled order (printed, so the order can be run
    again), 0 for the orders that need none."""
    return random.SystemRandom().randrange(1, 2**31) if order == "shuffle" else 0


def resume_or_plan(previous, order: str, seed: Optional[int], make_runs) -> Tuple[str, int, List["PlannedRun"]]:
    """(order, seed, runs): a resumed sweep's stored ones (`previous`, a stored sweep), else a new plan made by
    make_runs(order, seed), with a new seed when none was given."""
    if previous is not None:
        return previous.order, previous.seed, previous.runs
    seed = new_seed(order) if seed is None else seed
    return order, seed, make_runs(order, seed)


def plan(params: Sequence[Tuple[str, List[str]]], repeat: int, order: str = "interleave",
         seed: int = 0) -> List[PlannedRun]:
    """Every configuration of the cartesian product `repeat` times (plan_configs has the orders)."""
    names = [n for n, _ in params]
    if len(set(names)) != len(names):
        raise UsageError("a parameter is given twice with -p")
    total = math.prod(len(v) for _, v in params) * max(repeat, 1)
    if total > MAX_RUNS:
        sizes = ", ".join(f"{n}: {len(v):,} values" for n, v in params)
        raise UsageError(f"the sweep would plan {total:,} runs ({sizes}, {repeat} repeats), more than "
                         f"{MAX_RUNS:,}: narrow the ranges or give a step (a:b:step)")
    return plan_configs(configurations(params), repeat, order, seed)


def plan_configs(configs: Sequence[Tuple[Tuple[str, str], ...]], repeat: int, order: str = "interleave",
                 seed: int = 0) -> List[PlannedRun]:
    """Every configuration of an explicit list (the product of -p parameters, or a network's (layer, channels)
    points) `repeat` times. interleave = each repetition is one pass over all configurations (spreads machine
    drift across the sweep); sequential = all repeats of one configuration back to back; shuffle = interleave
    with each pass in a seeded random order."""
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, not {repeat}")
    if order not in ORDERS:
        raise UsageError(f"unknown --order '{order}' (choose from {', '.join(ORDERS)})")
    if len(configs) * repeat > MAX_RUNS:
        raise UsageError(f"the sweep would plan {len(configs) * repeat:,} runs ({len(configs):,} configurations, "
                         f"{repeat} repeats), more than {MAX_RUNS:,}")
    if len(set(configs)) != len(configs):
        raise UsageError("a configuration appears twice in the plan")
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


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def numeric_params(params: Sequence[Tuple[str, List[str]]]) -> List[str]:
    """Parameters whose values are all numbers, at least two of them (neighbours to compare)."""
    return [n for n, values in params if len(values) >= 2 and all(is_number(v) for v in values)]


def _same_value(text: str, value) -> bool:
    """A planned value (text) and a value from the analysis (int 92, float 1.5, str 'gemm'): by their string
    form first, then as numbers (92.0 is 92, '1.50' is 1.5)."""
    if text == str(value):
        return True
    if isinstance(value, bool):
        return False
    try:
        return is_number(text) and float(text) == float(value)
    except (TypeError, ValueError):
        return False


def match_configs(wanted: Sequence[Mapping[str, object]],
                  configs: Sequence[Tuple[Tuple[str, str], ...]]) -> Tuple[list, int]:
    """Planned configurations named by the analysis' dicts (parameter -> value), in the dicts' order, each once.
    Keys that are not swept parameters are ignored; a swept parameter missing from a dict matches any value.
    Returns (configurations, number of dicts that match none)."""
    names = {k for c in configs for k, _ in c}
    found, unknown = [], 0
    for want in wanted:
        keys = {k: v for k, v in want.items() if k in names}
        hits = [c for c in configs if keys and all(_same_value(dict(c)[k], v) for k, v in keys.items())]
        if not hits:
            unknown += 1
        for c in hits:
            if c not in found:
                found.append(c)
    return found, unknown


def render_command(argv: Sequence[str], params: Dict[str, str]) -> List[str]:
    out = []
    for arg in argv:
        out.append(_PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), arg))
    return out
