"""cltrace report: what a trace holds, per run and per kernel, then the staircase analysis."""
from ..errors import CltraceError
from ..report.render import FORMATS, render
from ..report.trace_report import build_report
from ..trace import open as open_trace
from .base import EXIT_OK, Command


class ReportCommand(Command):
    name = "report"
    help = "summarise a trace: runs, per-kernel device times, latency staircase, hazards"

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE", help="trace file written by cltrace run/sweep")
        p.add_argument("--run", type=int, metavar="N", help="only run N")
        p.add_argument("--format", choices=FORMATS, default="text",
                       help="text (rich in a terminal, plain when piped), json, csv or markdown")
        p.add_argument("--no-staircase", action="store_true", help="skip the staircase analysis")

    def run(self, args) -> int:
        trace = open_trace(args.trace)
        if args.run is not None and args.run not in set(trace.runs["run_id"].tolist()):
            raise CltraceError(f"{args.trace} has no run {args.run}")
        doc = build_report(trace, run=args.run, staircase=not args.no_staircase)
        render(doc, args.format)
        return EXIT_OK
