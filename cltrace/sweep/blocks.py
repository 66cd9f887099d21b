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
- **On a farm** (`--cluster`, farm.py): a block is one task on one board; plan_blocks parts each repetition's
  shuffled runs by board before cutting (one board: the blocks of the same sweep here). block_recorder and
  block_finished are shared by both executors.
- **Adaptive rounds** (`--adaptive`, engine.py): round_blocks plans new processes of the undecided
  configurations and their neighbours (never one configuration alone); their `block` notes hold positions past
  the plan and a `block-configs` note names their configurations; block_units counts units per configuration.
"""
import json
import math
import random
from typing import Dict, List, Optional, Sequence

from ..errors import CltraceError, UsageError
from ..store.queries import add_note
from .plan import PlannedRun, _same_value, render_command

NOTE = "block"          # notes.kind of a blocked run: the plan positions it measured
NOTE_CONFIGS = "block-configs"     # and of an adaptive round's blocked run: the configurations it measured


class RegionsMissing(CltraceError):
    """A blocked run whose program did not mark a configuration with a tagged region (exit 1)."""


def check_block(block: int, n_configs: int, boards: int = 0, adaptive_room: Optional[int] = None) -> None:
    """--block K against the plan (UsageError, exit 2). n_configs: the plan's configurations; boards: the number
    of --board kinds with --cluster (a block runs on one board, so K is checked against one board's share);
    adaptive_room: with --adaptive, the runs its budget leaves beyond the first pass (None: no budget given)."""
    if block < 1:
        raise UsageError(f"--block {block}: a block is the number of configurations one process measures "
                         f"(at least 1; 1 is one process per configuration)")
    per = n_configs // boards if boards else n_configs
    if block > per:
        where = " per board (a block runs on one board)" if boards else ""
        raise UsageError(f"--block {block} is larger than the plan's {per} configuration"
                         f"{'' if per == 1 else 's'}{where}: a process measures each configuration at most once, "
                         f"so give --block {per} or less")
    if block > 1 and adaptive_room == 1:
        raise UsageError(f"--max-runs leaves room for 1 re-run after the first pass, and a blocked adaptive "
                         f"round measures at least 2 configurations in each process (--block {block}): give "
                         f"--max-runs 2 or more above the first pass, or leave out --block")


def _sizes(n: int, k: int) -> List[int]:
    """n runs cut into ceil(n / k) blocks of near-equal size (none larger than k); a block of one joins its
    neighbour (then one block is k + 1, e.g. 5 runs, --block 2: 2 + 3; with k = 1 every block is one run)."""
    parts = max(1, math.ceil(n / k))
    sizes = [n // parts + (1 if i < n % parts else 0) for i in range(parts)]
    if k > 1 and len(sizes) > 1 and sizes[-1] == 1:
        last = sizes.pop()
        sizes[-1] += last
    return sizes


def plan_blocks(planned: Sequence[PlannedRun], block: int, seed: int = 0,
                split: Sequence[str] = ()) -> List[List[PlannedRun]]:
    """The blocks of the whole plan: each repetition's runs in a random order drawn from the seed and the
    repetition (whatever --order: with blocks cut in value order, configurations of two blocks would never
    share a process and a step between them could not be told from the process effect), cut by _sizes;
    blocks in the order of their first planned run. `split`: parameters every block keeps one value of (the
    board of --cluster: a process runs on one board); the shuffled runs are parted by them, order kept, and each
    part is cut alone, so a plan with one board has the blocks of the same plan on this machine."""
    by_repeat: Dict[int, List[PlannedRun]] = {}
    for r in planned:
        by_repeat.setdefault(r.repeat, []).append(r)
    out = []
    for rep in sorted(by_repeat):
        runs = sorted(by_repeat[rep], key=lambda r: r.index)
        random.Random(f"{seed}:repeat {rep}").shuffle(runs)
        parts: Dict[tuple, List[PlannedRun]] = {}
        for r in runs:
            parts.setdefault(tuple(r.params.get(n) for n in split), []).append(r)
        for part in parts.values():
            i = 0
            for size in _sizes(len(part), block):
                out.append(part[i:i + size])
                i += size
    out.sort(key=lambda b: min(r.index for r in b))
    return out


def blocks_to_run(planned: Sequence[PlannedRun], todo: Sequence[PlannedRun], block: int,
                  seed: int, split: Sequence[str] = ()) -> List[List[PlannedRun]]:
    """The blocks with runs still to do (--resume: only those runs), each in its measuring order: a random
    order drawn from the sweep's seed and the block's first plan position."""
    want = {r.index for r in todo}
    out = []
    for b in plan_blocks(planned, block, seed, split):
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


def _varying(runs: Sequence[PlannedRun], keys=None) -> List[str]:
    """The parameters that vary in the block and name its configurations in region tags (`keys`: those the
    program tags, e.g. a network's channels, whose distance follows from it; None: every varying one)."""
    return [k for k in block_params(runs) if len({r.params[k] for r in runs}) > 1 and (keys is None or k in keys)]


def missing_regions(conn, run_id: int, runs: Sequence[PlannedRun], keys=None) -> List[PlannedRun]:
    """The block's configurations that no region of the run carries in its tags (the parameters that vary in
    the block, of `keys`, must all match; a region without a tag of one of them matches nothing)."""
    varying = _varying(runs, keys)
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


def regions_message(runs: Sequence[PlannedRun], missing: Sequence[PlannedRun], run_id: int, keys=None) -> str:
    varying = _varying(runs, keys)
    which = ", ".join(" ".join(f"{k}={r.params[k]}" for k in varying) for r in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return (f"--block: run {run_id} measured {len(runs)} configurations in one process, but no region of it is "
            f"tagged {which}{more}: a blocked run must mark each configuration's launches with a cltrace region "
            f"tagged with its values (cltrace_region_begin(name, \"{varying[0]}=...\"), as conv_bench does), or "
            f"the analysis cannot tell its configurations apart; the sweep stops (run it without --block)")


def record_block(conn, run_id: int, runs: Sequence[PlannedRun], round_no: int = 0) -> None:
    """The `block` note (the plan positions the run measured); a run of an adaptive round also gets a
    `block-configs` note, its configurations in the same order (its positions lie past the stored plan)."""
    runs = sorted(runs, key=lambda r: r.index)
    add_note(conn, run_id, NOTE, json.dumps([r.index for r in runs]), len(runs))
    if round_no:
        add_note(conn, run_id, NOTE_CONFIGS, json.dumps([dict(r.config) for r in runs]), len(runs))


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


def block_units(conn, sweep_id: int, planned: Sequence[PlannedRun], names: Sequence[str]) -> Dict[tuple, list]:
    """(run_id, status) of every blocked run of the sweep that measured a configuration, in run order, per
    configuration (the values of `names`): the planned positions of its `block` note, or an adaptive round's
    `block-configs`. What runs_by_config gives a sweep of one process per configuration."""
    by_index = {r.index: tuple(r.params.get(n) for n in names) for r in planned}
    rows = conn.execute("SELECT r.run_id, r.status, n.kind, n.message FROM notes n JOIN runs r ON r.run_id = n.run_id "
                        "WHERE n.kind IN (?, ?) AND r.sweep_id = ? ORDER BY r.run_id, n.kind",
                        (NOTE, NOTE_CONFIGS, sweep_id)).fetchall()
    per_run: Dict[int, dict] = {}
    for run_id, status, kind, text in rows:
        try:
            per_run.setdefault(run_id, {"status": status})[kind] = json.loads(text)
        except ValueError:
            continue
    out: Dict[tuple, list] = {}
    for run_id, got in per_run.items():
        if NOTE_CONFIGS in got:
            keys = [tuple(str(c.get(n)) for n in names) for c in got[NOTE_CONFIGS] if isinstance(c, dict)]
        else:
            keys = [by_index[i] for i in got.get(NOTE, []) if isinstance(i, int) and i in by_index]
        for key in keys:
            out.setdefault(key, []).append((run_id, got["status"]))
    return out


def next_index(conn, sweep_id: int, start: int) -> int:
    """The first plan position past `start` (engine: past the plan and every run's sweep_index) and past every
    position a blocked run of the sweep measured (an adaptive round's block holds positions above its own)."""
    top = start - 1
    for text, in conn.execute("SELECT n.message FROM notes n JOIN runs r ON r.run_id = n.run_id WHERE n.kind = ? "
                              "AND r.sweep_id = ?", (NOTE, sweep_id)):
        try:
            top = max([top] + [int(i) for i in json.loads(text)])
        except (TypeError, ValueError):
            continue
    return top + 1


def _neighbours(configs: Sequence[tuple], param: str) -> Dict[tuple, List[tuple]]:
    """configuration -> the configurations next to it along `param` (one below, one above) with every other
    parameter the same."""
    groups: Dict[tuple, List[tuple]] = {}
    for c in configs:
        groups.setdefault(tuple((k, v) for k, v in c if k != param), []).append(c)
    out = {}
    for members in groups.values():
        line = sorted(members, key=lambda c: _number(dict(c)[param]))
        for i, c in enumerate(line):
            out[c] = line[max(0, i - 1):i] + line[i + 1:i + 2]
    return out


def _number(text: str):
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def round_blocks(wanted: Sequence[tuple], configs: Sequence[tuple], param: str, block: int, room: int,
                 measured: Dict[tuple, int], first_index: int, seed: int, round_no: int) -> List[List[PlannedRun]]:
    """The blocks of one adaptive round of a blocked sweep (`--block K --adaptive`): new processes measuring the
    configurations the analysis left undecided (`wanted`, its priority order) and their neighbours along
    `param` (so each process holds a contrast across the open verdict's edge, and the within-process design of
    the analysis, analysis/blocks.py, stays whole: a process never measures a configuration alone).

    The wanted ones come first, then their neighbours, up to `room` (the budget left, in configurations
    measured); per group (every other parameter the same: the board of --cluster too, so a block runs on one
    board) the chosen configurations are shuffled (seeded by the sweep's seed, the round and the group) and cut
    into blocks of at most K as the plan is (_sizes); a group left with one configuration is dropped. Each block
    is in its measuring order; plan positions from first_index on, repetition = measured[c] (its count so far).
    Empty when the budget leaves no block of two."""
    near = _neighbours(configs, param)
    chosen: List[tuple] = []
    for c in list(wanted) + [n for c in wanted for n in near.get(c, [])]:
        if c not in chosen:
            chosen.append(c)
    chosen = chosen[:max(0, room)]
    order = {c: i for i, c in enumerate(configs)}
    groups: Dict[tuple, List[tuple]] = {}
    for c in sorted(chosen, key=lambda c: order.get(c, len(order))):
        groups.setdefault(tuple((k, v) for k, v in c if k != param), []).append(c)
    out: List[List[PlannedRun]] = []
    index = first_index
    for key, members in groups.items():
        if len(members) < 2:
            continue
        random.Random(f"{seed}:round {round_no}:{json.dumps(key)}").shuffle(members)
        i = 0
        for size in _sizes(len(members), block):
            b = []
            for c in members[i:i + size]:
                b.append(PlannedRun(index, c, measured.get(c, 0)))
                index += 1
            out.append(b)
            i += size
    return out


def block_recorder(runs: Sequence[PlannedRun], round_no: int = 0, keys=None):
    """-> (notes(conn, run_id, status), missing): what both executors add to a blocked run in the transaction
    that records it: the check that the program marked every configuration with a tagged region (`missing`
    collects those it did not; `keys`: SweepContext.block_keys), then the block note, or, with a configuration
    missing, no planned position."""
    missing: List[PlannedRun] = []

    def notes(conn, run_id: int, status: str) -> None:
        if status == "ok":
            missing.extend(missing_regions(conn, run_id, runs, keys))
        if missing:         # kept as a run of the trace, but it completes no planned run
            conn.execute("UPDATE runs SET sweep_index = NULL WHERE run_id = ?", (run_id,))
        else:
            record_block(conn, run_id, runs, round_no)
    return notes, missing


def block_finished(sweep, runs: Sequence[PlannedRun], label: str, status: str, exit_status, tail: str,
                   run_id: int, missing: Sequence[PlannedRun], keys=None) -> None:
    """The running state after a recorded blocked run (not an interrupted one), on either executor: its runs
    finished or failed, progress, --fail-fast; RegionsMissing when its program marked no region of some."""
    from ..store.queries import run_latency_ms
    ctx = sweep.ctx
    sweep.finished += len(runs)
    if status != "ok":
        sweep.failed += [(r, exit_status, tail) for r in runs]
        sweep.progress.failed(label, exit_status, tail)
        if ctx.fail_fast:
            sweep.stopped = "fail-fast"
    elif missing:
        raise RegionsMissing(regions_message(runs, missing, run_id, keys))
    latency = run_latency_ms(ctx.conn, run_id)
    for r in runs:
        sweep.progress.done(ctx.label(r), latency)


def run_block(sweep, runs: Sequence[PlannedRun], round_no: int = 0) -> None:
    """One blocked run on this machine: LocalSweep.trace (local.py) for a block of planned runs, plus its block
    note and the check that the program marked every configuration with a tagged region."""
    ctx = sweep.ctx
    label = block_label(runs, ctx.label_names)
    notes, missing = block_recorder(runs, round_no, ctx.block_keys)
    first = min(runs, key=lambda r: r.index)     # the run's sweep_index and repeat_index
    traced, tail = sweep.trace(block_command(ctx.template, runs), label, shared_params(runs),
                               first.index, first.repeat, round_no,
                               notes=lambda conn, traced: notes(conn, traced.run_id, traced.child.status))
    child = traced.child
    if child.status == "interrupted":
        return
    block_finished(sweep, runs, label, child.status, child.exit_status, tail, traced.run_id, missing, ctx.block_keys)


def split_of(ctx) -> tuple:
    """The parameters a block keeps one value of: SweepContext.block_by (a network's layer: a process measures
    distances of one layer), and the board on a farm (a process runs on one board)."""
    board = (ctx.names[-1],) if ctx.cluster is not None else ()     # with --cluster the board is last
    return tuple(ctx.block_by or ()) + board


def plan_to_run(ctx, runs: Sequence[PlannedRun]) -> List[List[PlannedRun]]:
    """The blocks of this invocation's planned runs (--resume: the stored plan's blocks, the runs they lack)."""
    return blocks_to_run(ctx.planned_runs or runs, runs, ctx.block, ctx.seed, split_of(ctx))


def run_plan(sweep, runs: Sequence[PlannedRun]) -> None:
    """The local executor's loop (local.py): one process per planned run, or per block with --block K > 1."""
    ctx = sweep.ctx
    if (ctx.block or 1) <= 1:
        for r in runs:
            sweep.run(r)
            if sweep.stopped:
                return
        return
    sweep.run_blocks(plan_to_run(ctx, runs))


def run_blocks_here(sweep, blocks: Sequence[Sequence[PlannedRun]], round_no: int = 0) -> None:
    """LocalSweep.run_blocks: one block after another, until the sweep stops."""
    for b in blocks:
        sweep.guarded(run_block, sweep, b, round_no)
        if sweep.stopped:
            return
