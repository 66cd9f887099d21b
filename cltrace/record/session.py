"""One traced program, start to finish: run it, ingest its capture files, record the run.

The capture files are deleted only once the run that holds them is committed. If that cannot happen (the
trace's disk is full, Ctrl-C or SIGTERM during the ingest, any error) they are kept, and the error says the
one command that records them later (capture/leftovers.py).
"""
import json
import os
import shlex
import socket
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence

from .._version import __version__
from ..capture import leftovers
from ..capture.ingest_guard import describe_failure, interrupts_raised
from ..capture.launcher import CaptureDirs, ChildResult, make_capture_dir, run_traced
from ..errors import CapturesKept
from ..store import db as store_db
from ..store.ingest import ingest_capture_dir
from ..store.queries import add_note


@dataclass
class TracedRun:
    run_id: int
    child: ChildResult
    stats: object              # store.ingest.IngestStats


def trace_path(conn) -> Optional[str]:
    """The file of the open trace `conn` (its main database)."""
    try:
        for _, name, path in conn.execute("PRAGMA database_list"):
            if name == "main":
                return path or None
    except Exception:  # noqa: BLE001  (only used in messages)
        return None
    return None


def run_fields(child: ChildResult, cwd: Optional[str], sweep_index=None, repeat_index=None, sweep_id=None) -> Dict:
    return dict(command=shlex.join(child.argv), argv=list(child.argv), cwd=cwd or os.getcwd(),
                host=socket.gethostname(), mode=child.mode, started_at=child.started_at, ended_at=child.ended_at,
                wall_s=child.wall_s, exit_status=child.exit_status, signal=child.signal, status=child.status,
                env=child.env, cltrace_version=__version__, sweep_index=sweep_index, repeat_index=repeat_index,
                sweep_id=sweep_id)


def record_run(conn, fields: Dict, tags: Optional[Dict[str, str]], capture_dir: str,
               emulation: Optional[dict] = None, after=None):
    """Insert the run and ingest its capture files in one transaction; (run_id, stats). after(run_id): more
    rows for the run (a sweep's notes), in that same transaction: the run is committed with them or not at
    all."""
    with conn:
        run_id = store_db.insert_run(conn, **fields)
        if tags:
            store_db.set_run_tags(conn, run_id, tags)
        if emulation:
            add_note(conn, run_id, "emulation", json.dumps(emulation, sort_keys=True))
        stats = ingest_capture_dir(conn, run_id, capture_dir)
        if after:
            after(run_id)
    return run_id, stats


def trace_into(conn, argv: Sequence[str], mode: str = "auto", settings: Optional[Mapping[str, str]] = None,
               tags: Optional[Dict[str, str]] = None, env: Optional[Mapping[str, str]] = None,
               cwd: Optional[str] = None, sweep_index: Optional[int] = None,
               repeat_index: Optional[int] = None, stdout=None, stderr=None,
               sweep_id: Optional[int] = None, captures: Optional[CaptureDirs] = None,
               notes=None) -> TracedRun:
    """Run argv under the shim and add it as one run to the open trace `conn`. captures: a sweep's capture
    directory, emptied again once the run is recorded; default a new directory, removed then. notes(run_id,
    child): the caller's notes for the run, written in the run's own transaction (a sweep's provenance,
    stabilisers...)."""
    output = trace_path(conn)
    capture_dir = captures.take() if captures else make_capture_dir()
    marker = {"output": output, "command": shlex.join(list(argv)), "argv": list(argv), "cwd": cwd or os.getcwd(),
              "host": socket.gethostname(), "tags": dict(tags or {}), "sweep_index": sweep_index,
              "repeat_index": repeat_index, "sweep_id": sweep_id, "status": "interrupted"}
    leftovers.write_marker(capture_dir, marker)
    try:
        child = run_traced(argv, mode=mode, settings=settings, env=env, cwd=cwd, stdout=stdout, stderr=stderr,
                           capture_dir=capture_dir)
    except BaseException:
        captures.clear(capture_dir) if captures else leftovers.remove(capture_dir)     # nothing ran
        raise
    fields = run_fields(child, cwd, sweep_index, repeat_index, sweep_id)
    run_id, stats = record_keeping_captures(
        conn, fields, tags, capture_dir, output, child.emulation,
        # the marker as update_marker would make it, without reading back what was just written
        before=lambda: leftovers.write_marker(capture_dir, {**marker, **{k: v for k, v in fields.items()
                                                                         if k != "cltrace_version"}}),
        after=None if notes is None else lambda run_id: notes(run_id, child))
    captures.clear(capture_dir) if captures else child.cleanup()
    return TracedRun(run_id, child, stats)


def record_keeping_captures(conn, fields: Dict, tags, capture_dir: str, output: Optional[str],
                            emulation: Optional[dict] = None, before=None, after=None):
    """record_run, where a failure or an interrupt keeps the capture files and raises CapturesKept with the one
    command that records them later (exit 130 after an interrupt). before(): run first, under the same guard;
    after(run_id): more rows for the run, in the run's own transaction. Returns (run_id, stats)."""
    recover = leftovers.recover_command(capture_dir, output)
    try:
        with interrupts_raised():
            if before:
                before()
            run_id, stats = record_run(conn, fields, tags, capture_dir, emulation, after)
    except KeyboardInterrupt:
        raise CapturesKept(f"interrupted while recording the run into {output}", capture_dir, recover,
                           exit_code=130) from None
    except Exception as e:
        reason = describe_failure(e, output)
        if reason is None:
            raise
        raise CapturesKept(reason, capture_dir, recover) from None
    return run_id, stats
