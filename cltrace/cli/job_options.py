"""--target and --what-if-local: declared once for report, plot and diff, turned into one JobContext."""
from ..errors import UsageError

TARGET_HELP = ("project the dispatch facts onto another device: its policy for non-uniform work-groups and its "
               "cores give each configuration's jobs, work-groups, rounds and remainder share, and the plot marks "
               "the counts that carry extra jobs there. Targets: {names}. Default: the devices the trace ran on, "
               "judged from their recorded facts (docs/analysis.md, Jobs)")
WHAT_IF_HELP = ("recompute every dispatch fact as if the library had asked for local size L for kernels whose "
                "name matches GLOB (fnmatch; repeatable, first match wins), e.g. "
                "'gemm_mm_floating_point_f32_bifrost=4' (ACL 19.02's hint); latencies stay as measured and every "
                "output built from it says 'what-if'")


def add_job_arguments(p) -> None:
    from ..analysis.targets import TARGETS
    p.add_argument("--target", metavar="NAME", choices=sorted(TARGETS),
                   help=TARGET_HELP.format(names=", ".join(TARGETS)))
    p.add_argument("--what-if-local", action="append", metavar="GLOB=L[xL[xL]]", dest="what_if_local",
                   help=WHAT_IF_HELP)


def job_context(args, trace, run=None):
    """The JobContext of these arguments over ``trace`` (a --what-if-local glob that matches no kernel of the
    trace is a usage error: a typo would otherwise change nothing and still say 'what-if')."""
    from ..analysis.dispatch_jobs import job_context as make
    from ..analysis.targets import run_policies, target
    from ..analysis.whatif import parse_what_if
    try:
        what_if = parse_what_if(getattr(args, "what_if_local", None))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if what_if is not None:
        kernels = sorted(set(trace.kernels["name"].dropna().astype(str)))
        for glob, names in what_if.matched(kernels).items():
            if not names:
                shown = ", ".join(kernels[:8]) + (f", ... ({len(kernels) - 8} more)" if len(kernels) > 8 else "")
                raise UsageError(f"--what-if-local {glob!r} matches no kernel in {trace.path} (its kernels: "
                                 f"{shown or 'none'})")
    name = getattr(args, "target", None)
    if name is not None:
        return make(target(name), what_if)
    return make(None, what_if, run_policies(trace.devices, trace.kernel_build_options(run)),
                trace.compute_units_by_run())
