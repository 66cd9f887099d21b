"""Tag values read back as the values they were: numbers where every value of a key is a number.

The store keeps tags as text (`run_tags.value`, the JSON of `regions.tags`). A sweep's `-p channels=64:128`
means numbers, so a reader gets them back as numbers, by the rule `Trace.params` and the analysis use for
parameters: a key whose values are all whole numbers gives ints, all finite numbers floats, anything else
leaves every value of that key as text (so one key never mixes types across runs).
"""
import math
import re
from typing import Dict, Iterable, List, Optional

_WHOLE = re.compile(r"[+-]?\d+")


def _number(text) -> Optional[float]:
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text) if math.isfinite(text) else None
    try:
        v = float(str(text).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def typed_values(values: Iterable) -> List:
    """The values of one key, as ints, floats or (when any is not a number) the original text."""
    values = list(values)
    present = [v for v in values if v is not None]
    if not present or any(_number(v) is None for v in present):
        return values
    if all(isinstance(v, int) or _WHOLE.fullmatch(str(v).strip()) for v in present):
        return [None if v is None else int(str(v).strip()) for v in values]
    return [None if v is None else _number(v) for v in values]


def parse_value(text):
    """One value on its own: int, float or the text."""
    return typed_values([text])[0]


def typed_tags(tag_dicts: List[Dict[str, object]]) -> List[Dict[str, object]]:
    """Tag dicts (one per run or region) with every key typed across all of them."""
    keys = list(dict.fromkeys(k for d in tag_dicts for k in d))
    typed = {k: typed_values([d.get(k) for d in tag_dicts]) for k in keys}
    return [{k: typed[k][i] for k in d} for i, d in enumerate(tag_dicts)]
