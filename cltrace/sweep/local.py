"""The local executor: every run of the sweep on this machine, one after another, under the noise stabilisers."""
import os
import tempfile
import time
from typing import List, Optional

from ..capture.launcher import CaptureDirs
from ..record.session import TracedRun, trace_into
from ..store.queries import add_note
from .engine import Adaptive, SweepContext, adaptive_rounds, order_line, sigterm_as_interrupt, stderr_tail, summary
from . import stored
from .blocks import run_blocks_here, run_plan
from .plan import PlannedRun, render_command
from .stabilise import RunMeter, Stabilisers, System, provenance_json


class LocalSweep:
    """One invocation's running state on this machine."""

    def __init__(self, ctx: SweepContext, stab: Stabilisers, progress, tmp: str, planned: int,
                 captures: Optional[CaptureDirs] = None):
        self.ctx, self.stab, self.progress, self.tmp = ctx, stab, progress, tmp
        self.captures = captures or CaptureDirs()
        self.planned = planned
        self.failed: list = []
        self.finished = 0
        self.stopped: Optional[str] = None          # interrupted | fail-fast

    def run(self, r: PlannedRun, round_no: int = 0) -> None:
        self.guarded(self._run, r, round_no)

    def run_blocks(self, blocks, round_no: int = 0) -> None:
        run_blocks_here(self, blocks, round_no)             # --block K (blocks.py)

    def guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except KeyboardInterrupt:
            # Ctrl-C, SIGTERM or SIGHUP between two programs (while one runs, run_traced passes it on and the run
            # ends 'interrupted'): the sweep stops the same way, its finished runs kept, --resume to go on
            self.stopped = "interrupted"

    def trace(self, argv, label: str, tags: dict, sweep_index, repeat_index, round_no: int = 0, notes=None):
        """Run one program of the sweep traced, under the stabilisers, and record it with its notes (provenance,
        stabilisers, an adaptive round, the stderr tail of a failure; `notes(conn, traced)` adds the caller's in
        the same transaction) -> (traced, stderr tail or "")."""
        ctx = self.ctx
        self.progress.start(label)
        err_path = os.path.join(self.tmp, "stderr")
        meter = RunMeter(self.stab.system).start()
        tail = ""

        def run_notes(run_id, child):      # in the run's own transaction: committed with the run or not at all
            nonlocal tail
            measured = meter.stop()
            add_note(ctx.conn, run_id, "provenance", provenance_json(self.stab, measured))
            for s in self.stab.settings:
                add_note(ctx.conn, run_id, "stabiliser", s.describe(), int(s.applied))
            if round_no:
                add_note(ctx.conn, run_id, "adaptive-round",
                         "re-run by --adaptive: a neighbour verdict was undecided", round_no)
            if notes is not None:
                notes(ctx.conn, TracedRun(run_id, child, None))
            if child.status not in ("ok", "interrupted"):
                tail = stderr_tail(err_path)
                add_note(ctx.conn, run_id, "stderr-tail", tail, child.exit_status)

        with open(err_path, "wb") as err_file:
            traced = trace_into(ctx.conn, argv, mode=ctx.mode, settings=ctx.settings,
                                tags={**ctx.extra_tags, **tags}, env=self.stab.child_env,
                                sweep_index=sweep_index, repeat_index=repeat_index, sweep_id=ctx.sweep_id,
                                captures=self.captures,
                                stdout=None if ctx.show_output else open(os.devnull, "wb"), stderr=err_file,
                                notes=run_notes)
        child = traced.child
        if child.status == "interrupted" or child.late_signal:     # late: Ctrl-C after the program ended
            self.stopped = "interrupted"
        return traced, tail

    def _run(self, r: PlannedRun, round_no: int) -> None:
        ctx = self.ctx
        traced, tail = self.trace(render_command(ctx.template, r.params), ctx.label(r), r.params, r.index, r.repeat,
                                  round_no)
        child = traced.child
        if child.status == "interrupted":
            return
        self.finished += 1
        if child.status != "ok":
            self.failed.append((r, child.exit_status, tail))
            self.progress.failed(ctx.label(r), child.exit_status, tail)
            if ctx.fail_fast:
                self.stopped = "fail-fast"
        self.progress.done(ctx.label(r), traced.stats.latency_ms())     # summed by the ingest: no query


def execute(ctx: SweepContext, runs: List[PlannedRun], adaptive: Optional[Adaptive]) -> int:
    from ..printable import info
    from .progress import SweepProgress
    stab = Stabilisers(ctx.stabilise, os.environ, System(), warn=lambda m: info(f"warning: {m}"))
    t0 = time.monotonic()
    with sigterm_as_interrupt(), stab, \
            SweepProgress(len(runs), enabled=not ctx.quiet, grows=adaptive is not None) as progress, \
            tempfile.TemporaryDirectory(prefix="cltrace-sweep-") as tmp, CaptureDirs() as captures:
        progress.log(stab.summary())
        stored.set_stabilisers(ctx.conn, ctx.sweep_id, stab.settings)
        if ctx.order == "shuffle":
            progress.log(order_line(ctx.seed))
        sweep = LocalSweep(ctx, stab, progress, tmp, planned=len(runs), captures=captures)
        run_plan(sweep, runs)           # one process per run, or per block of --block K (blocks.py)
        if adaptive is not None and not sweep.stopped:
            adaptive_rounds(sweep, adaptive, t0)
    return summary(ctx.output, sweep.finished, sweep.planned, sweep.failed, sweep.stopped == "interrupted",
                   ctx.label)
