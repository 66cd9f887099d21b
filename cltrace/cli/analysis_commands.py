"""cltrace plot / export: views of a trace beyond the report (diff.py: cltrace diff)."""
import os
import sys

from ..errors import CltraceError, UsageError
from ..printable import info, printable
from ..report.export_formats import DIRECTORY_FORMATS, TABLE_FORMATS
from .base import EXIT_OK, Command, check_run, launch_samples, open_trace
from .job_options import add_job_arguments, job_context
from .outputs import check_output_file, write_error

PLOT_EXTENSIONS = (".png", ".svg", ".html")


class PlotCommand(Command):
    name = "plot"
    help = "draw the latency staircase (png, svg or html)"
    description = ("Draws median latency against the swept parameter, one panel per group (e.g. per method). "
                   "Dots: per-configuration medians, coloured by dispatch pattern; whiskers: the fastest to the "
                   "slowest process (each process counted by its median); dark bars: the level between "
                   "significant steps; dotted lines: steps (label: ratio and cause, red up, green down); stars: "
                   "best counts; red bands: hazards; dashed line: the unpruned latency; purple triangles: counts "
                   "whose launches carry an extra driver job (a non-uniform range split into uniform regions) on "
                   "the traced device or --target.")

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE")
        p.add_argument("-o", "--output", default="staircase.png", metavar="PATH",
                       help="png, svg or html file (default: staircase.png)")
        p.add_argument("--param", help="the swept parameter (default: the numeric one with most values)")
        add_job_arguments(p)

    def run(self, args) -> int:
        ext = os.path.splitext(args.output)[1].lower()
        if ext not in PLOT_EXTENSIONS:
            raise UsageError(f"cannot tell the plot format of {args.output}: use .png, .svg or .html")
        from ..analysis.staircase import analyse
        from ..report.plot import plot_staircase
        trace = open_trace(args.trace)
        check_output_file(args.output)
        jobs = job_context(args, trace)
        try:
            result = analyse(launch_samples(trace), args.param, compute_units=trace.compute_units_by_run(), jobs=jobs)
        except ValueError as e:
            raise UsageError(str(e)) from None
        if result.param is None:
            raise CltraceError(f"{args.trace} has no numeric parameter with several values to plot "
                               "(sweep one with cltrace sweep -p NAME=a:b, or tag regions)")
        try:
            plot_staircase(result, args.output)
        except OSError as e:
            raise write_error(args.output, e) from None
        print(printable(os.path.abspath(args.output)))
        return EXIT_OK


class ExportCommand(Command):
    name = "export"
    help = ("export a trace: chrome (Perfetto timeline), csv (all launches); lookup (latency lookup table; lut "
            "is an alias), nnmeter, paddleslim (pruning tools' tables), parquet (data tools)")
    description = ("chrome: Chrome trace-event JSON of every run (or --run N), one process per traced process, "
                   "named by its program, the run's tags, the run and the pid; opens in https://ui.perfetto.dev. "
                   "csv: every launch. Text is written whole; control characters are written out as \\xNN. "
                   "lookup: NetAdapt/LACP-style CSV (layer, parameters, median, 95% interval and processes, "
                   "from the per-process medians, in ms rounded to the nanosecond); lut: an alias of lookup "
                   "(the one lookup table); nnmeter: "
                   "nn-Meter-style JSON per kernel configuration (mean, std, per-process samples); paddleslim: "
                   "PaddleSlim-style TSV (key, median ms); parquet: a directory (-o DIR) of Parquet files: launches, "
                   "runs, run tags and the staircase tables. docs/exports.md has the columns.")

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE")
        p.add_argument("--format", choices=("chrome", "lut", "csv") + TABLE_FORMATS, required=True,
                       help="chrome (timeline JSON), lut (an alias of lookup), csv (every launch), lookup "
                            "(CSV), nnmeter (JSON), paddleslim (TSV) or parquet (a directory)")
        p.add_argument("-o", "--output", metavar="PATH",
                       help="file to write (default: standard output); the directory for --format parquet")
        p.add_argument("--run", type=int, metavar="N", help="only run N (default: every run)")

    def run(self, args) -> int:
        trace = open_trace(args.trace)
        check_run(trace, args.run)
        if args.format in DIRECTORY_FORMATS:        # report/exports_tables.py
            return self._directory(trace, args)
        if args.output:
            check_output_file(args.output)
        if trace.runs.empty:
            raise CltraceError(f"{args.trace} holds no runs")
        write = {"chrome": self._chrome, "csv": self._csv}.get(args.format) or self._table(args)
        if not args.output:
            write(trace, args.run, sys.stdout)
            return EXIT_OK
        try:
            with open(args.output, "w", newline="", encoding="utf-8") as out:
                write(trace, args.run, out)
        except OSError as e:
            raise write_error(args.output, e) from None
        info(f"wrote {args.output}")
        return EXIT_OK

    @staticmethod
    def _chrome(trace, run, out):
        from ..analysis.clocks import to_host_clock
        from ..analysis.values import typed_tags
        from ..report.chrome import chrome_events, write_chrome
        pick = (lambda df: df) if run is None else (lambda df: df[df["run_id"] == run] if not df.empty else df)
        rt = trace.run_tags
        per_run = {}
        for r in rt.to_dict("records") if len(rt) else []:
            per_run.setdefault(int(r["run_id"]), {})[r["key"]] = r["value"]
        ids = list(per_run)
        tags = dict(zip(ids, typed_tags([per_run[i] for i in ids])))
        launches = trace.launches_for(run) if run is not None else trace.launches
        write_chrome(out, chrome_events(to_host_clock(launches), pick(trace.regions), pick(trace.processes),
                                        pick(trace.queues), pick(trace.runs), tags))

    @staticmethod
    def _csv(trace, run, out):
        from ..report.safe_text import escape_frame
        launches = trace.launches_for(run) if run is not None else trace.launches
        escape_frame(launches).to_csv(out, index=False, lineterminator="\n")

    @staticmethod
    def _table(args):
        """lookup (or its alias lut) / nnmeter / paddleslim (report/exports_tables.py), built whole before anything
        is written."""
        def write(trace, run, out):
            import io
            text = io.StringIO()
            try:
                from ..report.exports_tables import WRITERS
                WRITERS[args.format](launch_samples(trace, run), text)
            except ValueError as e:
                raise CltraceError(f"cannot write a {args.format} table of {args.trace}: {e}") from None
            out.write(text.getvalue())
        return write

    @staticmethod
    def _directory(trace, args) -> int:
        from ..report.exports_tables import write_parquet_dir
        if not args.output:
            raise UsageError(f"--format {args.format} writes a directory of files: give it with -o DIR")
        if trace.runs.empty:
            raise CltraceError(f"{args.trace} holds no runs")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CltraceError("--format parquet needs pyarrow, which is not installed: pip install pyarrow "
                               "(or pip install 'cltrace[cluster]')") from None
        has_launches = trace.db.execute("SELECT EXISTS(SELECT 1 FROM launch_rows)").fetchone()[0]
        try:
            written = write_parquet_dir(trace, launch_samples(trace, args.run) if has_launches else None,
                                        args.output, args.run)
        except OSError as e:
            raise write_error(args.output, e) from None
        info(f"wrote {len(written)} Parquet files to {args.output}: "
             + ", ".join(os.path.basename(w) for w in written))
        return EXIT_OK
