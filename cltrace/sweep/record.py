"""Client side: one run that came back from a board, recorded into the trace like a local sweep's run.

The capture bytes are written to a private capture directory here and ingested by record/session.record_run
(the code path of `cltrace run` and of a local sweep). If the run cannot be recorded, the directory is kept
with its marker and the error names the `cltrace ingest` command that records it later, as for a local run."""
import os
import zlib

from ..capture import leftovers
from ..capture.launcher import make_capture_dir
from ..record.session import record_keeping_captures, trace_path
from ..store.queries import add_note


def record_result(conn, result: dict, tags: dict, round_no: int = 0, sweep_id=None, notes=None) -> int:
    """Insert the run, its capture files and its notes in one transaction; returns the run_id. notes(conn,
    run_id): the caller's own notes, in that transaction (a blocked run's: blocks.block_recorder)."""
    output = trace_path(conn)
    fields = dict(result["fields"], sweep_id=sweep_id)
    capture_dir = make_capture_dir()
    for name, data in result["files"].items():
        with open(os.path.join(capture_dir, os.path.basename(name)), "wb") as f:
            f.write(zlib.decompress(data) if result.get("compression") == "zlib" else data)
    leftovers.write_marker(capture_dir, {**{k: v for k, v in fields.items() if k != "cltrace_version"},
                                         "output": output, "tags": dict(tags)})
    run_id, _ = record_keeping_captures(conn, fields, tags, capture_dir, output, result.get("emulation"),
                                        after=lambda rid: _notes(conn, rid, result, round_no, notes))
    leftovers.remove(capture_dir)
    return run_id


def _notes(conn, run_id: int, result: dict, round_no: int, notes=None) -> None:
    """The notes a local sweep adds to each run (local.py LocalSweep.run), plus the worker that ran it."""
    add_note(conn, run_id, "provenance", result["provenance"])
    for text, applied in result["stabilisers"]:
        add_note(conn, run_id, "stabiliser", text, int(applied))
    if round_no:
        add_note(conn, run_id, "adaptive-round", "re-run by --adaptive: a neighbour verdict was undecided", round_no)
    if result["status"] not in ("ok", "interrupted"):
        add_note(conn, run_id, "stderr-tail", result["stderr_tail"], result["exit_status"])
    add_note(conn, run_id, "cluster-worker", f"{result['worker']} on {result['host']}")
    if notes is not None:
        notes(conn, run_id)
