"""What layers below cltrace did to the runs (the `layer` notes of capture/layer_notes.py): the split layer's
device jobs per launch, next to the launches the trace shows as the program asked for them."""
import json
import sqlite3
from typing import Dict, List, Optional

from ..ranges import ranges_text
from .document import Section


def _values(vals: List[str]) -> str:
    """Tag values, integer runs as ranges: 72..76, 81."""
    try:
        return ranges_text(int(v) for v in vals)
    except ValueError:
        return ", ".join(sorted(set(vals)))


def _where(run_ids: List[int], tags: Dict[int, Dict[str, str]]) -> str:
    """The runs, named by the tags that tell runs apart: those these runs share as KEY=VALUE, then the one that
    varies among them as values (device=Mali-G72, method=gemm, channels=88..92, 97..100); by run id where more than
    one varies or a run lacks one."""
    keys = sorted({k for r in tags for k in tags[r]})
    varying = [k for k in keys if len({tags[r].get(k) for r in tags}) > 1]
    chosen = [tags.get(r, {}) for r in run_ids]
    if varying and all(k in t for t in chosen for k in varying):
        fixed = [k for k in varying if len({t[k] for t in chosen}) == 1]
        moving = [k for k in varying if k not in fixed]
        if len(moving) <= 1:
            return ", ".join([f"{k}={chosen[0][k]}" for k in fixed] +
                             [f"{k}={_values([t[k] for t in chosen])}" for k in moving])
    return f"run{'s' if len(run_ids) > 1 else ''} {ranges_text(run_ids)}"


def _per_launch(jobs: int, launches: int) -> str:
    x = jobs / launches
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


def layer_summary(db, run: Optional[int] = None) -> Optional[dict]:
    """{"layers": [{"layer", "runs", "launches", "split_launches", "jobs", "kernels": [{"name", "launches",
    "split_launches", "jobs", "jobs_per_launch": {text: [run ids]}}]}], "lines"}; None without layer notes."""
    where, params = ("AND run_id = ?", (run,)) if run is not None else ("", ())
    try:
        rows = db.execute(f"SELECT run_id, message FROM notes WHERE kind = 'layer' {where} ORDER BY run_id, rowid",
                          params).fetchall()
        tag_rows = db.execute("SELECT run_id, key, value FROM run_tags").fetchall()
    except sqlite3.Error:
        return None
    if not rows:
        return None
    tags: Dict[int, Dict[str, str]] = {}
    for r, k, v in tag_rows:
        tags.setdefault(int(r), {})[k] = str(v)
    layers: Dict[str, dict] = {}
    for run_id, message in rows:
        try:
            obj = json.loads(message)
        except (TypeError, ValueError):
            continue
        if not isinstance(obj, dict):
            continue
        name = str(obj.get("layer", "?"))
        lay = layers.setdefault(name, {"layer": name, "runs": set(), "launches": 0, "split_launches": 0, "jobs": 0,
                                       "kernels": {}})
        lay["runs"].add(int(run_id))
        for key in ("launches", "split_launches", "jobs"):
            lay[key] += int(obj.get(key) or 0)
        for k in obj.get("kernels") or []:
            if not isinstance(k, dict):
                continue
            per_run = lay["kernels"].setdefault(str(k.get("name", "?")), {})
            acc = per_run.setdefault(int(run_id), [0, 0, 0])
            acc[0] += int(k.get("launches") or 0)
            acc[1] += int(k.get("split_launches") or 0)
            acc[2] += int(k.get("jobs") or 0)
    out, lines = [], []
    for lay in layers.values():
        runs = sorted(lay["runs"])
        lines.append(f"layer {lay['layer']} below cltrace ({_where(runs, {r: tags.get(r, {}) for r in runs})}): "
                     f"{lay['launches']} launches ran as {lay['jobs']} device jobs; {lay['split_launches']} of them "
                     f"had non-uniform work-groups and ran as their uniform regions, one job each (the trace shows "
                     f"each launch once, as the program asked for it)")
        kernels = []
        for kname, per_run in sorted(lay["kernels"].items()):
            total = [sum(v[i] for v in per_run.values()) for i in range(3)]
            by_ratio: Dict[str, List[int]] = {}
            for r, (n, _, j) in sorted(per_run.items()):
                if n:
                    by_ratio.setdefault(_per_launch(j, n), []).append(r)
            kernels.append({"name": kname, "launches": total[0], "split_launches": total[1], "jobs": total[2],
                            "jobs_per_launch": by_ratio})
            if total[1]:
                parts = [f"{ratio} at {_where(rs, {r: tags.get(r, {}) for r in lay['runs']})}"
                         for ratio, rs in sorted(by_ratio.items(), key=lambda kv: float(kv[0]))]
                lines.append(f"  {kname}: device jobs per launch: " + "; ".join(parts))
        out.append({"layer": lay["layer"], "runs": runs, "launches": lay["launches"],
                    "split_launches": lay["split_launches"], "jobs": lay["jobs"], "kernels": kernels})
    return {"layers": out, "lines": lines}


def layer_section(db, run: Optional[int] = None) -> Optional[Section]:
    summary = layer_summary(db, run)
    if summary is None:
        return None
    return Section("Layers below cltrace", "lines", lines=summary["lines"], key="layers", data=summary)
