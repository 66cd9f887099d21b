"""cltrace sweep: run a program over a grid of parameters, each run traced and tagged."""
import os
import tempfile

from ..capture.session import trace_into
from ..capture.sweep_plan import ORDERS, check_template, parse_param, plan, render_command
from ..errors import UsageError
from ..store.queries import add_note, completed_configs, run_latency_ms
from .base import EXIT_OK, Command, info
from .outputs import open_output, parse_tags
from .run import split_command
from .shim_options import add_shim_options, requested_mode, shim_settings

STDERR_TAIL_LINES = 5


def _stderr_tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-STDERR_TAIL_LINES:])


class SweepCommand(Command):
    name = "sweep"
    help = "run a program over parameter values (e.g. channel counts), every run traced and tagged"
    description = (
        "Runs COMMAND once per configuration (the cartesian product of the -p parameters) and repetition, "
        "replacing {name} in COMMAND by each parameter's value, and records every run, tagged with its "
        "parameters, into one trace. A failing configuration is recorded and the sweep goes on; Ctrl-C "
        "stops it with every finished run kept (--resume continues it).")

    def add_arguments(self, p):
        p.add_argument("-p", "--param", action="append", metavar="NAME=VALUES", default=[],
                       help="a swept parameter: a:b (inclusive), a:b:step (descending when a>b) or a,b,c")
        p.add_argument("--repeat", type=int, default=3, metavar="N",
                       help="runs (processes) per configuration (default: 3)")
        p.add_argument("--order", choices=ORDERS, default="interleave",
                       help="interleave: one pass over all configurations per repetition (default; spreads "
                            "machine drift); sequential; shuffle: interleave in seeded random order")
        p.add_argument("--seed", type=int, default=0, help="seed for --order shuffle (default: 0)")
        p.add_argument("-o", "--output", default="sweep.db", metavar="PATH", help="trace file (default: sweep.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--append", action="store_true", help="add the runs to an existing trace file")
        p.add_argument("--resume", action="store_true",
                       help="continue a sweep: skip configurations that already have --repeat successful runs")
        p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="extra label for every run")
        p.add_argument("--fail-fast", action="store_true", help="stop at the first failing run")
        p.add_argument("--show-output", action="store_true", help="let the program's stdout through")
        p.add_argument("--dry-run", action="store_true", help="print the planned commands and exit")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        add_shim_options(p)
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
        if unused:
            info(f"warning: the command does not mention {', '.join('{' + n + '}' for n in unused)}")
        runs = plan(params, args.repeat, args.order, args.seed)
        if args.dry_run:
            for r in runs:
                print(f"[{r.index + 1}/{len(runs)}] {' '.join(render_command(template, r.params))}")
            return EXIT_OK
        settings = shim_settings(args)
        conn = open_output(args.output, args.force, args.append or args.resume)
        try:
            if args.resume:
                runs = self._skip_done(conn, runs, names)
            return self._execute(conn, runs, template, names, extra_tags, settings, args)
        finally:
            conn.close()

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

    def _execute(self, conn, runs, template, names, extra_tags, settings, args) -> int:
        from .sweep_progress import SweepProgress
        failed, interrupted, finished = [], False, 0
        with SweepProgress(len(runs), enabled=not args.quiet) as progress, \
                tempfile.TemporaryDirectory(prefix="cltrace-sweep-") as tmp:
            for r in runs:
                argv = render_command(template, r.params)
                progress.start(r.label())
                err_path = os.path.join(tmp, "stderr")
                with open(err_path, "wb") as err_file:
                    traced = trace_into(conn, argv, mode=requested_mode(args), settings=settings,
                                        tags={**extra_tags, **r.params}, sweep_index=r.index, repeat_index=r.repeat,
                                        stdout=None if args.show_output else open(os.devnull, "wb"),
                                        stderr=err_file)
                child = traced.child
                if child.status == "interrupted":
                    interrupted = True
                    break
                finished += 1
                if child.status != "ok":
                    tail = _stderr_tail(err_path)
                    with conn:
                        add_note(conn, traced.run_id, "stderr-tail", tail, child.exit_status)
                    failed.append((r, child.exit_status, tail))
                    progress.failed(r.label(), child.exit_status, tail)
                    if args.fail_fast:
                        break
                progress.done(r.label(), run_latency_ms(conn, traced.run_id))
        return self._summary(args.output, finished, len(runs), failed, interrupted)

    @staticmethod
    def _summary(path, finished, planned, failed, interrupted) -> int:
        info(f"{finished}/{planned} runs recorded in {path}"
             + (f"; {len(failed)} failed" if failed else ""))
        for r, code, tail in failed[:20]:
            info(f"  failed: {r.label()} (exit {code})" + (f": {tail}" if tail else ""))
        if interrupted:
            info("interrupted: finished runs are kept; continue with --resume")
            return 130
        return EXIT_OK if not failed else 1
