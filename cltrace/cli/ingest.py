"""cltrace ingest: turn capture files written elsewhere (a board, a CLTRACE_DIR set by hand) into a trace."""
import os
import shlex
import socket
import stat

from .._version import __version__
from ..capture import leftovers
from ..errors import CltraceError
from ..store import db as store_db
from ..store.ingest import ingest_capture_dir, ingest_layer_notes
from ..store.writer_lock import open_locked
from ..printable import info
from .base import EXIT_OK, Command
from .outputs import open_output, parse_tags

# what a capture directory's marker may restore of the run it was (capture/leftovers.py)
_RUN_FIELDS = ("command", "argv", "cwd", "host", "mode", "started_at", "ended_at", "wall_s", "exit_status",
               "signal", "status", "env", "sweep_index", "repeat_index", "sweep_id")


def _capture_files(captures):
    """The .clt files named by the arguments, each once (by device and inode), in order; only regular files
    (a FIFO or a device would hang or never end)."""
    files, seen = [], set()
    for c in captures:
        if os.path.isdir(c):
            names = sorted(os.path.join(c, n) for n in os.listdir(c) if n.endswith(".clt"))
            cands = [n for n in names if os.path.isfile(n)]
        else:
            try:
                st = os.stat(c)
            except OSError:
                raise CltraceError(f"{c}: no such capture file or directory") from None
            if not stat.S_ISREG(st.st_mode):
                raise CltraceError(f"{c} is not a regular file: a capture file is a regular *.clt file")
            cands = [c]
        for f in cands:
            st = os.stat(f)
            key = (st.st_dev, st.st_ino)
            if key in seen:
                info(f"warning: {f} was given more than once: ingested once")
                continue
            seen.add(key)
            files.append(f)
    return files


def _recovered_run(captures):
    """(run fields, tags, directory) from the marker of a capture directory `cltrace run` left behind."""
    if len(captures) != 1 or not os.path.isdir(captures[0]):
        return None, None, None
    data = leftovers.read_marker(captures[0])
    if not data:
        return None, None, None
    fields = {k: data[k] for k in _RUN_FIELDS if data.get(k) is not None}
    fields.setdefault("status", "interrupted")
    fields.setdefault("command", shlex.join(data.get("argv") or []))
    tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
    return fields, {str(k): str(v) for k, v in tags.items()}, captures[0]


class IngestCommand(Command):
    name = "ingest"
    help = "add capture files (*.clt from a CLTRACE_DIR) to a trace as one run"
    description = ("For programs traced without 'cltrace run' (set CLTRACE_DIR, CLTRACE_SHIM and OPENCL_LAYERS "
                   "or LD_PRELOAD yourself, e.g. on a board), then copy the capture files here and ingest them. "
                   "A truncated or damaged file is read up to its last valid record, with a warning. A capture "
                   "directory that 'cltrace run' left behind (interrupted, or the trace could not be written) "
                   "is recorded as the run it was.")

    def add_arguments(self, p):
        p.add_argument("captures", nargs="+", metavar="DIR_OR_FILE", help="capture directory or .clt files")
        p.add_argument("-o", "--output", default="trace.db", metavar="PATH", help="trace file (default: trace.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--append", action="store_true", help="add the run to an existing trace file")
        p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="label the run (repeatable)")

    def run(self, args) -> int:
        files = _capture_files(args.captures)
        if not files:
            raise CltraceError(f"no capture files (*.clt) in {', '.join(args.captures)}")
        tags = parse_tags(args.tag)
        recovered, old_tags, recovered_dir = _recovered_run(args.captures)
        for line in leftovers.notice_lines():
            if recovered_dir is None or os.path.abspath(recovered_dir) not in line:
                info(line)
        if recovered:
            fields = dict(recovered, cltrace_version=__version__)
            tags = {**old_tags, **tags}
        else:
            fields = dict(command=shlex.join(["cltrace", "ingest", *args.captures]), argv=[], cwd=os.getcwd(),
                          host=socket.gethostname(), status="ok", cltrace_version=__version__)
        conn, lock = open_locked(args.output, lambda: open_output(args.output, args.force, args.append))
        try:
            with conn:
                run_id = store_db.insert_run(conn, **fields)
                if tags:
                    store_db.set_run_tags(conn, run_id, tags)
                stats = ingest_capture_dir(conn, run_id, files)
                for d in args.captures:        # what layers below cltrace left there (capture/layer_notes.py)
                    if os.path.isdir(d):
                        ingest_layer_notes(conn, run_id, d, stats)
        finally:
            conn.close()
            lock.release()
        for w in stats.warnings:
            info(f"warning: {w}")
        info(stats.summary_line(args.output))
        if recovered_dir:
            leftovers.forget(recovered_dir)
            info(f"recorded the run of {recovered_dir}; the directory can be deleted: "
                 f"rm -r {shlex.quote(recovered_dir)}")
        return EXIT_OK
