"""--target and --what-if-local on report, plot and diff: bad input is one line and exit code 2, and a good one
reaches every output marked as what it is."""
import json

import pytest
from trace_factory import sweep_trace

from cltrace.cli.main import main


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs")
    return sweep_trace(str(d / "s.db"), str(d), channels=(1, 2, 3, 4), repeats=2)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", [["report"], ["plot", "-o", "p.png"], ["diff", "channels=1", "channels=2"]])
def test_a_bad_what_if_spec(trace, capsys, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [command[0], trace, *command[1:], "--what-if-local", "conv=0"]
    assert _run(capsys, *argv) == (2, "", "cltrace: --what-if-local takes KERNEL_GLOB=L[xL[xL]] with positive whole "
                                          "sizes, e.g. 'gemm_mm*=4' or 'conv=8x8x1', not 'conv=0'\n")


def test_a_what_if_glob_that_matches_no_kernel(trace, capsys):
    assert _run(capsys, "report", trace, "--what-if-local", "gemm*=4") == (
        2, "", f"cltrace: --what-if-local 'gemm*' matches no kernel in {trace} (its kernels: conv)\n")


def test_an_unknown_target(trace, capsys):
    code, out, err = _run(capsys, "report", trace, "--target", "mali-g72")
    assert (code, out) == (2, "")
    assert err.startswith("cltrace: report: argument --target: invalid choice: 'mali-g72' (choose from ")
    assert "mali-g72-mp12" in err


def test_a_target_and_what_if_reach_the_json(trace, capsys):
    code, out, err = _run(capsys, "report", trace, "--format", "json", "--target", "mali-g72-mp12",
                          "--what-if-local", "conv=3")
    assert code == 0, err
    jobs = json.loads(out)["staircase"]["jobs"]
    assert jobs["target"] == "mali-g72-mp12" and jobs["what_if"] == "what-if local conv=3x1x1"
    # global 64*C with local 3: non-uniform unless 3 divides C
    assert [(r["value"], r["jobs"]) for r in jobs["launches"]] == [(1, 2), (2, 2), (3, 1), (4, 2)]
    assert jobs["groups"][0]["fast_values"] == [3]


def test_the_diff_shows_jobs_and_the_remainder(trace, capsys):
    code, out, err = _run(capsys, "diff", trace, "channels=2", "channels=3", "--format", "json", "--target",
                          "intel-gen", "--what-if-local", "conv=3")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["title"] == "cltrace diff (what-if local conv=3x1x1)"
    rows = next(s for s in doc["sections"] if s["key"] == "dispatches")["rows"]
    # channels=2: global 128 = 126 + 2 -> two jobs, 2/128 of the range left over; channels=3: 192 = 64 x 3
    assert [(r["A local"], r["A wg"], r["A jobs"], r["A rem"], r["B jobs"], r["B rem"]) for r in rows] == [
        ("3", "43", 2, "1.6%", 1, "0.0%")]
