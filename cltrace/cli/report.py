"""cltrace report: what a trace holds, per run and per kernel, then the staircase analysis."""
import math

from ..errors import UsageError
from ..report.formats import FORMATS
from .base import EXIT_OK, Command, check_run, open_trace, render
from .job_options import add_job_arguments, job_context


class ReportCommand(Command):
    name = "report"
    help = "summarise a trace: runs, per-kernel device times, latency staircase, hazards"
    description = (
        "Summarises a trace: runs, per-kernel device times, then the staircase analysis of a sweep. "
        "The unit of replication is the process: each configuration's iterations inside one process "
        "count as one value (their median), and a configuration needs at least 2 processes for any "
        "verdict. A step's confidence is 1 - p, p being how often the noise of this very sweep (its "
        "within-configuration spread between processes, permuted) produces a change that large anywhere; "
        "the chance of any false step in a report is at most 0.01. 'procs' is the number of processes "
        "behind a verdict. Dispatch changes (kernels, sizes, work-groups) are facts from the launches and "
        "are listed whether or not latency stepped there. A hazard is a count significantly slower than the "
        "unpruned (largest) one; counts measured slower without a significant step are listed as candidates. "
        "Text is fitted to $COLUMNS (or the terminal), long kernel names cut in the middle; --format json is "
        "a versioned schema with every name whole (docs/report-json.md). docs/analysis.md has the method.")

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE", help="trace file written by cltrace run/sweep")
        p.add_argument("--run", type=int, metavar="N",
                       help="only run N, with its full block (without --run the text gives each run one line, "
                            "or totals above 20 runs)")
        p.add_argument("--format", choices=FORMATS, default="text",
                       help="text (rich in a terminal, plain when piped; width: $COLUMNS, else the terminal's), "
                            "json (schema: docs/report-json.md), csv or markdown")
        p.add_argument("--no-staircase", action="store_true", help="skip the staircase analysis")
        p.add_argument("--param", help="the swept parameter (default: the numeric one with most values)")
        p.add_argument("--budget-ms", type=float, metavar="MS",
                       help="recommend the most channels whose median latency fits this budget")
        p.add_argument("--min", type=float, dest="min_value", metavar="N",
                       help="recommend the fastest count of at least N (with --budget-ms: the most within it)")
        add_job_arguments(p)

    def run(self, args) -> int:
        from ..report.trace_report import build_report
        if args.budget_ms is not None and not (math.isfinite(args.budget_ms) and args.budget_ms > 0):
            raise UsageError(f"--budget-ms must be a positive number of milliseconds, not {args.budget_ms:g}")
        if args.min_value is not None and not math.isfinite(args.min_value):
            raise UsageError(f"--min must be a finite number, not {args.min_value:g}")
        trace = open_trace(args.trace)
        check_run(trace, args.run)
        jobs = job_context(args, trace, args.run)
        try:
            doc = build_report(trace, run=args.run, staircase=not args.no_staircase, param=args.param,
                               budget_ms=args.budget_ms, min_value=args.min_value, jobs=jobs)
        except ValueError as e:          # analyse(): unknown or non-numeric --param
            raise UsageError(str(e)) from None
        render(doc, args.format)
        return EXIT_OK
