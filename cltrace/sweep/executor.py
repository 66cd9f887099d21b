"""The executor choice: a sweep's planned runs on this machine (local.py) or on a Dask farm (farm.py), with the
sweep stored in the trace first and its end state after. Above engine.py and both executors, which share
engine.py's rounds and summary, so nothing below imports back up here."""
import sqlite3
from typing import List, Optional

from ..errors import CltraceError
from . import stored
from .engine import Adaptive, SweepContext
from .plan import PlannedRun


def execute(ctx: SweepContext, runs: List[PlannedRun], adaptive: Optional[Adaptive]) -> int:
    """Run the planned runs (then --adaptive's rounds) on this machine or the farm, with the sweep stored in
    the trace (a new sweeps row, or the resumed one) and its end state recorded; the exit status."""
    conn = ctx.conn
    if ctx.sweep_id is None:
        ctx.sweep_id = stored.create(
            conn, ctx.template, ctx.params, ctx.planned_runs, ctx.repeat, ctx.order, ctx.seed, ctx.extra_tags,
            ctx.mode, ctx.settings, ctx.stabilise,
            adaptive=None if adaptive is None else dict(param=adaptive.param, max_runs=adaptive.max_runs,
                                                        max_minutes=adaptive.max_minutes),
            cluster=None if ctx.cluster is None else dict(address=ctx.cluster.address,
                                                          boards=list(ctx.cluster.boards)),
            configs=ctx.configs, block=ctx.block)
        if ctx.adopt:
            with conn:
                conn.executemany("UPDATE runs SET sweep_id = ?, sweep_index = ? WHERE run_id = ?",
                                 [(ctx.sweep_id, r.index, run_id) for run_id, r in ctx.adopt])
    else:
        stored.restart(conn, ctx.sweep_id)
    code = 130
    try:
        if ctx.cluster is not None:                 # each executor loaded when a sweep uses it
            from .farm import execute as execute_on_farm
            code = execute_on_farm(ctx, runs, adaptive)
        else:
            from .local import execute as execute_here
            code = execute_here(ctx, runs, adaptive)
    except CltraceError:                # an error that stops the sweep (blocks.RegionsMissing) is no interrupt
        code = 1
        raise
    finally:
        try:
            stored.finish(conn, ctx.sweep_id, interrupted=code == 130)
        except sqlite3.Error:       # the trace cannot be written now (disk full): the sweep stays 'running'
            pass
    return code
