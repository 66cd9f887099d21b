"""cltrace plot / diff / export: views of a trace beyond the report."""
import os
import sys

from ..errors import CltraceError, UsageError
from ..report.formats import FORMATS
from .base import EXIT_OK, Command, info


def open_trace(path):
    from ..trace import open as _open
    return _open(path)


def render(doc, fmt):
    from ..report.render import render as _render
    _render(doc, fmt)


def _samples(trace):
    if not trace.db.execute("SELECT EXISTS(SELECT 1 FROM launch_rows)").fetchone()[0]:
        raise CltraceError(f"{trace.path} holds no kernel launches")
    return trace.samples()


class PlotCommand(Command):
    name = "plot"
    help = "draw the latency staircase (png, svg or html)"

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE")
        p.add_argument("-o", "--output", default="staircase.png", metavar="PATH",
                       help="png, svg or html file (default: staircase.png)")
        p.add_argument("--param", help="the swept parameter (default: the numeric one with most values)")

    def run(self, args) -> int:
        ext = os.path.splitext(args.output)[1].lower()
        if ext not in (".png", ".svg", ".html"):
            raise UsageError(f"cannot tell the plot format of {args.output}: use .png, .svg or .html")
        from ..analysis.staircase import analyse
        from ..report.plot import plot_staircase
        trace = open_trace(args.trace)
        try:
            result = analyse(_samples(trace), args.param, compute_units=trace.compute_units_by_run())
        except ValueError as e:
            raise UsageError(str(e)) from None
        if result.param is None:
            raise CltraceError(f"{args.trace} has no numeric parameter with several values to plot "
                               "(sweep one with cltrace sweep -p NAME=a:b, or tag regions)")
        plot_staircase(result, args.output)
        print(os.path.abspath(args.output))
        return EXIT_OK


def parse_selector(text: str) -> dict:
    out = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        if not sep or not k:
            raise UsageError(f"a selector is KEY=VALUE[,KEY=VALUE], got '{text}'")
        out[k.strip()] = v.strip()
    return out


class DiffCommand(Command):
    name = "diff"
    help = "two configurations' dispatch lists side by side (what an extra dispatch or split looks like)"
    description = ("Compares the kernels dispatched by two configurations: `cltrace diff l16.db channels=92 "
                   "channels=93` (two selections in one trace) or `cltrace diff a.db b.db [SEL_A SEL_B]`. "
                   "change: '+' only in B, '-' only in A, '~' same kernel with other sizes.")

    def add_arguments(self, p):
        p.add_argument("args", nargs="+", metavar="TRACE_OR_SELECTOR")
        p.add_argument("--format", choices=FORMATS, default="text")

    def _sides(self, items):
        traces = [x for x in items if os.path.exists(x) or x.endswith(".db")]
        sels = [x for x in items if x not in traces]
        if len(traces) == 1 and len(sels) == 2:
            t = open_trace(traces[0])
            return [(t, parse_selector(sels[0])), (t, parse_selector(sels[1]))]
        if len(traces) == 2 and len(sels) in (0, 2):
            ts = [open_trace(x) for x in traces]
            ss = [parse_selector(s) for s in sels] if sels else [{}, {}]
            return list(zip(ts, ss))
        raise UsageError("give TRACE SEL_A SEL_B, or TRACE_A TRACE_B [SEL_A SEL_B]")

    def run(self, args) -> int:
        from ..analysis.dispatch_diff import dispatch_list, match_runs, side_by_side
        from ..report.document import Document, Section
        sides = self._sides(args.args)
        lists, fields = [], {}
        for name, (trace, sel) in zip("AB", sides):
            try:
                run_ids = match_runs(trace.params, sel)
            except KeyError as e:
                raise CltraceError(f"{trace.path} has no tag {e.args[0]!r}") from None
            label = ",".join(f"{k}={v}" for k, v in sel.items()) or "all runs"
            if not run_ids:
                raise CltraceError(f"no run in {trace.path} matches {label}")
            ls = trace.launches[trace.launches["run_id"].isin(run_ids)]
            table, meta = dispatch_list(ls)
            if table.empty:
                raise CltraceError(f"the runs matching {label} in {trace.path} have no kernel launches")
            lists.append(table)
            total = table["median_ms"].sum()
            fields[name] = (f"{label} ({os.path.basename(trace.path)}): {len(table)} dispatches, "
                            f"{total:.3f} ms, {meta['samples']} samples")
        doc = Document(title="cltrace diff")
        doc.add(Section("Sides", "fields", fields=fields, key="sides"))
        doc.add(Section("Dispatches", "table", table=side_by_side(lists[0], lists[1]), key="dispatches"))
        render(doc, args.format)
        return EXIT_OK


class ExportCommand(Command):
    name = "export"
    help = "export a trace: chrome (Perfetto timeline), lut (latency lookup table), csv (all launches)"

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE")
        p.add_argument("--format", choices=("chrome", "lut", "csv"), required=True)
        p.add_argument("-o", "--output", metavar="PATH", help="file to write (default: standard output)")
        p.add_argument("--run", type=int, metavar="N", help="chrome: the run to export (default: the first)")

    def run(self, args) -> int:
        trace = open_trace(args.trace)
        out = open(args.output, "w", newline="") if args.output else sys.stdout
        try:
            if args.format == "chrome":
                from ..report.chrome import chrome_events, write_chrome
                runs = trace.runs["run_id"].tolist()
                if not runs:
                    raise CltraceError(f"{args.trace} holds no runs")
                run = args.run if args.run is not None else runs[0]
                if run not in runs:
                    raise CltraceError(f"{args.trace} has no run {run}")
                pick = lambda df: df[df["run_id"] == run] if not df.empty else df
                from ..analysis.clocks import to_host_clock
                write_chrome(out, chrome_events(to_host_clock(pick(trace.launches)), pick(trace.regions),
                                                pick(trace.processes), pick(trace.queues)))
            elif args.format == "lut":
                from ..analysis.lut import latency_lut
                latency_lut(_samples(trace)).to_csv(out, index=False, lineterminator="\n")
            else:
                trace.launches.to_csv(out, index=False, lineterminator="\n")
        finally:
            if args.output:
                out.close()
        if args.output:
            info(f"wrote {args.output}")
        return EXIT_OK
