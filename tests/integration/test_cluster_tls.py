"""A farm that is safe by default (docs/farm.md): `cltrace farm` makes a CA and certificates and starts a
scheduler that accepts only TLS from holders of them; a worker without them cannot join; a sweep through the
TLS farm equals the local sweep and prints its shuffle seed; plaintext tcp:// to another machine is refused
before anything connects. Every address here is on 127.0.0.1."""
import json
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed")
pytest.importorskip("cryptography")

from test_cluster_sweep import CONV, Farm, _runs

PY = sys.executable
CLTRACE = [PY, "-m", "cltrace.cli.main"]
DASK_WORKER = [PY, "-m", "distributed.cli.dask_worker"]


class TlsFarm(Farm):
    """`cltrace farm`'s TLS scheduler and workers with or without its certificates (Farm's processes, logs and
    stop)."""

    def __init__(self, root):
        self.root = str(root)
        self.certs = os.path.join(self.root, "certs")
        self.file = os.path.join(self.root, "scheduler.json")
        self.procs = {}
        self.scheduler = self._spawn("farm", CLTRACE + ["farm", "--dir", self.certs, "--port", "0",
                                                        "--scheduler-file", self.file])
        deadline = time.monotonic() + 60
        while True:
            try:
                with open(self.file) as f:
                    self.address = json.load(f)["address"]
                break
            except (OSError, ValueError, KeyError):
                assert time.monotonic() < deadline and self.scheduler.poll() is None, self.log("farm")
                time.sleep(0.1)
        deadline = time.monotonic() + 30
        while "the sweep, here:" not in self.log("farm"):
            assert time.monotonic() < deadline, self.log("farm")
            time.sleep(0.1)

    def worker(self, name, board, certs=None, address=None):
        tls = [] if certs is None else ["--tls-ca-file", os.path.join(certs, "ca.pem"), "--tls-cert",
                                        os.path.join(certs, "worker.pem"), "--tls-key",
                                        os.path.join(certs, "worker-key.pem")]
        return self._spawn(name, DASK_WORKER + [address or self.address] + tls + [
            "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address",
            "127.0.0.1:0", "--name", name, "--resources", f"board:{board}=1", "--death-timeout", "20"])

    def client(self):
        from distributed import Client

        from cltrace.sweep.tls import security
        return Client(self.address, security=security(self.certs), timeout="30s", set_as_default=False)


@pytest.fixture(scope="module")
def tls_farm(tmp_path_factory):
    f = TlsFarm(tmp_path_factory.mktemp("tlsfarm"))
    try:
        f.worker("board-a", "a", f.certs)
        f.worker("board-b", "b", f.certs)
        f.wait_for({"board-a", "board-b"})
        yield f
    finally:
        f.stop()


def test_the_farm_prints_its_tls_address_and_the_commands(tls_farm):
    out = tls_farm.log("farm")
    assert tls_farm.address.startswith("tls://127.0.0.1:")
    assert (f"scheduler: {tls_farm.address} (TLS; only holders of a certificate signed by "
            f"{tls_farm.certs}/ca.pem can connect); dashboard: off") in out
    assert (f"  dask worker {tls_farm.address} --tls-ca-file ca.pem --tls-cert worker.pem --tls-key worker-key.pem "
            f"--nthreads 1 --resources board:KIND=1 --name KIND-1") in out
    assert f"  cltrace sweep --cluster {tls_farm.address} --cluster-tls {tls_farm.certs} --board KIND ..." in out
    for name in ("ca-key.pem", "worker-key.pem", "client-key.pem", "scheduler-key.pem"):
        assert os.stat(os.path.join(tls_farm.certs, name)).st_mode & 0o077 == 0
    # nothing of the scheduler listens beyond loopback (its HTTP server included: the dashboard is off)
    pid = tls_farm.scheduler.pid
    ss = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    ours = [line for line in ss.splitlines() if f"pid={pid}," in line or any(
        f"pid={c}," in line for c in _children(pid))]
    assert ours and all(" 127.0.0.1:" in line for line in ours), ours


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def test_a_worker_without_the_certificate_cannot_join(tls_farm, tmp_path):
    from cltrace.sweep.tls import make_certificates
    other = str(tmp_path / "other-ca")
    make_certificates(other)                      # a certificate, but of another CA
    tls_farm.worker("no-cert", "x")                                  # no certificate at all
    tls_farm.worker("wrong-ca", "x", other)
    tls_farm.worker("plain", "x", address=tls_farm.address.replace("tls://", "tcp://"))   # plaintext
    time.sleep(8)
    joined = tls_farm.names()
    assert not {"no-cert", "wrong-ca", "plain"} & joined
    assert {"board-a", "board-b"} <= joined
    for name in ("no-cert", "wrong-ca", "plain"):
        p = tls_farm.procs[name]
        if p.poll() is None:
            p.terminate()
        p.wait(10)
    assert "TLS expects a `ssl_context` argument" in tls_farm.log("no-cert")   # Dask: no TLS configured
    assert "Waiting to connect to:      tls://127.0.0.1:" in tls_farm.log("wrong-ca")
    assert "TLS handshake failed" in tls_farm.log("farm")                       # the scheduler turned it away
    for name in ("no-cert", "wrong-ca", "plain"):
        assert "Registered to" not in tls_farm.log(name)


def test_a_tls_farm_sweep_equals_the_local_sweep_and_prints_its_seed(tls_farm, cli, conv_bench, tmp_path):
    common = ["--seed", "5", "-p", "channels=4,8", "--repeat", "2"]
    local = cli("sweep", *common, "-p", "board=a,b", "--allow-unused-param", "-o", "local.db", "--",
                conv_bench, *CONV, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    p = cli("sweep", *common, "--cluster", tls_farm.address, "--cluster-tls", tls_farm.certs, "--board", "a",
            "--board", "b", "-o", "farm.db", "--", conv_bench, *CONV, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0] == (f"cltrace: cluster: board:a on 1 worker(s); board:b on 1 worker(s) ({tls_farm.address}); "
                        f"stabilisers are applied on each board around its runs")
    assert lines[1] == "cltrace: order: shuffled, seed 5 (--seed 5 runs the same order)"
    assert "cltrace: order: shuffled, seed 5 (--seed 5 runs the same order)" in local.stderr
    assert lines[-1] == "cltrace: 8/8 runs recorded in farm.db"
    l_runs, l_tags, l_disp, _ = _runs(str(tmp_path / "local.db"))
    f_runs, f_tags, f_disp, workers = _runs(str(tmp_path / "farm.db"))
    assert sorted(f_runs) == sorted(l_runs) == list(range(8))
    for i in range(8):
        assert f_runs[i][:6] == l_runs[i][:6]
    assert f_tags == l_tags
    assert f_disp == l_disp and all(f_disp[i] for i in range(8))
    for i in range(8):     # each run ran on its board's worker, over TLS
        assert workers[i].startswith(f"board-{f_tags[i]['board']} (tls://127.0.0.1:"), workers[i]


def test_a_farm_sweep_without_a_seed_prints_the_one_it_drew(tls_farm, cli, tmp_path):
    p = cli("sweep", "-p", "c=1,2", "--repeat", "1", "--cluster", tls_farm.address, "--cluster-tls",
            tls_farm.certs, "--board", "a", "-o", "s.db", "--", PY, "-c", "pass", "{c}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    line = p.stderr.splitlines()[1]
    assert line.startswith("cltrace: order: shuffled, seed ") and line.endswith(" runs the same order)"), line


def test_a_tls_address_without_the_certificates_is_not_reached(tls_farm, cli, tmp_path):
    p = cli("sweep", "-p", "c=1,2", "--cluster", tls_farm.address, "--cluster-timeout", "3", "--board", "a",
            "-o", "x.db", "--", PY, "-c", "pass", "{c}", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == (f"cltrace: --cluster {tls_farm.address} is a TLS scheduler: give --cluster-tls DIR, "
                                f"the directory of certificates that 'cltrace farm' made (or configure "
                                f"distributed.comm.tls in Dask)"), p.stderr
    assert not (tmp_path / "x.db").exists()


PLAINTEXT = ("cltrace: --cluster {addr} is plaintext TCP to another machine: anyone who reaches that scheduler can "
             "run any command on every board's worker, and the runs' capture files would cross the network "
             "unencrypted; use TLS: 'cltrace farm' makes the certificates and starts a scheduler that requires "
             "them, then --cluster tls://HOST:PORT --cluster-tls DIR (docs/farm.md); or, on a private network you "
             "trust, give --insecure-cluster")


@pytest.mark.parametrize("addr", ["tcp://192.0.2.10:8786", "192.0.2.10:8786", "tcp://boards.example:8786"])
def test_plaintext_to_another_machine_is_refused_without_connecting(cli, tmp_path, addr):
    # 192.0.2.0/24 is TEST-NET-1 (never routed); the check reads the address and connects nowhere
    t0 = time.monotonic()
    p = cli("sweep", "-p", "c=1,2", "--cluster", addr, "--board", "a", "-o", "x.db", "--", PY, "-c", "pass",
            "{c}", cwd=tmp_path)
    assert time.monotonic() - t0 < 20
    assert p.returncode == 2
    assert p.stderr.strip() == PLAINTEXT.format(addr=addr)
    assert not (tmp_path / "x.db").exists()


def test_a_scheduler_file_with_a_plaintext_remote_address_is_refused(cli, tmp_path):
    f = tmp_path / "sched.json"
    f.write_text(json.dumps({"type": "Scheduler", "address": "tcp://192.0.2.10:8786"}))
    p = cli("sweep", "-p", "c=1,2", "--cluster", str(f), "--board", "a", "-o", "x.db", "--", PY, "-c", "pass",
            "{c}", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == PLAINTEXT.format(addr=f"{f} (its address tcp://192.0.2.10:8786)")
