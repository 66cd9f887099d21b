"""The run engine of a sweep: one context object for everything a sweep runs with, --resume's skipping,
--adaptive's rounds and the closing summary, shared by the executors (this machine: local.py; a Dask farm:
farm.py), which executor.py chooses between.

cli/sweep.py parses and checks the arguments, plans the runs (plan.py) and opens the trace; everything from
there on is here. An executor is a running state with the attributes the adaptive rounds and the summary use:
ctx, progress, planned, stopped, finished, failed and run(planned_run, round_no)."""
import contextlib
import os
import random
import shlex
import signal
import threading
import time
from dataclasses import dataclass
from typing import List, Optional

from ..analysis.sweep_labels import sweep_label
from ..errors import UsageError
from ..printable import info, printable
from ..store.queries import completed_configs, last_note_value, next_sweep_index, runs_by_config
from . import blocks, stored
from .plan import PlannedRun, match_configs

STDERR_TAIL_LINES = 5
ADAPTIVE_MODULE = "cltrace.analysis.adaptive"
BUDGET_FACTOR = 3                 # --adaptive's default --max-runs: this many times the first pass
FINISHED = ("ok", "failed", "not-found", "not-executable")     # runs that count against --max-runs
EXIT_OK = 0


@dataclass
class SweepContext:
    """What every run of one sweep invocation shares: the open trace, the command template, the plan's
    parameters and configurations, and the options that change how a run is made."""
    conn: object                   # the open, locked trace
    output: str                    # its path (messages, and the analysis of --adaptive)
    template: list                 # COMMAND with {name} placeholders
    names: list                    # the parameters, in -p order (with --cluster: board last)
    configs: list                  # every configuration, in plan order
    extra_tags: dict               # --tag
    settings: dict                 # CLTRACE_* for the shim
    mode: str = "auto"             # --mode
    order: str = "shuffle"
    seed: int = 0
    fail_fast: bool = False
    show_output: bool = False
    stabilise: bool = True
    quiet: bool = False
    cluster: object = None         # cluster.ClusterPlan (--cluster), else None: this machine
    sweep_id: Optional[int] = None  # its row of the sweeps table (stored.py); None: a new sweep
    params: list = None            # the -p parameters [(name, [values])] (with --cluster: board last)
    repeat: int = 1
    planned_runs: list = None      # the whole plan (the runs of this invocation may be fewer: --resume)
    adopt: list = None             # [(run_id, planned run)]: runs of an older trace that --resume counts as done
    label_names: list = None       # the parameters progress lines name (None: all; a network: layer, channels)
    block: int = 1                 # --block K: configurations one process measures (sweep/blocks.py)
    block_by: tuple = ()           # parameters every block keeps one value of (a network's layer; blocks.py)
    block_keys: list = None        # the parameters a region's tags name a block's configuration by (None:
                                   # every one that varies in the block; a network's: channels)

    def label(self, r: PlannedRun) -> str:
        if not self.label_names:
            return r.label()
        return " ".join(f"{k}={v}" for k, v in r.config if k in self.label_names)


@dataclass
class Adaptive:
    """--adaptive: the parameter whose neighbours are compared and the budgets."""
    param: str
    max_runs: int
    max_minutes: Optional[float]
    module: object
    by: Optional[list] = None      # the grouping of the analysis (None: every other varying parameter)


def stderr_tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-STDERR_TAIL_LINES:])


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM and SIGHUP end the sweep like Ctrl-C: through `finally`, so system settings are set back.
    (While a program runs, run_traced passes SIGTERM on to it and the sweep stops after it.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(_signum, _frame):
        raise KeyboardInterrupt

    # only where the signal would kill cltrace: `nohup cltrace sweep` keeps ignoring SIGHUP
    old = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGHUP)
           if signal.getsignal(sig) == signal.SIG_DFL}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def plural(n: int, word: str, many: str = "") -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def order_line(seed: int) -> str:
    """What a shuffled sweep says about its order, so that it can be run again."""
    return f"order: shuffled, seed {seed} (--seed {seed} runs the same order)"


def skip_done(conn, runs, names):
    """--resume on a trace without stored sweeps (older cltrace): skip a planned run for each successful run of
    its configuration that belongs to no stored sweep. (runs to do, [(run_id, planned run)] counted as done)."""
    done = completed_configs(conn, names)
    keep, adopt = [], []
    for r in runs:
        key = tuple(v for _, v in r.config)
        if done[key]:
            adopt.append((done[key].pop(0), r))
        else:
            keep.append(r)
    info(f"resume: {len(runs) - len(keep)} runs already done, {len(keep)} to go")
    return keep, adopt


def resume_runs(conn, previous) -> List[PlannedRun]:
    """The planned runs of a stored sweep that have no successful run yet, in plan order."""
    done = stored.done_indexes(conn, previous.sweep_id)
    keep = [r for r in previous.runs if r.index not in done]
    n = len(stored.sweep_ids(conn))
    which = f"sweep {previous.sweep_id} of {n} ({sweep_label(previous.params, previous.repeat)}): " if n > 1 else ""
    info(f"resume: {which}{len(previous.runs) - len(keep)} runs already done, {len(keep)} to go")
    return keep


def _params_text(params) -> str:
    text = " ".join(f"{n}={','.join(v)}" for n, v in params)
    return text if len(text) <= 80 else text[:77] + "..."


def same_sweep(previous, template, params, repeat, tags, cluster) -> None:
    """--resume with -p, --repeat, --tag or COMMAND given: they must plan the stored sweep (UsageError)."""
    sid = previous.sweep_id
    if bool(previous.cluster) != (cluster is not None):
        where = "on a cluster (--cluster ADDRESS --board ...)" if previous.cluster else "on this machine"
        raise UsageError(f"--resume: sweep {sid} ran {where}: resume it the same way")
    differ = []
    if list(template) != list(previous.template):
        differ.append(f"the command {shlex.join(template)} instead of {shlex.join(previous.template)}")
    if [(n, list(v)) for n, v in params] != [(n, list(v)) for n, v in previous.params]:
        differ.append(f"-p {_params_text(params)} instead of {_params_text(previous.params)}")
    if repeat != previous.repeat:
        differ.append(f"--repeat {repeat} instead of {previous.repeat}")
    if dict(tags) != dict(previous.tags):
        differ.append(f"--tag {_params_text([(k, [v]) for k, v in tags.items()]) or '(none)'} instead of "
                      f"{_params_text([(k, [v]) for k, v in previous.tags.items()]) or '(none)'}")
    if differ:
        raise UsageError(f"--resume completes the stored plan of sweep {sid} "
                         f"({sweep_label(previous.params, previous.repeat)}) exactly, and this command line plans "
                         f"another sweep: {'; '.join(differ)}. Leave out -p, --repeat, --tag and the command to "
                         f"resume sweep {sid} as stored, or start a new sweep with --append")


def _undecided(sweep, adaptive: Adaptive):
    """Analyse this sweep's runs as committed so far: (configurations to re-run, summary phrase)."""
    from ..analysis.staircase import analyse
    from ..trace import open as open_trace
    ctx = sweep.ctx
    by_config = runs_by_config(ctx.conn, ctx.names)
    mine = {rid for c in ctx.configs for rid, _ in by_config.get(tuple(v for _, v in c), [])}
    if (ctx.block or 1) > 1:        # a blocked run is tagged with its block's shared values only
        mine |= {rid for rid, in ctx.conn.execute("SELECT run_id FROM runs WHERE sweep_id = ?", (ctx.sweep_id,))}
    with open_trace(ctx.output) as t:
        samples = t.samples()
    if "run_id" in samples.columns:
        samples = samples[samples["run_id"].isin(mine)]
    result = analyse(samples, adaptive.param, by=adaptive.by)
    return list(adaptive.module.configs_to_rerun(result)), str(adaptive.module.undecided_summary(result))


def adaptive_rounds(sweep, adaptive: Adaptive, t0: float) -> None:
    ctx = sweep.ctx
    conn = ctx.conn
    order = {c: i for i, c in enumerate(ctx.configs)}
    first_round = last_note_value(conn, "adaptive-round") + 1
    next_index = next_sweep_index(conn, ctx.sweep_id)
    blocked = (ctx.block or 1) > 1      # --block K: each round is new processes of K configurations (blocks.py)
    if blocked:
        next_index = blocks.next_index(conn, ctx.sweep_id, next_index)
    added: List[int] = []
    unknown_said = False
    reason = left = ""
    while not sweep.stopped:
        left = ""
        try:
            wanted, summary = _undecided(sweep, adaptive)
        except ValueError as e:          # analyse(): e.g. no usable sample at all
            reason = f"the analysis could not judge the runs ({e})"
            break
        if not wanted:
            reason = "every verdict is decided"
            break
        left = summary
        todo, unknown = match_configs(wanted, ctx.configs)
        if unknown and not unknown_said:
            sweep.progress.log(f"adaptive: {plural(unknown, 'configuration')} the analysis asked for "
                               f"{'is' if unknown == 1 else 'are'} not in this sweep's plan (left out)")
            unknown_said = True
        if blocked:                     # (run_id, status) per configuration: of the blocks that measured it
            by_config = blocks.block_units(conn, ctx.sweep_id, ctx.planned_runs or [], ctx.names)
        else:
            by_config = runs_by_config(conn, ctx.names)
        history = {c: by_config.get(tuple(v for _, v in c), []) for c in ctx.configs}
        failing = [c for c in todo if history[c] and history[c][-1][1] in FINISHED[1:]]
        todo = [c for c in todo if c not in failing]
        if not todo:
            reason = ("the configurations still undecided failed on their last run (fix them, then --resume)"
                      if failing else "the configurations still undecided are not in this sweep's plan")
            break
        total = sum(1 for runs in history.values() for _, st in runs if st in FINISHED)
        room = adaptive.max_runs - total
        if room <= 0:
            reason = f"the run budget is spent ({adaptive.max_runs} runs, --max-runs)"
            break
        if adaptive.max_minutes is not None and time.monotonic() - t0 >= adaptive.max_minutes * 60:
            reason = f"the time budget is spent ({adaptive.max_minutes:g} min, --max-minutes)"
            break
        round_no = first_round + len(added)
        if blocked:
            done, reason = _blocked_round(sweep, adaptive, t0, todo, room, history, next_index, round_no, summary)
            next_index += done
            if done:
                added.append(done)
            if reason:
                break
            continue
        todo = sorted(todo[:room], key=order.get)     # the analysis' priority picks, plan order runs
        if ctx.order == "shuffle":
            random.Random(ctx.seed + round_no).shuffle(todo)
        sweep.progress.log(f"adaptive round {round_no}: {summary}; re-running "
                           f"{plural(len(todo), 'configuration')}")
        sweep.progress.grow(len(todo), f"round {round_no}")
        sweep.planned += len(todo)
        done = 0
        for c in todo:
            if adaptive.max_minutes is not None and time.monotonic() - t0 >= adaptive.max_minutes * 60:
                reason = f"the time budget is spent ({adaptive.max_minutes:g} min, --max-minutes)"
                break
            sweep.run(PlannedRun(next_index, c, len(history[c])), round_no)
            next_index += 1
            done += 1
            if sweep.stopped:
                break
        sweep.planned -= len(todo) - done
        if done:
            added.append(done)
        if reason:
            break
    if sweep.stopped:
        reason = "interrupted" if sweep.stopped == "interrupted" else "a run failed (--fail-fast)"
        left = ""
    rounds = f"{plural(len(added), 'round')} ({', '.join(f'+{n}' for n in added)} runs)"
    text = f"stopped after {rounds}: {reason}" if added else f"no re-runs: {reason}"
    sweep.progress.log(f"adaptive: {text}" + (f"; left: {left}" if left else ""))


def _blocked_round(sweep, adaptive: Adaptive, t0: float, todo, room: int, history, next_index: int, round_no: int,
                   summary: str):
    """One adaptive round of a blocked sweep: blocks.round_blocks' processes (the undecided configurations and
    their neighbours, in random order), one after another. -> (configurations measured, reason to stop or "")."""
    ctx = sweep.ctx
    todo_blocks = blocks.round_blocks(todo, ctx.configs, adaptive.param, ctx.block, room,
                                      {c: len(h) for c, h in history.items()}, next_index, ctx.seed, round_no)
    if not todo_blocks:
        return 0, (f"the run budget is spent ({adaptive.max_runs} runs, --max-runs: {plural(room, 'run')} left, "
                   f"too few for a process of 2 configurations)")
    n = sum(len(b) for b in todo_blocks)
    sweep.progress.log(f"adaptive round {round_no}: {summary}; re-running {plural(n, 'configuration')} in "
                       f"{plural(len(todo_blocks), 'process', 'processes')} (--block {ctx.block})")
    sweep.progress.grow(n, f"round {round_no}")
    sweep.planned += n
    done, reason = 0, ""
    for b in todo_blocks:
        if adaptive.max_minutes is not None and time.monotonic() - t0 >= adaptive.max_minutes * 60:
            reason = f"the time budget is spent ({adaptive.max_minutes:g} min, --max-minutes)"
            break
        sweep.run_blocks([b], round_no)
        done += len(b)
        if sweep.stopped:
            break
    sweep.planned -= n - done
    return done, reason


def summary(path, finished, planned, failed, interrupted, label=None) -> int:
    info(f"{finished}/{planned} runs recorded in {path}"
         + (f"; {len(failed)} failed" if failed else ""))
    for r, code, tail in failed[:20]:
        info(f"  failed: {printable(label(r) if label else r.label())} (exit {code})"
             + (f": {printable(tail)}" if tail else ""))
    if interrupted:
        info("interrupted: finished runs are kept; continue with --resume")
        return 130
    return EXIT_OK if not failed else 1
