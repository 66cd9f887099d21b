"""cltrace sweep: run a program over a grid of parameters, each run traced and tagged."""
import contextlib
import importlib
import os
import random
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

from ..capture.session import trace_into
from ..sweep.stabilise import RunMeter, Stabilisers, System, provenance_json
from ..capture import emulation
from ..sweep.plan import (ORDERS, PlannedRun, check_template, configurations, match_configs,
                                  numeric_params, parse_param, plan, render_command)
from ..errors import CltraceError, UsageError
from ..store import db as store_db
from ..store.queries import (add_note, completed_configs, last_note_value, next_sweep_index, run_latency_ms,
                             runs_by_config)
from .base import EXIT_OK, Command, info
from ..store.writer_lock import open_locked
from ..sweep.cluster import add_cluster_options, cluster_plan
from .outputs import open_output, parse_tags
from ..printable import printable
from .run import split_command
from .shim_options import add_shim_options, requested_mode, shim_settings

STDERR_TAIL_LINES = 5
ADAPTIVE_MODULE = "cltrace.analysis.adaptive"
BUDGET_FACTOR = 3                 # --adaptive's default --max-runs: this many times the first pass
FINISHED = ("ok", "failed", "not-found", "not-executable")     # runs that count against --max-runs


def _stderr_tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-STDERR_TAIL_LINES:])


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM and SIGHUP end the sweep like Ctrl-C: through `finally`, so system settings are set back.
    (While a program runs, run_traced passes SIGTERM on to it and the sweep stops after it.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(_signum, _frame):
        raise KeyboardInterrupt

    # only where the signal would kill cltrace: `nohup cltrace sweep` keeps ignoring SIGHUP
    old = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGHUP)
           if signal.getsignal(sig) == signal.SIG_DFL}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


@dataclass
class Adaptive:
    """--adaptive: the parameter whose neighbours are compared and the budgets."""
    param: str
    max_runs: int
    max_minutes: Optional[float]
    module: object


@dataclass
class _Sweep:
    """One invocation's running state."""
    conn: object
    template: list
    names: list
    configs: list
    extra_tags: dict
    settings: dict
    args: object
    stab: Stabilisers
    progress: object
    tmp: str
    failed: list = field(default_factory=list)
    finished: int = 0
    planned: int = 0
    stopped: Optional[str] = None          # interrupted | fail-fast

    def run(self, r: PlannedRun, round_no: int = 0) -> None:
        args = self.args
        argv = render_command(self.template, r.params)
        self.progress.start(r.label())
        err_path = os.path.join(self.tmp, "stderr")
        meter = RunMeter(self.stab.system).start()
        with open(err_path, "wb") as err_file:
            traced = trace_into(self.conn, argv, mode=requested_mode(args), settings=self.settings,
                                tags={**self.extra_tags, **r.params}, env=self.stab.child_env,
                                sweep_index=r.index, repeat_index=r.repeat,
                                stdout=None if args.show_output else open(os.devnull, "wb"), stderr=err_file)
        measured = meter.stop()
        child = traced.child
        ended_badly = child.status not in ("ok", "interrupted")
        tail = _stderr_tail(err_path) if ended_badly else ""
        with self.conn:
            add_note(self.conn, traced.run_id, "provenance", provenance_json(self.stab, measured))
            for s in self.stab.settings:
                add_note(self.conn, traced.run_id, "stabiliser", s.describe(), int(s.applied))
            if round_no:
                add_note(self.conn, traced.run_id, "adaptive-round",
                         "re-run by --adaptive: a neighbour verdict was undecided", round_no)
            if ended_badly:
                add_note(self.conn, traced.run_id, "stderr-tail", tail, child.exit_status)
        if child.status == "interrupted":
            self.stopped = "interrupted"
            return
        self.finished += 1
        if child.status != "ok":
            self.failed.append((r, child.exit_status, tail))
            self.progress.failed(r.label(), child.exit_status, tail)
            if args.fail_fast:
                self.stopped = "fail-fast"
        self.progress.done(r.label(), run_latency_ms(self.conn, traced.run_id))


def _order_line(seed: int) -> str:
    """What a shuffled sweep says about its order, so that it can be run again."""
    return f"order: shuffled, seed {seed} (--seed {seed} runs the same order)"


class SweepCommand(Command):
    name = "sweep"
    help = "run a program over parameter values (e.g. channel counts), every run traced and tagged"
    description = (
        "Runs COMMAND once per configuration (the cartesian product of the -p parameters) and repetition, "
        "replacing {name} in COMMAND by each parameter's value, and records every run, tagged with its "
        "parameters, into one trace. A failing configuration is recorded and the sweep goes on; Ctrl-C "
        "stops it with every finished run kept (--resume continues it). Known noise stabilisers for the "
        "driver in use are applied and every run records them with the machine's load (docs/noise.md). "
        "--adaptive then re-runs the configurations whose step verdicts are still undecided.")

    def add_arguments(self, p):
        p.add_argument("-p", "--param", action="append", metavar="NAME=VALUES", default=[],
                       help="a swept parameter: a:b (inclusive), a:b:step (descending when a>b) or a,b,c")
        p.add_argument("--repeat", type=int, default=3, metavar="N",
                       help="runs (processes) per configuration (default: 3)")
        p.add_argument("--order", choices=ORDERS, default="shuffle",
                       help="shuffle (default): one pass over all configurations per repetition, each pass in "
                            "a random order, so that the machine's drift over time cannot line up with the "
                            "swept value (the step test relies on it: docs/analysis.md); interleave: each pass "
                            "in value order; sequential: all repeats of a configuration back to back")
        p.add_argument("--seed", type=int, default=None,
                       help="seed of --order shuffle (default: a new one for each sweep, printed; give it to "
                            "run the same order again)")
        p.add_argument("-o", "--output", default="sweep.db", metavar="PATH", help="trace file (default: sweep.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--append", action="store_true", help="add the runs to an existing trace file")
        p.add_argument("--resume", action="store_true",
                       help="continue a sweep: skip configurations that already have --repeat successful runs "
                            "(an --adaptive sweep then goes on with its rounds)")
        p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="extra label for every run")
        p.add_argument("--allow-unused-param", action="store_true",
                       help="accept a parameter that COMMAND does not mention as {name} (the program gets the "
                            "value some other way); without it that is an error, as its runs would be identical")
        p.add_argument("--fail-fast", action="store_true", help="stop at the first failing run")
        p.add_argument("--show-output", action="store_true", help="let the program's stdout through")
        p.add_argument("--dry-run", action="store_true",
                       help="print the planned commands and exit (with --resume: only the runs still to do)")
        p.add_argument("-q", "--quiet", action="store_true",
                       help="no progress (a bar on a terminal; in a log, a plain line per tenth of the runs "
                            "or 30 s, and a summary line)")
        p.add_argument("--no-stabilise", dest="stabilise", action="store_false", default=True,
                       help="Turn off (on by default): the noise stabilisers for the driver in use: "
                            "POCL_AFFINITY=1 for PoCL (traced program only); the CPU frequency and GPU devfreq "
                            "governors set to performance where writable, set back after the sweep. A setting "
                            "you made yourself is always kept. Every run records them (docs/noise.md)")
        g = p.add_argument_group("adaptive sweeps")
        g.add_argument("--adaptive", action="store_true",
                       help="after the planned runs, re-run each configuration whose step verdict against a "
                            "neighbour is still undecided, one more process per round, until every verdict is "
                            "decided or a budget is spent; needs a numeric parameter")
        g.add_argument("--max-runs", type=int, metavar="N",
                       help=f"budget of --adaptive: at most N runs in the sweep, the first pass included "
                            f"(default: {BUDGET_FACTOR} x the first pass)")
        g.add_argument("--max-minutes", type=float, metavar="M",
                       help="budget of --adaptive: start no re-run after M minutes (default: no limit; the "
                            "first pass always completes)")
        add_shim_options(p)
        add_cluster_options(p)          # --cluster, --board: cltrace/cluster (docs/farm.md)
        p.add_argument("command", nargs="...", help="-- COMMAND [ARGS...] with {name} placeholders")

    def run(self, args) -> int:
        template = split_command(args.command)
        if not args.param:
            raise UsageError("give at least one parameter with -p NAME=VALUES (e.g. -p channels=64:128)")
        params = [parse_param(x) for x in args.param]
        names = [n for n, _ in params]
        extra_tags = parse_tags(args.tag)
        clash = set(extra_tags) & set(names)
        if clash:
            raise UsageError(f"--tag {sorted(clash)[0]} clashes with a parameter of the same name")
        unused = check_template(template, names)
        if unused and not args.allow_unused_param:
            marks = ", ".join("{" + n + "}" for n in unused)
            raise UsageError(f"the command does not mention {marks}: the runs of different {', '.join(unused)} "
                             f"values would be identical; put {marks} in the command (e.g. --{unused[0]}="
                             f"{{{unused[0]}}}), or give --allow-unused-param if the program gets the value "
                             f"some other way")
        cluster = self._cluster = cluster_plan(args, params, names, extra_tags)   # --cluster: the board is a
        if cluster is not None:                                                  # parameter (cltrace/cluster)
            params, names = cluster.params, cluster.names
        if args.seed is None:
            args.seed = random.SystemRandom().randrange(1, 2**31) if args.order == "shuffle" else 0
        runs = plan(params, args.repeat, args.order, args.seed)
        adaptive = self._adaptive_options(args, params, len(runs))
        if args.dry_run:
            return self._dry_run(args, runs, template, names, adaptive)
        settings = shim_settings(args)
        if cluster is not None:
            cluster.connect()           # the scheduler and a worker of every --board, before the trace is touched
        if runs and cluster is None:    # a guest program that cannot be traced: say so before the trace is touched
            emulation.detect(render_command(template, runs[0].params), os.environ)
        conn, lock = open_locked(args.output,
                                 lambda: open_output(args.output, args.force, args.append or args.resume))
        try:
            if args.resume:
                runs = self._skip_done(conn, runs, names)
            return self._execute(conn, runs, template, names, configurations(params), extra_tags, settings,
                                 args, adaptive)
        finally:
            conn.close()
            lock.release()

    # -- checking ----------------------------------------------------------------------------------------------
    @staticmethod
    def _adaptive_options(args, params, first_pass: int) -> Optional[Adaptive]:
        if not args.adaptive:
            for flag, value in (("--max-runs", args.max_runs), ("--max-minutes", args.max_minutes)):
                if value is not None:
                    raise UsageError(f"{flag} is a budget of --adaptive: give --adaptive too, or leave {flag} out")
            return None
        numeric = numeric_params(params)
        if not numeric:
            raise UsageError("--adaptive compares neighbouring values of a numeric parameter, and no -p parameter "
                             "has two or more numeric values (e.g. -p channels=64:128)")
        counts = {n: len(v) for n, v in params}
        param = max(sorted(numeric), key=lambda n: counts[n])    # the one with most values; ties: by name
        if args.max_runs is not None and args.max_runs < first_pass:
            raise UsageError(f"--max-runs {args.max_runs} is less than the first pass ({first_pass} runs): "
                             f"give at least {first_pass}")
        if args.max_minutes is not None and not args.max_minutes > 0:
            raise UsageError(f"--max-minutes must be positive, not {args.max_minutes:g}")
        try:
            module = importlib.import_module(ADAPTIVE_MODULE)
        except ImportError as e:
            raise CltraceError(f"--adaptive needs {ADAPTIVE_MODULE}, which this cltrace lacks ({e})") from None
        return Adaptive(param, args.max_runs if args.max_runs is not None else BUDGET_FACTOR * first_pass,
                        args.max_minutes, module)

    # -- planning ----------------------------------------------------------------------------------------------
    def _dry_run(self, args, runs, template, names, adaptive) -> int:
        if args.resume:
            if os.path.exists(args.output):
                conn = store_db.open_db(args.output)
                try:
                    runs = self._skip_done(conn, runs, names)
                finally:
                    conn.close()
            else:
                info(f"resume: 0 runs already done, {len(runs)} to go")
        if args.order == "shuffle":
            info(_order_line(args.seed))
        for i, r in enumerate(runs):
            on = f" (on board {r.params['board']})" if args.cluster else ""
            print(f"[{i + 1}/{len(runs)}] {printable(' '.join(render_command(template, r.params)))}{on}")
        if adaptive is not None:
            info(f"--adaptive: further runs (up to {adaptive.max_runs} in all) depend on the results; "
                 f"the first pass is listed")
        return EXIT_OK

    @staticmethod
    def _skip_done(conn, runs, names):
        done = completed_configs(conn, names)
        keep = []
        for r in runs:
            key = tuple(v for _, v in r.config)
            if done[key] > 0:
                done[key] -= 1
            else:
                keep.append(r)
        info(f"resume: {len(runs) - len(keep)} runs already done, {len(keep)} to go")
        return keep

    # -- running -----------------------------------------------------------------------------------------------
    def _execute(self, conn, runs, template, names, configs, extra_tags, settings, args, adaptive) -> int:
        if getattr(self, "_cluster", None) is not None:
            return self._cluster.execute(self, conn, runs, template, names, configs, extra_tags, settings, args,
                                         adaptive)
        from .sweep_progress import SweepProgress
        stab = Stabilisers(args.stabilise, os.environ, System(), warn=lambda m: info(f"warning: {m}"))
        t0 = time.monotonic()
        with _sigterm_as_interrupt(), stab, \
                SweepProgress(len(runs), enabled=not args.quiet, grows=adaptive is not None) as progress, \
                tempfile.TemporaryDirectory(prefix="cltrace-sweep-") as tmp:
            progress.log(stab.summary())
            if args.order == "shuffle":
                progress.log(_order_line(args.seed))
            sweep = _Sweep(conn, template, names, configs, extra_tags, settings, args, stab, progress, tmp,
                           planned=len(runs))
            for r in runs:
                sweep.run(r)
                if sweep.stopped:
                    break
            if adaptive is not None and not sweep.stopped:
                self._adaptive_rounds(sweep, adaptive, t0)
        return self._summary(args.output, sweep.finished, sweep.planned, sweep.failed,
                             sweep.stopped == "interrupted")

    def _undecided(self, sweep: _Sweep, adaptive: Adaptive):
        """Analyse this sweep's runs as committed so far: (configurations to re-run, summary phrase)."""
        from ..analysis.staircase import analyse
        from ..trace import open as open_trace
        by_config = runs_by_config(sweep.conn, sweep.names)
        mine = {rid for c in sweep.configs for rid, _ in by_config.get(tuple(v for _, v in c), [])}
        with open_trace(sweep.args.output) as t:
            samples = t.samples()
        if "run_id" in samples.columns:
            samples = samples[samples["run_id"].isin(mine)]
        result = analyse(samples, adaptive.param)
        return list(adaptive.module.configs_to_rerun(result)), str(adaptive.module.undecided_summary(result))

    def _adaptive_rounds(self, sweep: _Sweep, adaptive: Adaptive, t0: float) -> None:
        args, conn = sweep.args, sweep.conn
        order = {c: i for i, c in enumerate(sweep.configs)}
        first_round = last_note_value(conn, "adaptive-round") + 1
        next_index = next_sweep_index(conn)
        added: List[int] = []
        unknown_said = False
        reason = left = ""
        while not sweep.stopped:
            left = ""
            try:
                wanted, summary = self._undecided(sweep, adaptive)
            except ValueError as e:          # analyse(): e.g. no usable sample at all
                reason = f"the analysis could not judge the runs ({e})"
                break
            if not wanted:
                reason = "every verdict is decided"
                break
            left = summary
            todo, unknown = match_configs(wanted, sweep.configs)
            if unknown and not unknown_said:
                sweep.progress.log(f"adaptive: {_plural(unknown, 'configuration')} the analysis asked for "
                                   f"{'is' if unknown == 1 else 'are'} not in this sweep's plan (left out)")
                unknown_said = True
            by_config = runs_by_config(conn, sweep.names)
            history = {c: by_config.get(tuple(v for _, v in c), []) for c in sweep.configs}
            failing = [c for c in todo if history[c] and history[c][-1][1] in FINISHED[1:]]
            todo = [c for c in todo if c not in failing]
            if not todo:
                reason = ("the configurations still undecided failed on their last run (fix them, then --resume)"
                          if failing else "the configurations still undecided are not in this sweep's plan")
                break
            total = sum(1 for runs in history.values() for _, st in runs if st in FINISHED)
            room = adaptive.max_runs - total
            if room <= 0:
                reason = f"the run budget is spent ({adaptive.max_runs} runs, --max-runs)"
                break
            if adaptive.max_minutes is not None and time.monotonic() - t0 >= adaptive.max_minutes * 60:
                reason = f"the time budget is spent ({adaptive.max_minutes:g} min, --max-minutes)"
                break
            todo = sorted(todo[:room], key=order.get)     # the analysis' priority picks, plan order runs
            round_no = first_round + len(added)
            if args.order == "shuffle":
                random.Random(args.seed + round_no).shuffle(todo)
            sweep.progress.log(f"adaptive round {round_no}: {summary}; re-running "
                               f"{_plural(len(todo), 'configuration')}")
            sweep.progress.grow(len(todo), f"round {round_no}")
            sweep.planned += len(todo)
            done = 0
            for c in todo:
                if adaptive.max_minutes is not None and time.monotonic() - t0 >= adaptive.max_minutes * 60:
                    reason = f"the time budget is spent ({adaptive.max_minutes:g} min, --max-minutes)"
                    break
                sweep.run(PlannedRun(next_index, c, len(history[c])), round_no)
                next_index += 1
                done += 1
                if sweep.stopped:
                    break
            sweep.planned -= len(todo) - done
            if done:
                added.append(done)
            if reason:
                break
        if sweep.stopped:
            reason = "interrupted" if sweep.stopped == "interrupted" else "a run failed (--fail-fast)"
            left = ""
        rounds = f"{_plural(len(added), 'round')} ({', '.join(f'+{n}' for n in added)} runs)"
        text = f"stopped after {rounds}: {reason}" if added else f"no re-runs: {reason}"
        sweep.progress.log(f"adaptive: {text}" + (f"; left: {left}" if left else ""))

    @staticmethod
    def _summary(path, finished, planned, failed, interrupted) -> int:
        info(f"{finished}/{planned} runs recorded in {path}"
             + (f"; {len(failed)} failed" if failed else ""))
        for r, code, tail in failed[:20]:
            info(f"  failed: {printable(r.label())} (exit {code})" + (f": {printable(tail)}" if tail else ""))
        if interrupted:
            info("interrupted: finished runs are kept; continue with --resume")
            return 130
        return EXIT_OK if not failed else 1
