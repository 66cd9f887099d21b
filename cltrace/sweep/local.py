"""The local executor: every run of the sweep on this machine, one after another, under the noise stabilisers."""
import os
import tempfile
import time
from typing import List, Optional

from ..capture.session import trace_into
from ..store.queries import add_note, run_latency_ms
from .engine import Adaptive, SweepContext, adaptive_rounds, order_line, sigterm_as_interrupt, stderr_tail, summary
from . import stored
from .blocks import run_plan
from .plan import PlannedRun, render_command
from .stabilise import RunMeter, Stabilisers, System, provenance_json


class LocalSweep:
    """One invocation's running state on this machine."""

    def __init__(self, ctx: SweepContext, stab: Stabilisers, progress, tmp: str, planned: int):
        self.ctx, self.stab, self.progress, self.tmp = ctx, stab, progress, tmp
        self.planned = planned
        self.failed: list = []
        self.finished = 0
        self.stopped: Optional[str] = None          # interrupted | fail-fast

    def run(self, r: PlannedRun, round_no: int = 0) -> None:
        ctx = self.ctx
        argv = render_command(ctx.template, r.params)
        self.progress.start(ctx.label(r))
        err_path = os.path.join(self.tmp, "stderr")
        meter = RunMeter(self.stab.system).start()
        with open(err_path, "wb") as err_file:
            traced = trace_into(ctx.conn, argv, mode=ctx.mode, settings=ctx.settings,
                                tags={**ctx.extra_tags, **r.params}, env=self.stab.child_env,
                                sweep_index=r.index, repeat_index=r.repeat, sweep_id=ctx.sweep_id,
                                stdout=None if ctx.show_output else open(os.devnull, "wb"), stderr=err_file)
        measured = meter.stop()
        child = traced.child
        ended_badly = child.status not in ("ok", "interrupted")
        tail = stderr_tail(err_path) if ended_badly else ""
        with ctx.conn:
            add_note(ctx.conn, traced.run_id, "provenance", provenance_json(self.stab, measured))
            for s in self.stab.settings:
                add_note(ctx.conn, traced.run_id, "stabiliser", s.describe(), int(s.applied))
            if round_no:
                add_note(ctx.conn, traced.run_id, "adaptive-round",
                         "re-run by --adaptive: a neighbour verdict was undecided", round_no)
            if ended_badly:
                add_note(ctx.conn, traced.run_id, "stderr-tail", tail, child.exit_status)
        if child.status == "interrupted":
            self.stopped = "interrupted"
            return
        self.finished += 1
        if child.status != "ok":
            self.failed.append((r, child.exit_status, tail))
            self.progress.failed(ctx.label(r), child.exit_status, tail)
            if ctx.fail_fast:
                self.stopped = "fail-fast"
        self.progress.done(ctx.label(r), run_latency_ms(ctx.conn, traced.run_id))


def execute(ctx: SweepContext, runs: List[PlannedRun], adaptive: Optional[Adaptive]) -> int:
    from ..printable import info
    from .progress import SweepProgress
    stab = Stabilisers(ctx.stabilise, os.environ, System(), warn=lambda m: info(f"warning: {m}"))
    t0 = time.monotonic()
    with sigterm_as_interrupt(), stab, \
            SweepProgress(len(runs), enabled=not ctx.quiet, grows=adaptive is not None) as progress, \
            tempfile.TemporaryDirectory(prefix="cltrace-sweep-") as tmp:
        progress.log(stab.summary())
        stored.set_stabilisers(ctx.conn, ctx.sweep_id, stab.settings)
        if ctx.order == "shuffle":
            progress.log(order_line(ctx.seed))
        sweep = LocalSweep(ctx, stab, progress, tmp, planned=len(runs))
        run_plan(sweep, runs)           # one process per run, or per block of --block K (blocks.py)
        if adaptive is not None and not sweep.stopped:
            adaptive_rounds(sweep, adaptive, t0)
    return summary(ctx.output, sweep.finished, sweep.planned, sweep.failed, sweep.stopped == "interrupted",
                   ctx.label)
