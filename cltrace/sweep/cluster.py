"""`cltrace sweep --cluster/--board/--cluster-timeout`: the options, their checks, and the board as a parameter.

The board is planned like a swept parameter that the command does not mention: every configuration runs on
every --board, each run is tagged board=KIND, so --resume, --adaptive and the analysis see it as one more
parameter (a grouping one). Workers of one board kind form a pool: their runs share the tag and differ by
`runs.host` and the `cluster-worker` note, so the analysis pools them (their differences are part of the
variance between processes)."""
import importlib.util
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ..errors import CltraceError, UsageError

BOARD_PARAM = "board"
DEFAULT_TIMEOUT_S = 30.0
_KIND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EXTRA_HINT = "pip install 'cltrace[cluster]'"


def add_cluster_options(p) -> None:
    g = p.add_argument_group("sweeps across a farm of boards (Dask distributed, docs/farm.md)")
    g.add_argument("--cluster", metavar="ADDRESS",
                   help="run the sweep on a Dask cluster: the scheduler's address (tcp://HOST:8786) or its "
                        "--scheduler-file; each run is a task that needs one board (--board), the trace is "
                        "written here. Needs the cluster extra: " + EXTRA_HINT)
    g.add_argument("--board", action="append", metavar="KIND", default=[],
                   help="with --cluster: run every configuration on a board of this kind, i.e. on a worker "
                        "started with --resources board:KIND=1 (repeatable: every configuration runs on each "
                        "kind; workers of one kind share its runs). Runs are tagged board=KIND")
    g.add_argument("--cluster-tls", metavar="DIR",
                   help="with --cluster: connect with TLS, as the client of the farm whose certificates "
                        "'cltrace farm' made in DIR (ca.pem, client.pem, client-key.pem); the scheduler's address "
                        "is then tls://HOST:PORT")
    g.add_argument("--insecure-cluster", action="store_true",
                   help="with --cluster: allow a plaintext tcp:// scheduler on another machine (refused by default: "
                        "whoever reaches it can run commands on every board, and capture files cross the network "
                        "unencrypted); only on a private network you trust")
    g.add_argument("--cluster-timeout", type=float, metavar="S", default=DEFAULT_TIMEOUT_S,
                   help=f"with --cluster: seconds to wait for the scheduler and for a worker of every --board "
                        f"(default: {DEFAULT_TIMEOUT_S:g})")


@dataclass
class ClusterPlan:
    address: str
    boards: List[str]
    timeout_s: float
    params: list
    names: list
    client: object = None
    tls_dir: Optional[str] = None

    def connect(self) -> None:
        """Reach the scheduler and check that every --board has a worker (before the trace is touched)."""
        from .farm import connect
        self.client = connect(self.address, self.boards, self.timeout_s, self.tls_dir)


def cluster_plan(args, params: List[Tuple[str, List[str]]], names: List[str],
                 extra_tags: dict) -> Optional[ClusterPlan]:
    """None without --cluster; else the plan with the board as the last parameter. Raises UsageError."""
    if not args.cluster:
        if args.board:
            raise UsageError("--board chooses the boards of a --cluster: give --cluster ADDRESS too (on this "
                             "machine, label the runs with --tag board=KIND instead)")
        if args.cluster_timeout != DEFAULT_TIMEOUT_S:
            raise UsageError("--cluster-timeout is a setting of --cluster: give --cluster ADDRESS too, or leave "
                             "--cluster-timeout out")
        for flag, value in (("--cluster-tls", args.cluster_tls), ("--insecure-cluster", args.insecure_cluster)):
            if value:
                raise UsageError(f"{flag} is a setting of --cluster: give --cluster ADDRESS too, or leave {flag} out")
        return None
    from .tls import check_plaintext
    scheme = check_plaintext(args.cluster, args.insecure_cluster)   # before anything connects anywhere
    if args.cluster_tls and scheme == "tcp":
        raise UsageError(f"--cluster-tls {args.cluster_tls} is for a TLS scheduler: give its address as "
                         f"tls://HOST:PORT, not {args.cluster}")
    if scheme == "tls" and not args.cluster_tls and not _dask_tls_configured():
        raise UsageError(f"--cluster {args.cluster} is a TLS scheduler: give --cluster-tls DIR, the directory of "
                         f"certificates that 'cltrace farm' made (or configure distributed.comm.tls in Dask)")
    if not args.board:
        raise UsageError("--cluster needs at least one --board KIND: the boards to run on (workers started "
                         "with --resources board:KIND=1)")
    for kind in args.board:
        if not _KIND.match(kind):
            raise UsageError(f"--board {kind}: a board kind is letters, digits, '.', '_' and '-' "
                             f"(e.g. mali-g76), as in the worker's --resources board:KIND=1")
    if len(set(args.board)) != len(args.board):
        dup = next(b for b in args.board if args.board.count(b) > 1)
        raise UsageError(f"--board {dup} is given twice")
    if BOARD_PARAM in names:
        raise UsageError(f"-p {BOARD_PARAM} clashes with --board: with --cluster the board is planned from "
                         f"--board")
    if BOARD_PARAM in extra_tags:
        raise UsageError(f"--tag {BOARD_PARAM} clashes with --board: with --cluster every run is tagged with "
                         f"the board it ran on")
    if not args.cluster_timeout > 0:
        raise UsageError(f"--cluster-timeout must be positive, not {args.cluster_timeout:g}")
    if importlib.util.find_spec("distributed") is None:
        raise CltraceError(f"--cluster needs Dask distributed, which is not installed: {EXTRA_HINT}")
    params = list(params) + [(BOARD_PARAM, list(args.board))]
    return ClusterPlan(args.cluster, list(args.board), args.cluster_timeout, params,
                       list(names) + [BOARD_PARAM], tls_dir=args.cluster_tls)


def _dask_tls_configured() -> bool:
    """Dask's own configuration names a CA and a client certificate (distributed.comm.tls.*)."""
    try:
        import dask.config
        return bool(dask.config.get("distributed.comm.tls.ca-file", None)
                    and dask.config.get("distributed.comm.tls.client.cert", None))
    except ImportError:
        return False
