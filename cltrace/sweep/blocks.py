"""Blocked runs (`cltrace sweep --block K`): one process measures K configurations of the plan.

The process is the unit of replication here (docs/noise.md: 20-80% of the variance of a kernel's log latency
lies between processes), so one process per configuration compares configurations through that noise. A process
that measures several configurations is a *block*: inside it the process effect cancels
(cltrace/analysis/blocks.py tests configurations inside each process).

- **Blocks of the plan.** The stored plan stays the plan of `--repeat` runs per configuration (plan.py); each
  repetition's M runs, in a random order drawn from the sweep's seed (whatever --order: blocks cut in value order
  would put a stair's two sides in different processes every time), are cut into ceil(M / K) blocks of
  near-equal size (none larger than K; a block of one joins its neighbour), so a block never holds a
  configuration twice. The blocks follow from the plan, K and the seed alone (all stored): `--resume` re-forms
  them and runs, of each block, the planned runs not done yet.
- **The command.** Every {name} of the command becomes the block's values of that parameter joined by commas,
  the i-th entry of each list being configuration i (`--out-channels {channels}` -> `--out-channels 5,1,12`);
  a parameter with one value in the block stays one value. The block's configurations come in a random order
  drawn from the sweep's seed and the block (the order the program measures them in: conv_bench measures a list
  in the order given). The run is tagged with the parameters the block shares.
- **Regions.** The program must mark each configuration's launches with a cltrace region whose tags carry its
  values (conv_bench's `channels=N,method=M`): the analysis takes a sample's configuration from its region. A
  blocked run without such a region stops the sweep with a message (RegionsMissing, exit 1).
- **Records.** The run is one row of `runs` (its `sweep_index` the block's first planned run) with a `block` note
  listing the planned runs it measured (JSON list of plan positions); stored.done_indexes counts them.
"""
import json
import math
import random
from typing import Dict, List, Sequence

from ..errors import CltraceError, UsageError
from ..store.queries import add_note
from .plan import PlannedRun, _same_value, render_command

NOTE = "block"          # notes.kind of a blocked run: the plan positions it measured


class RegionsMissing(CltraceError):
    """A blocked run whose program did not mark a configuration with a tagged region (exit 1)."""


def check_block(block: int, n_configs: int, cluster: bool, adaptive: bool) -> None:
    """--block K against the plan (UsageError, exit 2)."""
    if block < 1:
        raise UsageError(f"--block {block}: a block is the number of configurations one process measures "
                         f"(at least 1; 1 is one process per configuration)")
    if block > n_configs:
        raise UsageError(f"--block {block} is larger than the plan's {n_configs} configuration"
                         f"{'' if n_configs == 1 else 's'}: a process measures each configuration at most once, "
                         f"so give --block {n_configs} or less")
    if block > 1 and cluster:
        raise UsageError("--block runs on this machine only: leave out --cluster, or --block")
    if block > 1 and adaptive:
        raise UsageError("--block and --adaptive cannot be combined yet (--adaptive re-runs single "
                         "configurations): leave out one of them")


def _sizes(n: int, k: int) -> List[int]:
    """n runs cut into ceil(n / k) blocks of near-equal size (none larger than k); a block of one joins its
    neighbour (then one block is k + 1, e.g. 5 runs, --block 2: 2 + 3; with k = 1 every block is one run)."""
    parts = max(1, math.ceil(n / k))
    sizes = [n // parts + (1 if i < n % parts else 0) for i in range(parts)]
    if k > 1 and len(sizes) > 1 and sizes[-1] == 1:
        last = sizes.pop()
        sizes[-1] += last
    return sizes


def plan_blocks(planned: Sequence[PlannedRun], block: int, seed: int = 0) -> List[List[PlannedRun]]:
    """The blocks of the whole plan: each repetition's runs in a random order drawn from the seed and the
    repetition (whatever --order: with blocks cut in value order, configurations of two blocks would never
    share a process and a step between them could not be told from the process effect), cut by _sizes;
    blocks in the order of their first planned run."""
    by_repeat: Dict[int, List[PlannedRun]] = {}
    for r in planned:
        by_repeat.setdefault(r.repeat, []).append(r)
    out = []
    for rep in sorted(by_repeat):
        runs = sorted(by_repeat[rep], key=lambda r: r.index)
        random.Random(f"{seed}:repeat {rep}").shuffle(runs)
        i = 0
        for size in _sizes(len(runs), block):
            out.append(runs[i:i + size])
            i += size
    out.sort(key=lambda b: min(r.index for r in b))
    return out


def blocks_to_run(planned: Sequence[PlannedRun], todo: Sequence[PlannedRun], block: int,
                  seed: int) -> List[List[PlannedRun]]:
    """The blocks with runs still to do (--resume: only those runs), each in its measuring order: a random
    order drawn from the sweep's seed and the block's first plan position."""
    want = {r.index for r in todo}
    out = []
    for b in plan_blocks(planned, block, seed):
        runs = sorted((r for r in b if r.index in want), key=lambda r: r.index)
        if runs:
            random.Random(f"{seed}:block {min(r.index for r in b)}").shuffle(runs)
            out.append(runs)
    return out


def block_params(runs: Sequence[PlannedRun]) -> Dict[str, str]:
    """{name} -> the value shared by the block, or the comma-joined values in the block's order."""
    out = {}
    for name in [k for k, _ in runs[0].config]:
        values = [r.params[name] for r in runs]
        out[name] = values[0] if len(set(values)) == 1 else ",".join(values)
    return out


def shared_params(runs: Sequence[PlannedRun]) -> Dict[str, str]:
    """The parameters every run of the block has the same value of (the run's tags)."""
    return {k: v for k, v in block_params(runs).items() if len({r.params[k] for r in runs}) == 1}


def block_command(template: Sequence[str], runs: Sequence[PlannedRun]) -> List[str]:
    return render_command(template, block_params(runs))


def block_label(runs: Sequence[PlannedRun], names=None) -> str:
    params = block_params(runs)
    return "block " + " ".join(f"{k}={v}" for k, v in params.items() if not names or k in names)


def missing_regions(conn, run_id: int, runs: Sequence[PlannedRun]) -> List[PlannedRun]:
    """The block's configurations that no region of the run carries in its tags (the parameters that vary in
    the block must all match; a region without a tag of one of them matches nothing)."""
    varying = [k for k in block_params(runs) if len({r.params[k] for r in runs}) > 1]
    tags = []
    for text, in conn.execute("SELECT DISTINCT tags FROM regions WHERE run_id = ?", (run_id,)):
        try:
            t = json.loads(text) if text else {}
        except ValueError:
            t = {}
        if isinstance(t, dict):
            tags.append(t)
    return [r for r in runs
            if not any(all(k in t and _same_value(r.params[k], t[k]) for k in varying) for t in tags)]


def regions_message(runs: Sequence[PlannedRun], missing: Sequence[PlannedRun], run_id: int) -> str:
    varying = [k for k in block_params(runs) if len({r.params[k] for r in runs}) > 1]
    which = ", ".join(" ".join(f"{k}={r.params[k]}" for k in varying) for r in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return (f"--block: run {run_id} measured {len(runs)} configurations in one process, but no region of it is "
            f"tagged {which}{more}: a blocked run must mark each configuration's launches with a cltrace region "
            f"tagged with its values (cltrace_region_begin(name, \"{varying[0]}=...\"), as conv_bench does), or "
            f"the analysis cannot tell its configurations apart; the sweep stops (run it without --block)")


def record_block(conn, run_id: int, runs: Sequence[PlannedRun]) -> None:
    add_note(conn, run_id, NOTE, json.dumps(sorted(r.index for r in runs)), len(runs))


def done_in_blocks(conn, sweep_id: int) -> set:
    """Plan positions measured by the sweep's ok blocked runs (their block notes)."""
    out = set()
    for text, in conn.execute("SELECT n.message FROM notes n JOIN runs r ON r.run_id = n.run_id WHERE "
                              "n.kind = ? AND r.sweep_id = ? AND r.status = 'ok'", (NOTE, sweep_id)):
        try:
            out.update(int(i) for i in json.loads(text))
        except (TypeError, ValueError):
            continue
    return out


def run_block(sweep, runs: Sequence[PlannedRun]) -> None:
    """One blocked run on this machine: LocalSweep.trace (local.py) for a block of planned runs, plus its block
    note and the check that the program marked every configuration with a tagged region."""
    from ..store.queries import run_latency_ms
    ctx = sweep.ctx
    label = block_label(runs, ctx.label_names)
    missing: list = []

    def block_notes(conn, traced):
        if traced.child.status == "ok":
            missing.extend(missing_regions(conn, traced.run_id, runs))
        if missing:         # kept as a run of the trace, but it completes no planned run
            conn.execute("UPDATE runs SET sweep_index = NULL WHERE run_id = ?", (traced.run_id,))
        else:
            record_block(conn, traced.run_id, runs)

    traced, tail = sweep.trace(block_command(ctx.template, runs), label, shared_params(runs),
                               min(r.index for r in runs), runs[0].repeat,
                               notes=block_notes)
    child = traced.child
    if child.status == "interrupted":
        return
    sweep.finished += len(runs)
    if child.status != "ok":
        sweep.failed += [(r, child.exit_status, tail) for r in runs]
        sweep.progress.failed(label, child.exit_status, tail)
        if ctx.fail_fast:
            sweep.stopped = "fail-fast"
    elif missing:
        raise RegionsMissing(regions_message(runs, missing, traced.run_id))
    latency = run_latency_ms(ctx.conn, traced.run_id)
    for r in runs:
        sweep.progress.done(ctx.label(r), latency)


def run_plan(sweep, runs: Sequence[PlannedRun]) -> None:
    """The local executor's loop (local.py): one process per planned run, or per block with --block K > 1."""
    ctx = sweep.ctx
    if (ctx.block or 1) <= 1:
        for r in runs:
            sweep.run(r)
            if sweep.stopped:
                return
        return
    for b in blocks_to_run(ctx.planned_runs or runs, runs, ctx.block, ctx.seed):
        sweep.guarded(run_block, sweep, b)
        if sweep.stopped:
            return
