"""The client of a farm sweep: reach the Dask scheduler, submit one task per planned run, or per block of
`--block K` (blocks.py: one process measuring K configurations, on one board), restricted to its board's
resource, and record each run into the trace as it comes back.

What a local sweep does, a farm sweep does the same way: the plan, --resume and --adaptive are engine.py's
own (the board is one more parameter, options.py); failures are recorded and the sweep goes on (--fail-fast
stops it); Ctrl-C or SIGTERM stops it with every finished run kept (--resume continues). Retries are Dask's:
a task whose worker dies is re-run on another worker with that board resource (or on the board's worker once
its nanny has restarted it), so a dead worker loses only its in-flight run. A task that has killed
`distributed.scheduler.allowed-failures` + 1 workers (default 4) ends the sweep with an error."""
import contextlib
import os
import signal
import threading
import time
import uuid
from typing import Dict, List, Optional

from .blocks import block_command, block_finished, block_label, block_recorder, plan_to_run, shared_params
from .plan import PlannedRun, render_command
from ..errors import CltraceError
from ..store.queries import run_latency_ms
from .record import record_result

KEY_PREFIX = "cltrace-run"
RESOURCE_PREFIX = "board:"     # a worker that drives a board of kind K offers the resource board:K
POLL_S = 0.2


def _client_kwargs(address: str) -> dict:
    return dict(scheduler_file=address) if os.path.isfile(address) else dict(address=address)


def board_workers(client) -> Dict[str, List[str]]:
    """board kind -> the workers (names) that offer its resource."""
    out: Dict[str, List[str]] = {}
    for addr, w in client.scheduler_info(n_workers=-1).get("workers", {}).items():
        for res, amount in (w.get("resources") or {}).items():
            if res.startswith(RESOURCE_PREFIX) and amount >= 1:
                out.setdefault(res[len(RESOURCE_PREFIX):], []).append(str(w.get("name", addr)))
    return out


def connect(address: str, boards: List[str], timeout_s: float, tls_dir: Optional[str] = None):
    """A Client of the scheduler at `address`, once a worker of every board is there (or an error). tls_dir:
    the farm's certificates (tls.py), for a TLS scheduler."""
    from distributed import Client
    kw = _client_kwargs(address)
    if tls_dir:
        from .tls import security
        kw["security"] = security(tls_dir)
    try:
        client = Client(timeout=f"{timeout_s}s", set_as_default=False, **kw)
    except (OSError, TimeoutError, ValueError, TypeError):      # TypeError: Dask's, a TLS address without TLS
        raise CltraceError(f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s: start it with "
                           f"'cltrace farm' (docs/farm.md)") from None
    deadline = time.monotonic() + timeout_s
    while True:
        offered = board_workers(client)
        missing = [b for b in boards if b not in offered]
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    if missing:
        client.close()
        offers = ", ".join(f"{RESOURCE_PREFIX}{k}" for k in sorted(offered)) or "no board"
        raise CltraceError(f"no worker of the cluster at {address} offers {RESOURCE_PREFIX}{missing[0]} (its "
                           f"workers offer {offers}); start one on that board with: dask worker {address} "
                           + ("--tls-ca-file ca.pem --tls-cert worker.pem --tls-key worker-key.pem " if tls_dir else "")
                           + f"--nthreads 1 --resources {RESOURCE_PREFIX}{missing[0]}=1")
    return client


class ClusterSweep:
    """The running state of a farm sweep: the attributes engine.py's adaptive rounds use (ctx, progress,
    planned, stopped, run()) and those its summary reads (finished, failed)."""

    def __init__(self, client, ctx, progress, planned):
        self.client, self.ctx = client, ctx
        self.progress, self.planned = progress, planned
        self.failed: list = []
        self.finished = 0
        self.stopped = None            # interrupted | fail-fast
        self.token = uuid.uuid4().hex[:12]
        self._said = set()

    def key(self, r: PlannedRun) -> str:
        return f"{KEY_PREFIX}-{self.token}-{r.index}"

    def _request(self, r: PlannedRun, block=None) -> dict:
        ctx = self.ctx
        if block is not None:           # --block K: one process measures the block's configurations (blocks.py)
            argv = block_command(ctx.template, [_off_board(b) for b in block])
        else:
            argv = render_command(ctx.template, {k: v for k, v in r.params.items() if k != "board"})
        return dict(argv=argv, mode=ctx.mode,
                    settings=dict(ctx.settings), stabilise=bool(ctx.stabilise), cwd=os.getcwd(),
                    show_output=bool(ctx.show_output), sweep_index=r.index, repeat_index=r.repeat)

    def run(self, r: PlannedRun, round_no: int = 0) -> None:
        self.run_all([r], round_no)

    def run_all(self, runs: List[PlannedRun], round_no: int = 0) -> None:
        """Submit every run (plan order = priority), record each as it finishes."""
        self._farm([[r] for r in runs], round_no, blocked=False)

    def run_blocks(self, blocks: List[List[PlannedRun]], round_no: int = 0) -> None:
        """--block K: one task per block (its first plan position = its key and priority; a block runs on one
        board), recorded as it finishes: a worker that dies loses only its in-flight block, which Dask runs
        again, and Ctrl-C keeps every finished block (--resume runs what the blocks still lack)."""
        self._farm([list(b) for b in blocks], round_no, blocked=True)

    def _farm(self, units: List[List[PlannedRun]], round_no: int, blocked: bool) -> None:
        from distributed import as_completed
        from .task import run_on_board
        futures = {}
        for unit in units:
            first = min(unit, key=lambda r: r.index)
            fut = self.client.submit(run_on_board, self._request(first, unit if blocked else None),
                                     key=self.key(first), pure=False,
                                     resources={RESOURCE_PREFIX + first.params["board"]: 1}, priority=-first.index)
            futures[fut] = unit
        if units:
            n = sum(len(u) for u in units)
            what = f"{n} runs in {len(units)} blocks" if blocked else f"{n} runs"
            self.progress.start(f"{what} on {len({u[0].params['board'] for u in units})} board kind(s)")
        recorded = set()
        try:
            for fut in as_completed(list(futures), loop=self.client.loop):
                with _interrupts_after():       # recorded and marked so together: never recorded twice
                    self._collect(fut, futures[fut], round_no, blocked)
                    recorded.add(fut)
                if self.stopped:
                    break
        except KeyboardInterrupt:
            self.stopped = "interrupted"
            for fut, unit in futures.items():          # runs that had finished are kept
                if fut not in recorded and fut.status == "finished":
                    self._collect(fut, unit, round_no, blocked)
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self.client.cancel(pending)

    def _collect(self, fut, unit: List[PlannedRun], round_no: int, blocked: bool = False) -> None:
        from distributed.scheduler import KilledWorker
        r = unit[0]
        label = block_label(unit, self.ctx.label_names) if blocked else r.label()
        try:
            result = fut.result()
        except KilledWorker:
            raise CltraceError(f"the run {label} was in flight on every worker that died "
                               f"(distributed.scheduler.allowed-failures): it is not re-run again; look at the "
                               f"workers' logs, then continue with --resume") from None
        except Exception as e:  # noqa: BLE001  (a worker could not run the point at all)
            raise CltraceError(f"board {r.params['board']}: {str(e).splitlines()[0] if str(e) else e!r}") from None
        for w in result.get("warnings", []):
            if w not in self._said:
                self._said.add(w)
                self.progress.log(f"warning: {result['host']}: {w}")
        if blocked:
            tags = {**self.ctx.extra_tags, **shared_params(unit)}
            notes, missing = block_recorder(unit, round_no, self.ctx.block_keys)
            run_id = record_result(self.ctx.conn, result, tags, round_no, self.ctx.sweep_id,
                                   notes=lambda conn, rid: notes(conn, rid, result["status"]))
        else:
            tags = {**self.ctx.extra_tags, **r.params}
            run_id = record_result(self.ctx.conn, result, tags, round_no, self.ctx.sweep_id)
        if result["status"] == "interrupted":     # the board's worker was being stopped: --resume re-runs it
            self.progress.log(f"{label}: interrupted on {result['host']} (recorded; --resume runs it again)")
            return
        if blocked:
            block_finished(self, unit, label, result["status"], result["exit_status"], result["stderr_tail"],
                           run_id, missing, self.ctx.block_keys)
            return
        self.finished += 1
        if result["status"] != "ok":
            self.failed.append((r, result["exit_status"], result["stderr_tail"]))
            self.progress.failed(label, result["exit_status"], result["stderr_tail"])
            if self.ctx.fail_fast:
                self.stopped = "fail-fast"
        self.progress.done(label, run_latency_ms(self.ctx.conn, run_id))


@contextlib.contextmanager
def _interrupts_after():
    """Ctrl-C, SIGTERM and SIGHUP that come inside are delivered at its end, to the handlers in place then.
    Recording a run and marking it recorded must not be parted: an interrupt between the two made the
    KeyboardInterrupt path record the same finished run a second time."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: List[int] = []
    old = {sig: signal.signal(sig, lambda signum, _frame: pending.append(signum))
           for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)


def _off_board(r: PlannedRun) -> PlannedRun:
    """The planned run without its board (the command never names it)."""
    return PlannedRun(r.index, tuple((k, v) for k, v in r.config if k != "board"), r.repeat)


def execute(ctx, runs, adaptive) -> int:
    """executor.execute for --cluster: the same progress, adaptive rounds and summary as a local sweep."""
    from .engine import adaptive_rounds, order_line, sigterm_as_interrupt, summary
    from .progress import SweepProgress
    plan = ctx.cluster
    t0 = time.monotonic()
    client = plan.client
    try:
        with sigterm_as_interrupt(), \
                SweepProgress(len(runs), enabled=not ctx.quiet, grows=adaptive is not None) as progress:
            offered = board_workers(client)
            progress.log("cluster: " + "; ".join(
                f"{RESOURCE_PREFIX}{b} on {len(offered.get(b, []))} worker(s)" for b in plan.boards)
                + f" ({plan.address}); stabilisers are applied on each board around its runs")
            if ctx.order == "shuffle":          # as a local sweep says it (--seed N runs the same order)
                progress.log(order_line(ctx.seed))
            sweep = ClusterSweep(client, ctx, progress, planned=len(runs))
            try:
                if (ctx.block or 1) > 1:
                    sweep.run_blocks(plan_to_run(ctx, runs))
                else:
                    sweep.run_all(runs)
                if adaptive is not None and not sweep.stopped:
                    adaptive_rounds(sweep, adaptive, t0)
            except KeyboardInterrupt:
                sweep.stopped = "interrupted"
    finally:
        client.close()
    return summary(ctx.output, sweep.finished, sweep.planned, sweep.failed, sweep.stopped == "interrupted")
