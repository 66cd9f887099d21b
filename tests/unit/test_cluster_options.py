"""`cltrace sweep --cluster/--board/--cluster-timeout`: every bad combination refused before anything runs,
with its exact message and exit code (in-process; the farm itself: tests/integration/test_cluster_sweep.py)."""
import sys

import pytest

from cltrace.cli.main import main

CMD = ["--", "prog", "{c}"]


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.err


@pytest.mark.parametrize("argv, message", [
    (["--board", "a"], "--board chooses the boards of a --cluster: give --cluster ADDRESS too (on this machine, "
                       "label the runs with --tag board=KIND instead)"),
    (["--cluster-timeout", "5"], "--cluster-timeout is a setting of --cluster: give --cluster ADDRESS too, or "
                                 "leave --cluster-timeout out"),
    (["--cluster", "tcp://127.0.0.1:8786"], "--cluster needs at least one --board KIND: the boards to run on (workers "
                                    "started with --resources board:KIND=1)"),
    (["--cluster", "tcp://127.0.0.1:8786", "--board", "mali g76"], "--board mali g76: a board kind is letters, digits, "
                                                           "'.', '_' and '-' (e.g. mali-g76), as in the worker's "
                                                           "--resources board:KIND=1"),
    (["--cluster", "tcp://127.0.0.1:8786", "--board", "a", "--board", "a"], "--board a is given twice"),
    (["--cluster", "tcp://127.0.0.1:8786", "--board", "a", "-p", "board=x,y", "--allow-unused-param"],
     "-p board clashes with --board: with --cluster the board is planned from --board"),
    (["--cluster", "tcp://127.0.0.1:8786", "--board", "a", "--tag", "board=x"],
     "--tag board clashes with --board: with --cluster every run is tagged with the board it ran on"),
    (["--cluster", "tcp://127.0.0.1:8786", "--board", "a", "--cluster-timeout", "0"],
     "--cluster-timeout must be positive, not 0"),
])
def test_bad_cluster_options(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert _run(capsys, "sweep", "-p", "c=1:2", *argv, *CMD) == (2, f"cltrace: {message}\n")
    assert not (tmp_path / "sweep.db").exists()


def test_cluster_without_dask_installed(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)       # as if the cluster extra were not installed
    assert _run(capsys, "sweep", "-p", "c=1:2", "--cluster", "tcp://127.0.0.1:8786", "--board", "a", *CMD) == (
        1, "cltrace: --cluster needs Dask distributed, which is not installed: pip install 'cltrace[cluster]'\n")
    assert not (tmp_path / "sweep.db").exists()


def test_the_board_is_planned_as_the_last_parameter(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["sweep", "--dry-run", "--repeat", "1", "--order", "sequential", "-p", "c=1:2", "--cluster",
                 "tcp://127.0.0.1:8786", "--board", "x", "--board", "y", "--", "prog", "{c}"])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "[1/4] prog 1 (on board x)", "[2/4] prog 1 (on board y)", "[3/4] prog 2 (on board x)",
        "[4/4] prog 2 (on board y)"]


# -- plaintext to another machine is refused (issue 27): read from the address, nothing is connected to -----
PLAINTEXT = ("--cluster {addr} is plaintext TCP to another machine: anyone who reaches that scheduler can run any "
             "command on every board's worker, and the runs' capture files would cross the network unencrypted; "
             "use TLS: 'cltrace farm' makes the certificates and starts a scheduler that requires them, then "
             "--cluster tls://HOST:PORT --cluster-tls DIR (docs/farm.md); or, on a private network you trust, give "
             "--insecure-cluster")


@pytest.mark.parametrize("addr", ["tcp://10.0.0.7:8786", "10.0.0.7:8786", "tcp://head:8786", "tcp://[2001:db8::1]:8786",
                                  "tcp://192.168.1.2:8786"])
def test_plaintext_to_another_machine_is_refused(capsys, tmp_path, monkeypatch, addr):
    monkeypatch.chdir(tmp_path)
    import cltrace.sweep.farm as farm
    monkeypatch.setattr(farm, "connect", lambda *a, **k: pytest.fail("connected"))
    assert _run(capsys, "sweep", "-p", "c=1:2", "--cluster", addr, "--board", "a", *CMD) == (
        2, f"cltrace: {PLAINTEXT.format(addr=addr)}\n")
    assert not (tmp_path / "sweep.db").exists()


@pytest.mark.parametrize("addr, insecure, ok", [
    ("tcp://127.0.0.1:8786", False, True), ("127.0.0.5:8786", False, True), ("tcp://localhost:8786", False, True),
    ("tcp://[::1]:8786", False, True), ("tls://10.0.0.7:8786", False, True), ("tcp://10.0.0.7:8786", True, True),
    ("tcp://10.0.0.7:8786", False, False), ("tcp://127.0.0.1.example:8786", False, False)])
def test_check_plaintext(addr, insecure, ok):
    from cltrace.sweep.tls import check_plaintext
    from cltrace.errors import UsageError
    if ok:
        check_plaintext(addr, insecure)
    else:
        with pytest.raises(UsageError):
            check_plaintext(addr, insecure)


def test_insecure_cluster_lets_a_remote_plaintext_address_through(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import cltrace.sweep.farm as farm
    from cltrace.errors import CltraceError

    def refuse(address, boards, timeout_s, tls_dir=None):
        raise CltraceError(f"(test) would connect to {address}")
    monkeypatch.setattr(farm, "connect", refuse)
    assert _run(capsys, "sweep", "-p", "c=1:2", "--cluster", "tcp://10.0.0.7:8786", "--insecure-cluster", "--board",
                "a", *CMD) == (1, "cltrace: (test) would connect to tcp://10.0.0.7:8786\n")


@pytest.mark.parametrize("argv, message", [
    (["--insecure-cluster"], "--insecure-cluster is a setting of --cluster: give --cluster ADDRESS too, or leave "
                             "--insecure-cluster out"),
    (["--cluster-tls", "d"], "--cluster-tls is a setting of --cluster: give --cluster ADDRESS too, or leave "
                             "--cluster-tls out"),
    (["--cluster", "tcp://127.0.0.1:8786", "--cluster-tls", "d", "--board", "a"],
     "--cluster-tls d is for a TLS scheduler: give its address as tls://HOST:PORT, not tcp://127.0.0.1:8786"),
])
def test_tls_options_need_their_cluster(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert _run(capsys, "sweep", "-p", "c=1:2", *argv, *CMD) == (2, f"cltrace: {message}\n")


def test_farm_certs_only_makes_the_certificates_and_prints_the_commands(capsys, tmp_path):
    pytest.importorskip("cryptography")
    import os
    import ssl
    d = tmp_path / "certs"
    assert main(["farm", "--dir", str(d), "--certs-only", "--port", "9999"]) == 0
    out = capsys.readouterr()
    assert out.err == f"cltrace: farm: made a CA and scheduler, worker and client certificates in {d}\n"
    assert out.out.splitlines() == [
        f"scheduler: tls://127.0.0.1:9999 (TLS; only holders of a certificate signed by {d}/ca.pem can connect); "
        f"dashboard: off",
        f"on each board, with ca.pem, worker.pem and worker-key.pem of {d} in its directory:",
        "  dask worker tls://127.0.0.1:9999 --tls-ca-file ca.pem --tls-cert worker.pem --tls-key worker-key.pem "
        "--nthreads 1 --resources board:KIND=1 --name KIND-1",
        "the sweep, here:",
        f"  cltrace sweep --cluster tls://127.0.0.1:9999 --cluster-tls {d} --board KIND ..."]
    for role in ("ca", "scheduler", "worker", "client"):
        assert oct(os.stat(d / f"{role}-key.pem").st_mode & 0o777) == "0o600"
        if role != "ca":        # each certificate is signed by the farm's CA, and its key matches it
            from cryptography import x509
            ca = x509.load_pem_x509_certificate((d / "ca.pem").read_bytes())
            x509.load_pem_x509_certificate((d / f"{role}.pem").read_bytes()).verify_directly_issued_by(ca)
            ssl.create_default_context().load_cert_chain(str(d / f"{role}.pem"), str(d / f"{role}-key.pem"))
    # a second time keeps them
    assert main(["farm", "--dir", str(d), "--certs-only"]) == 0
    assert capsys.readouterr().err == f"cltrace: farm: certificates in {d} (kept)\n"
