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
    (["--cluster", "tcp://h:8786"], "--cluster needs at least one --board KIND: the boards to run on (workers "
                                    "started with --resources board:KIND=1)"),
    (["--cluster", "tcp://h:8786", "--board", "mali g76"], "--board mali g76: a board kind is letters, digits, "
                                                           "'.', '_' and '-' (e.g. mali-g76), as in the worker's "
                                                           "--resources board:KIND=1"),
    (["--cluster", "tcp://h:8786", "--board", "a", "--board", "a"], "--board a is given twice"),
    (["--cluster", "tcp://h:8786", "--board", "a", "-p", "board=x,y", "--allow-unused-param"],
     "-p board clashes with --board: with --cluster the board is planned from --board"),
    (["--cluster", "tcp://h:8786", "--board", "a", "--tag", "board=x"],
     "--tag board clashes with --board: with --cluster every run is tagged with the board it ran on"),
    (["--cluster", "tcp://h:8786", "--board", "a", "--cluster-timeout", "0"], "--cluster-timeout must be positive, not 0"),
])
def test_bad_cluster_options(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert _run(capsys, "sweep", "-p", "c=1:2", *argv, *CMD) == (2, f"cltrace: {message}\n")
    assert not (tmp_path / "sweep.db").exists()


def test_cluster_without_dask_installed(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)       # as if the cluster extra were not installed
    assert _run(capsys, "sweep", "-p", "c=1:2", "--cluster", "tcp://h:8786", "--board", "a", *CMD) == (
        1, "cltrace: --cluster needs Dask distributed, which is not installed: pip install 'cltrace[cluster]'\n")
    assert not (tmp_path / "sweep.db").exists()


def test_the_board_is_planned_as_the_last_parameter(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["sweep", "--dry-run", "--repeat", "1", "--order", "sequential", "-p", "c=1:2", "--cluster",
                 "tcp://h:8786", "--board", "x", "--board", "y", "--", "prog", "{c}"])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "[1/4] prog 1 (on board x)", "[2/4] prog 1 (on board y)", "[3/4] prog 2 (on board x)",
        "[4/4] prog 2 (on board y)"]
