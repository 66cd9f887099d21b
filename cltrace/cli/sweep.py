"""cltrace sweep: run a program over a grid of parameters, each run traced and tagged.

This module parses and checks the arguments only; planning, running, --resume and --adaptive are
cltrace/sweep (engine.py and its executors)."""
import importlib
import os
from typing import Optional

from ..capture import emulation
from ..errors import CltraceError, UsageError
from ..printable import info, printable
from ..store import db as store_db
from ..store.writer_lock import open_locked
from ..sweep.cluster import add_cluster_options, cluster_plan
from ..sweep import stored
from ..sweep.blocks import block_command, blocks_to_run, check_block
from ..sweep.cluster import BOARD_PARAM
from ..sweep.engine import (ADAPTIVE_MODULE, BUDGET_FACTOR, Adaptive, SweepContext, order_line,
                            resume_runs, same_sweep as _same_sweep, skip_done)
from ..sweep.executor import execute
from ..sweep.plan import (ORDERS, check_template, configurations, numeric_params, parse_param, plan,
                          render_command, resume_or_plan)
from .base import EXIT_OK, Command, adaptive_budget
from .block_options import add_block_argument, stored_block
from .outputs import open_output, parse_tags
from .run import split_command
from .shim_options import add_shim_options, requested_mode, shim_settings


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
        p.add_argument("--repeat", type=int, default=None, metavar="N",
                       help="runs (processes) per configuration (default: 3)")
        p.add_argument("--order", choices=ORDERS, default="shuffle",
                       help="shuffle (default): one pass over all configurations per repetition, each pass in "
                            "a random order, so that the machine's drift over time cannot line up with the "
                            "swept value (the step test relies on it: docs/analysis.md); interleave: each pass "
                            "in value order; sequential: all repeats of a configuration back to back")
        add_block_argument(p, "Every {name} of the command becomes the block's values joined by commas "
                           "(--out-channels {channels} -> --out-channels 5,1,12), in a random order; the program "
                           "must measure each and mark its launches with a cltrace region tagged with its values, "
                           "as conv_bench does (docs/analysis.md). Each repetition of the plan is cut into blocks "
                           "of at most K (with --cluster, per board: a block is one task on one board); with "
                           "--adaptive, every round is new processes too, each measuring undecided configurations "
                           "and their neighbours")
        p.add_argument("--seed", type=int, default=None,
                       help="seed of --order shuffle and of the blocks of --block (default: a new one for each "
                            "shuffled sweep, printed; give it to run the same order again)")
        p.add_argument("-o", "--output", default="sweep.db", metavar="PATH", help="trace file (default: sweep.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--append", action="store_true",
                       help="add a new sweep to an existing trace file (each sweep keeps its own stored plan)")
        p.add_argument("--resume", nargs="?", const="last", default=None, metavar="SWEEP",
                       help="continue a sweep of the trace (the last unfinished one, or sweep number SWEEP): run "
                            "exactly the planned runs of its stored plan that have no successful run yet; -p, "
                            "--repeat, --tag and COMMAND may be left out (given, they must match the stored plan), "
                            "and without capture options the stored ones apply. An --adaptive sweep then goes on "
                            "with its rounds")
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
                            "decided or a budget is spent; needs a numeric parameter. With --block K, a "
                            "round's configurations and their neighbours are measured in new processes of at "
                            "most K each (the budget counts configurations measured)")
        g.add_argument("--max-runs", type=int, metavar="N",
                       help=f"budget of --adaptive: at most N runs in the sweep, the first pass included "
                            f"(default: {BUDGET_FACTOR} x the first pass)")
        g.add_argument("--max-minutes", type=float, metavar="M",
                       help="budget of --adaptive: start no re-run after M minutes (default: no limit; the "
                            "first pass always completes)")
        add_shim_options(p)
        add_cluster_options(p)          # --cluster, --board: cltrace/sweep/cluster.py (docs/farm.md)
        p.add_argument("command", nargs="...", help="-- COMMAND [ARGS...] with {name} placeholders")

    def run(self, args) -> int:
        wanted = stored.parse_resume(args.resume)
        resuming = args.resume is not None
        if resuming and args.append:
            raise UsageError("--resume continues a sweep of the trace and --append starts a new one: give one of them")
        previous = self._previous(args, wanted) if resuming else None      # the stored sweep --resume continues
        if previous is not None and not args.command:
            template = list(previous.template)
        else:
            template = split_command(args.command)
        if previous is not None and not args.param:
            params = [(n, v) for n, v in previous.params if not (previous.cluster and n == BOARD_PARAM)]
        elif not args.param:
            raise UsageError("give at least one parameter with -p NAME=VALUES (e.g. -p channels=64:128)")
        else:
            params = [parse_param(x) for x in args.param]
        names = [n for n, _ in params]
        extra_tags = dict(previous.tags) if previous is not None and not args.tag else parse_tags(args.tag)
        clash = set(extra_tags) & set(names)
        if clash:
            raise UsageError(f"--tag {sorted(clash)[0]} clashes with a parameter of the same name")
        unused = check_template(template, names)
        if unused and not args.allow_unused_param and previous is None:
            marks = ", ".join("{" + n + "}" for n in unused)
            raise UsageError(f"the command does not mention {marks}: the runs of different {', '.join(unused)} "
                             f"values would be identical; put {marks} in the command (e.g. --{unused[0]}="
                             f"{{{unused[0]}}}), or give --allow-unused-param if the program gets the value "
                             f"some other way")
        cluster = cluster_plan(args, params, names, extra_tags)   # --cluster: the board is a parameter
        if cluster is not None:                                    # (sweep/cluster.py)
            params, names = cluster.params, cluster.names
        repeat = args.repeat if args.repeat is not None else previous.repeat if previous is not None else 3
        if previous is not None:
            _same_sweep(previous, template, params, repeat, extra_tags, cluster)
        args.order, args.seed, runs = resume_or_plan(previous, args.order, args.seed,
                                                     lambda order, seed: plan(params, repeat, order, seed))
        adaptive = self._adaptive_options(args, params, len(runs))
        block = self._block(args, previous, len(configurations(params)), cluster, adaptive, runs)
        if args.dry_run:
            return self._dry_run(args, runs, template, names, adaptive, previous, block)
        settings, mode = shim_settings(args), requested_mode(args)
        if previous is not None and not settings and mode == "auto":   # no capture option given: the stored ones
            settings, mode = dict(previous.settings or {}), previous.mode or mode
        if cluster is not None:
            cluster.connect()           # the scheduler and a worker of every --board, before the trace is touched
        if runs and cluster is None:    # a guest program that cannot be traced: say so before the trace is touched
            emulation.detect(render_command(template, runs[0].params), os.environ)
        conn, lock = open_locked(args.output,
                                 lambda: open_output(args.output, args.force, args.append or resuming))
        try:
            planned, adopt = runs, []
            if previous is not None:
                runs = resume_runs(conn, previous)
            elif resuming:              # a trace without stored sweeps (older cltrace): the command line's plan
                runs, adopt = skip_done(conn, runs, names)
            ctx = SweepContext(conn=conn, output=args.output, template=template, names=names,
                               configs=previous.configs if previous is not None else configurations(params),
                               extra_tags=extra_tags, settings=settings,
                               mode=mode, order=args.order, seed=args.seed,
                               fail_fast=args.fail_fast, show_output=args.show_output, stabilise=args.stabilise,
                               quiet=args.quiet, cluster=cluster, params=params, repeat=repeat,
                               planned_runs=planned, adopt=adopt, block=block,
                               sweep_id=previous.sweep_id if previous is not None else None)
            return execute(ctx, runs, adaptive)
        finally:
            conn.close()
            lock.release()

    @staticmethod
    def _previous(args, wanted):
        """The stored sweep that --resume [N] continues, or None (a new trace, or one older than stored sweeps)."""
        if not os.path.exists(args.output):
            if wanted is not None:
                raise CltraceError(f"--resume {wanted}: {args.output} does not exist")
            return None
        conn = store_db.open_db(args.output)
        try:
            sweep_id = stored.choose(conn, args.output, wanted)
            return None if sweep_id is None else stored.load(conn, sweep_id)
        finally:
            conn.close()

    # -- checking ----------------------------------------------------------------------------------------------
    @staticmethod
    def _block(args, previous, n_configs: int, cluster, adaptive, previous_runs=()) -> int:
        """--block K (sweep/blocks.py); --resume keeps the stored sweep's K."""
        if previous is not None:
            return stored_block(args, previous)
        k = args.block if args.block is not None else 1
        room = None if adaptive is None or args.max_runs is None else args.max_runs - len(previous_runs)
        check_block(k, n_configs, len(cluster.boards) if cluster is not None else 0, room)
        return k

    @staticmethod
    def _adaptive_options(args, params, first_pass: int) -> Optional[Adaptive]:
        if not adaptive_budget(args, first_pass):
            return None
        numeric = numeric_params(params)
        if not numeric:
            raise UsageError("--adaptive compares neighbouring values of a numeric parameter, and no -p parameter "
                             "has two or more numeric values (e.g. -p channels=64:128)")
        counts = {n: len(v) for n, v in params}
        param = max(sorted(numeric), key=lambda n: counts[n])    # the one with most values; ties: by name
        try:
            module = importlib.import_module(ADAPTIVE_MODULE)
        except ImportError as e:
            raise CltraceError(f"--adaptive needs {ADAPTIVE_MODULE}, which this cltrace lacks ({e})") from None
        return Adaptive(param, args.max_runs if args.max_runs is not None else BUDGET_FACTOR * first_pass,
                        args.max_minutes, module)

    # -- planning ----------------------------------------------------------------------------------------------
    def _dry_run(self, args, runs, template, names, adaptive, previous, block=1) -> int:
        if args.resume is not None:
            if os.path.exists(args.output):
                conn = store_db.open_db(args.output)
                try:
                    runs = resume_runs(conn, previous) if previous is not None else skip_done(conn, runs, names)[0]
                finally:
                    conn.close()
            else:
                info(f"resume: 0 runs already done, {len(runs)} to go")
        if args.order == "shuffle":
            info(order_line(args.seed))
        if block > 1:       # one process per block: its command measures the block's configurations
            planned = previous.runs if previous is not None else runs
            todo = blocks_to_run(planned, runs, block, args.seed, (BOARD_PARAM,) if args.cluster else ())
            listed = [(block_command(template, b), b[0].params) for b in todo]
            further = "further blocks (up to {} runs in all)"
        else:
            listed = [(render_command(template, r.params), r.params) for r in runs]
            further = "further runs (up to {} in all)"
        for i, (argv, params) in enumerate(listed):
            on = f" (on board {params[BOARD_PARAM]})" if args.cluster else ""
            print(f"[{i + 1}/{len(listed)}] {printable(' '.join(argv))}{on}")
        if adaptive is not None:
            info(f"--adaptive: {further.format(adaptive.max_runs)} depend on the results; the first pass is listed")
        return EXIT_OK
