"""cltrace diff: two configurations' dispatch lists side by side."""
import os

from ..errors import CltraceError, UsageError
from ..report.formats import FORMATS
from .base import EXIT_OK, Command, open_trace, render
from .job_options import add_job_arguments, job_context

SELECTOR_HELP = (
    "A SELECTOR is KEY=VALUE[,KEY=VALUE...] over the run tags: the names given to cltrace sweep -p or cltrace "
    "run --tag (e.g. channels=92,method=gemm). Numbers compare as numbers (92 matches 92.0). A selector must "
    "pick the runs of exactly one configuration: when the runs it matches differ in another tag, cltrace lists "
    "those configurations and asks for the missing KEY=VALUE.")


def parse_selector(text: str) -> dict:
    out = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise UsageError(f"a selector is KEY=VALUE[,KEY=VALUE], got '{text}'")
        out[k.strip()] = v.strip()
    return out


def _label(sel: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sel.items()) or "all runs"


def one_configuration(params, run_ids, sel: dict, path: str) -> None:
    """Refuse a selector whose runs span several configurations (they differ in a tag it does not name)."""
    from ..analysis.dispatch_diff import configurations_of
    configs = configurations_of(params, run_ids)
    if len(configs) <= 1:
        return
    full = [({**sel, **c}, n) for c, n in configs]
    shown = "; ".join(f"{_label(c)} ({n} run{'s' if n != 1 else ''})" for c, n in full[:10])
    more = f"; ... ({len(full) - 10} more)" if len(full) > 10 else ""
    raise UsageError(f"{_label(sel)} matches {len(full)} configurations in {path}: {shown}{more}: add KEY=VALUE "
                     f"to pick one, e.g. {_label(full[0][0])}")


def _agreed(by_run: dict, run_ids) -> dict:
    """{"*": the value these runs agree on} (None where they differ): one side of a diff is one configuration."""
    vals = {by_run.get(r) for r in run_ids}
    return {"*": next(iter(vals)) if len(vals) == 1 else None}


class DiffCommand(Command):
    name = "diff"
    help = "two configurations' dispatch lists side by side (what an extra dispatch or split looks like)"
    description = ("Compares the kernels dispatched by two configurations: `cltrace diff l16.db channels=92 "
                   "channels=93` (two selections in one trace) or `cltrace diff a.db b.db [SEL_A SEL_B]`. "
                   "change: '+' only in B, '-' only in A, '~' same kernel with other sizes, '-/+' another kernel "
                   "in its place. jobs: the driver jobs each launch becomes on the device (or --target) when its "
                   "global size is not a multiple of its local size; rem: the share of its work-items left to "
                   "the remainder jobs. " + SELECTOR_HELP)

    def add_arguments(self, p):
        p.add_argument("args", nargs="+", metavar="TRACE_OR_SELECTOR",
                       help="TRACE SEL_A SEL_B, or TRACE_A TRACE_B [SEL_A SEL_B] (SELECTOR: KEY=VALUE[,KEY=VALUE])")
        p.add_argument("--format", choices=FORMATS, default="text",
                       help="text (a table, fitted to the terminal), json (the same rows as records), csv or "
                            "markdown (default: text)")
        add_job_arguments(p)

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
        from ..analysis.dispatch_diff import dispatch_list, match_runs, side_by_side, with_jobs
        from ..report.document import Document, Section
        sides = self._sides(args.args)
        lists, fields = [], {}
        for name, (trace, sel) in zip("AB", sides):
            try:
                run_ids = match_runs(trace.params, sel)
            except KeyError as e:
                tags = ", ".join(map(str, trace.params.columns)) or "none"
                raise CltraceError(f"{trace.path} has no tag {e.args[0]!r} (its tags: {tags})") from None
            label = _label(sel)
            if not run_ids:
                raise CltraceError(f"no run in {trace.path} matches {label}")
            if sel:                      # TRACE_A TRACE_B without selectors: all runs of each, as they are
                one_configuration(trace.params, run_ids, sel, trace.path)
            ls = trace.launches[trace.launches["run_id"].isin(run_ids)]
            table, meta = dispatch_list(ls)
            if table.empty:
                raise CltraceError(f"the runs matching {label} in {trace.path} have no kernel launches")
            ctx = job_context(args, trace).resolved(lambda by_run: _agreed(by_run, run_ids))
            table = with_jobs(table, ctx.policy_of(None), ctx.cores_of(None), ctx.what_if)
            lists.append(table)
            total = table["median_ms"].sum()
            fields[name] = (f"{label} ({os.path.basename(trace.path)}): {len(table)} dispatches, "
                            f"{total:.3f} ms, {meta['samples']} samples")
        doc = Document(title="cltrace diff" + (f" ({ctx.what_if.label})" if ctx.what_if is not None else ""))
        doc.add(Section("Sides", "fields", fields=fields, key="sides"))
        doc.add(Section("Dispatches", "table", table=side_by_side(lists[0], lists[1]), key="dispatches", keys=2))
        render(doc, args.format)
        return EXIT_OK
