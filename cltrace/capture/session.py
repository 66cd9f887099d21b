"""One traced program, start to finish: run it, ingest its capture files, record the run."""
import os
import shlex
import socket
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence

from .. import __version__
from ..store import db as store_db
from ..store.ingest import ingest_capture_dir
from .launcher import ChildResult, run_traced


@dataclass
class TracedRun:
    run_id: int
    child: ChildResult
    stats: object              # store.ingest.IngestStats


def trace_into(conn, argv: Sequence[str], mode: str = "auto", settings: Optional[Mapping[str, str]] = None,
               tags: Optional[Dict[str, str]] = None, env: Optional[Mapping[str, str]] = None,
               cwd: Optional[str] = None, sweep_index: Optional[int] = None,
               repeat_index: Optional[int] = None, stdout=None, stderr=None) -> TracedRun:
    """Run argv under the shim and add it as one run to the open trace `conn`."""
    child = run_traced(argv, mode=mode, settings=settings, env=env, cwd=cwd, stdout=stdout, stderr=stderr)
    try:
        with conn:
            run_id = store_db.insert_run(
                conn, command=shlex.join(child.argv), argv=list(child.argv), cwd=cwd or os.getcwd(),
                host=socket.gethostname(), mode=child.mode, started_at=child.started_at,
                ended_at=child.ended_at, wall_s=child.wall_s, exit_status=child.exit_status,
                signal=child.signal, status=child.status, env=child.env, cltrace_version=__version__,
                sweep_index=sweep_index, repeat_index=repeat_index)
            if tags:
                store_db.set_run_tags(conn, run_id, tags)
            stats = ingest_capture_dir(conn, run_id, child.capture_dir)
    finally:
        child.cleanup()
    return TracedRun(run_id, child, stats)
