"""What every figure of `cltrace report` means: the one line printed under each table or list (text, markdown).

All captions live here so they stay consistent with each other: a table of medians and a list of segment levels
side by side must say which is which (a stair's level is not its configurations' medians)."""

RUNS = ("one line per run (--run N prints one run in full): status and exit = how the program ended; tags = the "
        "run's tags (sweep parameters); procs = processes traced; launches = kernel launches (untimed: without "
        "device times); device_ms = sum of the launches' device durations (END - START); wall_s = the "
        "program's wall-clock time")

KERNELS = ("one row per {run}kernel and global/local size (local 'driver': the app passed NULL and the driver "
           "chose); calls = launches; timed = those with device times; total/mean/median/min/max_ms = their device "
           "durations (END - START); share = total_ms / the device time of {scope}")

DISPATCH = ("dispatch = the kernels one sample ran, in order: g = global size, l = local size ('driver': the "
            "app passed NULL), wg = work-groups (? = unknown: the driver chose the local size); 'k\u00d7 (...)' "
            "and '\u00d7n' = repeated")

CONFIGS = ("one row per configuration; median_ms = median of the per-process medians (each process counts once); "
           "procs = processes; procs_min/max_ms = the fastest and slowest process; within = spread of the "
           "iterations inside one process")

STEPS = ("from -> to = the neighbouring {param} values the step lies between; before_ms and after_ms = the "
         "segment levels either side (geometric mean of the per-process medians over all "
         "configurations between two steps, so not a median of the table above); ratio = after/before level; "
         "confidence = 1 - p, p being how often this sweep's own noise (its spread between processes, permuted) "
         "gives a change this large anywhere: >=0.999 is the most the permutations can show; procs = processes "
         "before/after the step (the unit of replication); within = the range the step may lie in")

LEVELS = ("the level of the stair (segment) the count lies in: the geometric mean of the per-process medians of "
          "every configuration between two significant steps, so it differs from that count's own median_ms in "
          "'Latency by {param}'; counts without a verdict keep their own median")

EDGES = "best count = the most {param} at a stair's latency (the next count steps up); ms = " + LEVELS

PARETO = "N (ms) = a {param} count and " + LEVELS

HAZARDS = ("a hazard's ms = its stair level as in 'Best counts' and Nx = that level / the unpruned count's "
           "level; a candidate's speedup = median_ms of the unpruned count / its own, as in 'Speedup vs pruning'")

UNDECIDED = ("xR = after/before ratio of the levels either side; p = its p-value adjusted for the groups tested, "
             "not yet small enough for a step")

SPEEDUPS = ("removed = {param} taken away from the unpruned (largest) count; median_ms = median of the per-process "
            "medians; speedup = the unpruned count's median_ms / this count's: below 1 is slower (descriptive: the "
            "Hazards section says what is significant)")

RECOMMENDATION = ("ms = stair level as in 'Best counts'; Nx = the unpruned count's level / this one's")

DISPATCH_CHANGES = ("facts from the traced launches, whether or not latency stepped there; [step] = a significant "
                    "step lies at the same pair")


def kernels(per_run: bool, runs: int) -> str:
    if runs <= 1:
        return KERNELS.format(run="", scope="the run")
    return KERNELS.format(run="run (run_id) and " if per_run else "", scope="its run" if per_run else "all runs")


def configs(with_dispatch: bool) -> str:
    return CONFIGS + ("; " + DISPATCH if with_dispatch else "")
JOBS = ("one row per launch of a kernel whose global size is not a multiple of its local size somewhere in the "
        "sweep; jobs = uniform regions the driver runs for this one launch (bulk + remainders; 'refused': the "
        "device rejects it); work_groups = over all its jobs; rounds = ceil(work-groups / cores) per job, summed; "
        "remainder = share of the work-items outside the bulk region. Computed from the traced sizes, not measured")
JOB_LINES = ("how the device (or --target) runs a launch whose global size is not a multiple of its local size, "
             "and the extra jobs that makes per configuration (docs/analysis.md, 4c); computed, not measured")

