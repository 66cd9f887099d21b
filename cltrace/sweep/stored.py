"""Sweeps as records of the trace (the `sweeps` table, schema 4): each `cltrace sweep` stores its plan when it
starts and its end state when it stops; --resume reads the plan back and runs exactly what it still lacks.

A planned run (position i of the plan) is done when a run of the sweep with `sweep_index` i ended `ok`. Runs
added by --adaptive belong to the sweep too, with positions past the plan: they never complete a planned run."""
import datetime
import itertools
import json
import os
import shlex
import socket
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .._version import __version__
from ..errors import CltraceError, UsageError
from .plan import PlannedRun

RUNNING, COMPLETE, INTERRUPTED, FAILED_RUNS = "running", "complete", "interrupted", "failed-runs"


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class StoredSweep:
    sweep_id: int
    template: List[str]
    params: List[Tuple[str, List[str]]]
    runs: List[PlannedRun]
    repeat: int
    order: str
    seed: int
    tags: Dict[str, str]
    cluster: Optional[dict]
    status: str
    mode: Optional[str] = None
    settings: Optional[Dict[str, str]] = None
    configs: Optional[List[tuple]] = None      # every configuration, in plan order (a product or a list)
    block: int = 1                             # --block K (blocks.py): configurations per process

    @property
    def names(self) -> List[str]:
        return [n for n, _ in self.params]


def plan_json(params: Sequence[Tuple[str, List[str]]], runs: Sequence[PlannedRun],
              configurations: Optional[Sequence[tuple]] = None, block: int = 1) -> str:
    """The plan as stored: the parameters and their values, every configuration (the product of the -p
    parameters, or the explicit list given, e.g. a network's (layer, channels) points), and every planned run
    as [configuration index, repeat index] in run order; with --block K > 1, "block": K (the blocks follow
    from the runs and K: blocks.plan_blocks)."""
    configs: Dict[tuple, int] = {}
    combos = (itertools.product(*[v for _, v in params]) if configurations is None
              else (tuple(v for _, v in c) for c in configurations))
    for combo in combos:
        configs[tuple(combo)] = len(configs)
    pairs = [[configs[tuple(v for _, v in r.config)], r.repeat] for r in runs]
    plan = {"params": [[n, list(v)] for n, v in params], "configurations": [list(c) for c in configs],
            "runs": pairs}
    if block > 1:
        plan["block"] = block
    return json.dumps(plan, separators=(",", ":"))


def create(conn, template, params, runs, repeat, order, seed, tags, mode, settings, stabilise, adaptive=None,
           cluster=None, configs=None, block=1) -> int:
    """A new sweeps row (status running); its id."""
    with conn:
        cur = conn.execute(
            "INSERT INTO sweeps (command, argv, plan, runs_planned, repeat, run_order, seed, tags, mode, settings, "
            "stabilise, adaptive, cluster, cwd, host, started_at, status, cltrace_version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (shlex.join(template), json.dumps(list(template)), plan_json(params, runs, configs, block), len(runs),
             repeat, order, seed, json.dumps(dict(tags), sort_keys=True), mode,
             json.dumps(dict(settings), sort_keys=True),
             int(bool(stabilise)), None if adaptive is None else json.dumps(adaptive, sort_keys=True),
             None if cluster is None else json.dumps(cluster, sort_keys=True), os.getcwd(), socket.gethostname(),
             _utc_now(), RUNNING, __version__))
    return cur.lastrowid


def set_stabilisers(conn, sweep_id: int, settings) -> None:
    with conn:
        conn.execute("UPDATE sweeps SET stabilisers = ? WHERE sweep_id = ?",
                     (json.dumps([[s.describe(), int(s.applied)] for s in settings]), sweep_id))


def restart(conn, sweep_id: int) -> None:
    """--resume: the sweep runs again."""
    with conn:
        conn.execute("UPDATE sweeps SET status = ?, ended_at = NULL WHERE sweep_id = ?", (RUNNING, sweep_id))


def done_indexes(conn, sweep_id: int) -> set:
    """Plan positions with an ok run: its sweep_index, and every position a blocked run measured."""
    from .blocks import done_in_blocks
    return {int(i) for i, in conn.execute("SELECT DISTINCT sweep_index FROM runs WHERE sweep_id = ? AND "
                                          "status = 'ok' AND sweep_index IS NOT NULL", (sweep_id,))} \
        | done_in_blocks(conn, sweep_id)


def finish(conn, sweep_id: int, interrupted: bool) -> str:
    """Its end state, from the plan and the runs recorded: complete (every planned run ok), interrupted (stopped
    before the plan ran through), or failed-runs (runs failed, or --fail-fast stopped it)."""
    planned = conn.execute("SELECT runs_planned FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()[0]
    ok = sum(1 for i in done_indexes(conn, sweep_id) if i < planned)
    status = COMPLETE if ok >= planned else INTERRUPTED if interrupted else FAILED_RUNS
    with conn:
        conn.execute("UPDATE sweeps SET status = ?, ended_at = ? WHERE sweep_id = ?", (status, _utc_now(), sweep_id))
    return status


def load(conn, sweep_id: int) -> StoredSweep:
    row = conn.execute("SELECT argv, plan, repeat, run_order, seed, tags, cluster, status, mode, settings FROM sweeps "
                       "WHERE sweep_id = ?", (sweep_id,)).fetchone()
    argv, plan, repeat, order, seed, tags, cluster, status, mode, settings = row
    plan = json.loads(plan)
    params = [(n, list(v)) for n, v in plan["params"]]
    names = [n for n, _ in params]
    configs = [tuple(zip(names, c)) for c in plan["configurations"]]
    runs = [PlannedRun(i, configs[c], r) for i, (c, r) in enumerate(plan["runs"])]
    return StoredSweep(sweep_id, json.loads(argv), params, runs, int(repeat), order, int(seed),
                       json.loads(tags or "{}"), json.loads(cluster) if cluster else None, status, mode,
                       json.loads(settings) if settings else {}, configs, int(plan.get("block", 1)))


def sweep_ids(conn) -> List[int]:
    return [int(i) for i, in conn.execute("SELECT sweep_id FROM sweeps ORDER BY sweep_id")]


def choose(conn, path: str, wanted: Optional[int]) -> Optional[int]:
    """The sweep --resume continues: `wanted`, or the last unfinished one, or the last one (None: the trace
    holds no stored sweep)."""
    ids = sweep_ids(conn)
    if wanted is not None:
        if wanted not in ids:
            have = (f"its sweeps are {', '.join(map(str, ids))}" if len(ids) > 1 else f"its sweep is {ids[0]}") \
                if ids else "it holds no stored sweep"
            raise CltraceError(f"--resume {wanted}: {path} has no sweep {wanted} ({have})")
        return wanted
    if not ids:
        return None
    for sid in reversed(ids):
        planned = conn.execute("SELECT runs_planned FROM sweeps WHERE sweep_id = ?", (sid,)).fetchone()[0]
        if sum(1 for i in done_indexes(conn, sid) if i < planned) < planned:
            return sid
    return ids[-1]


def parse_resume(text) -> Optional[int]:
    """--resume [N]: None for the default (the last unfinished sweep), else N."""
    if text is None or text == "last":
        return None
    s = str(text).strip()
    if not s.isdigit() or int(s) < 1:
        raise UsageError(f"--resume {text}: a sweep is named by its number (1, 2, ...; cltrace report lists "
                         f"them), or give --resume alone for the last unfinished one")
    return int(s)
