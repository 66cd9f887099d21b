"""`cltrace farm`: a Dask scheduler for `cltrace sweep --cluster` that requires TLS, with its certificates.

Makes (once) a CA and scheduler, worker and client certificates in --dir (cluster/tls.py), prints the command
for each board's worker and the client's sweep, then runs `dask scheduler` on tls://--host:--port with those
certificates until it is stopped (Ctrl-C). Its dashboard is off unless --dashboard-address is given. The
default host is 127.0.0.1: a farm on one machine; give the address the boards reach for a real farm.
"""
import os
import shlex
import signal
import subprocess
import sys

from ..errors import CltraceError, UsageError
from ..printable import info
from .base import EXIT_OK, Command

DEFAULT_DIR = "cltrace-farm"


class FarmCommand(Command):
    name = "farm"
    help = "start a TLS-only Dask scheduler for sweeps across boards (makes its certificates)"
    description = ("Start a Dask scheduler for 'cltrace sweep --cluster' that accepts only TLS connections from "
                   "holders of this farm's certificates: makes a CA and scheduler, worker and client "
                   "certificates in --dir (once), prints the worker and sweep commands, then runs the scheduler "
                   "until Ctrl-C. docs/farm.md.")

    def add_arguments(self, p) -> None:
        p.add_argument("--dir", default=DEFAULT_DIR, metavar="DIR",
                       help=f"where the certificates are (made when missing; keys readable by you only; "
                            f"default: ./{DEFAULT_DIR}). Copy ca.pem, worker.pem and worker-key.pem to each board")
        p.add_argument("--host", default="127.0.0.1",
                       help="the address the scheduler listens on (default: 127.0.0.1, this machine only); a "
                            "real farm needs the address its boards reach, e.g. one on a private network")
        p.add_argument("--port", type=int, default=8786, help="the scheduler's port (default: 8786; 0: any free one)")
        p.add_argument("--dashboard-address", metavar="ADDR",
                       help="serve Dask's dashboard (plain HTTP, no authentication) on ADDR, e.g. 127.0.0.1:8787 "
                            "(default: no dashboard)")
        p.add_argument("--scheduler-file", metavar="FILE",
                       help="also write the scheduler's address to FILE (JSON), which --cluster accepts")
        p.add_argument("--certs-only", action="store_true",
                       help="make the certificates and print the commands, but start no scheduler")

    def run(self, args) -> int:
        from ..sweep import tls
        if not 0 <= args.port < 65536:
            raise UsageError(f"--port {args.port}: a port is 0..65535")
        d = os.path.abspath(args.dir)
        if tls.have_certificates(d):
            info(f"farm: certificates in {d} (kept)")
        else:
            if os.path.exists(tls.cert_path(d, tls.CA)):
                raise CltraceError(f"{d} holds a partial set of certificates: remove it, or give another --dir")
            hosts = ["127.0.0.1", "localhost"] + ([args.host] if args.host not in ("127.0.0.1", "localhost") else [])
            tls.make_certificates(d, hosts)
            info(f"farm: made a CA and scheduler, worker and client certificates in {d}")
        host = args.host if ":" not in args.host else f"[{args.host}]"
        if args.certs_only:
            self._commands(args, d, f"tls://{host}:{args.port}")
            return EXIT_OK
        sched_file = os.path.abspath(args.scheduler_file or os.path.join(d, "scheduler.json"))
        if os.path.exists(sched_file):
            os.unlink(sched_file)
        # the dashboard off, and the scheduler's HTTP server (health, metrics) on loopback unless asked for:
        # Dask's default serves it on every interface even with --no-dashboard
        argv = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", args.host, "--port",
                str(args.port), "--protocol", "tls", "--tls-ca-file", tls.cert_path(d, tls.CA),
                "--tls-cert", tls.cert_path(d, tls.SCHEDULER), "--tls-key", tls.key_path(d, tls.SCHEDULER),
                "--scheduler-file", sched_file]
        argv += ["--dashboard-address", args.dashboard_address] if args.dashboard_address else \
            ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
        env = dict(os.environ, DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION="True")
        try:
            proc = subprocess.Popen(argv, env=env)
        except OSError as e:
            raise CltraceError(f"cannot start the Dask scheduler ({e}): pip install 'cltrace[cluster]'") from None
        old = signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
        try:
            address = self._wait_address(proc, sched_file)
            if address:
                self._commands(args, d, address)
            while True:
                try:
                    return proc.wait()
                except KeyboardInterrupt:        # Ctrl-C reached the scheduler too (same process group)
                    proc.send_signal(signal.SIGINT)
        finally:
            signal.signal(signal.SIGTERM, old)

    @staticmethod
    def _wait_address(proc, path, timeout_s=60.0):
        """The scheduler's address from its scheduler file, once written; None if it ended first."""
        import json
        import time
        deadline = time.monotonic() + timeout_s
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with open(path) as f:
                    return json.load(f)["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        return None

    @staticmethod
    def _commands(args, d, address):
        from ..sweep import tls
        worker = ["dask", "worker", address, "--tls-ca-file", "ca.pem", "--tls-cert", "worker.pem", "--tls-key",
                  "worker-key.pem", "--nthreads", "1", "--resources", "board:KIND=1", "--name", "KIND-1"]
        sweep = ["cltrace", "sweep", "--cluster", address, "--cluster-tls", d, "--board", "KIND", "..."]
        print(f"scheduler: {address} (TLS; only holders of a certificate signed by {tls.cert_path(d, tls.CA)} can "
              f"connect); dashboard: {args.dashboard_address or 'off'}")
        if not tls.is_loopback(args.host):
            print(f"  it listens on {args.host}: keep that on a network of your own; the certificates keep others "
                  f"out, and the CA key {tls.key_path(d, tls.CA)} must stay on this machine")
        print(f"on each board, with ca.pem, worker.pem and worker-key.pem of {d} in its directory:")
        print("  " + " ".join(shlex.quote(a) for a in worker))
        print("the sweep, here:")
        print("  " + " ".join(a if a == "..." else shlex.quote(a) for a in sweep))
        sys.stdout.flush()
