"""cltrace ingest: turn capture files written elsewhere (a board, a CLTRACE_DIR set by hand) into a trace."""
import os
import shlex
import socket

from .. import __version__
from ..errors import CltraceError
from ..store import db as store_db
from ..store.ingest import ingest_capture_dir
from .base import EXIT_OK, Command, info
from .outputs import open_output, parse_tags


class IngestCommand(Command):
    name = "ingest"
    help = "add capture files (*.clt from a CLTRACE_DIR) to a trace as one run"
    description = ("For programs traced without 'cltrace run' (set CLTRACE_DIR, CLTRACE_SHIM and OPENCL_LAYERS "
                   "or LD_PRELOAD yourself, e.g. on a board), then copy the capture files here and ingest them. "
                   "A truncated or damaged file is read up to its last valid record, with a warning.")

    def add_arguments(self, p):
        p.add_argument("captures", nargs="+", metavar="DIR_OR_FILE", help="capture directory or .clt files")
        p.add_argument("-o", "--output", default="trace.db", metavar="PATH", help="trace file (default: trace.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--append", action="store_true", help="add the run to an existing trace file")
        p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="label the run (repeatable)")

    def run(self, args) -> int:
        files = []
        for c in args.captures:
            if os.path.isdir(c):
                files += sorted(os.path.join(c, n) for n in os.listdir(c) if n.endswith(".clt"))
            elif os.path.isfile(c):
                files.append(c)
            else:
                raise CltraceError(f"{c}: no such capture file or directory")
        if not files:
            raise CltraceError(f"no capture files (*.clt) in {', '.join(args.captures)}")
        tags = parse_tags(args.tag)
        conn = open_output(args.output, args.force, args.append)
        try:
            with conn:
                run_id = store_db.insert_run(conn, command=shlex.join(["cltrace", "ingest", *args.captures]),
                                             argv=[], cwd=os.getcwd(), host=socket.gethostname(),
                                             status="ok", cltrace_version=__version__)
                if tags:
                    store_db.set_run_tags(conn, run_id, tags)
                stats = ingest_capture_dir(conn, run_id, files)
        finally:
            conn.close()
        for w in stats.warnings:
            info(f"warning: {w}")
        info(stats.summary_line(args.output))
        return EXIT_OK
