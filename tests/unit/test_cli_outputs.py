"""plot/export/diff from the command line (in-process): output files that cannot be written, selectors that
match several configurations, exports of every run, help that explains itself. Exact messages, exit codes."""
import csv
import errno
import io
import json
import os

import pytest
from trace_factory import sweep_trace

from cltrace.cli.main import main


@pytest.fixture(scope="module")
def two_methods(tmp_path_factory):
    """channels 1..4 x method a, b (tagged like a sweep), two runs each: 16 runs."""
    d = tmp_path_factory.mktemp("cli")
    return (sweep_trace(str(d / "s.db"), str(d), repeats=2, variants=[{"method": "a"}, {"method": "b"}]),)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plot_into_a_missing_directory(two_methods, tmp_path, capsys):
    target = tmp_path / "missing" / "p.png"
    assert _run(capsys, "plot", two_methods[0], "-o", target) == (
        1, "", f"cltrace: cannot write {target}: directory {tmp_path / 'missing'} does not exist\n")


def test_export_under_a_file_that_is_not_a_directory(two_methods, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "t.json"
    assert _run(capsys, "export", two_methods[0], "--format", "chrome", "-o", target) == (
        1, "", f"cltrace: cannot write {target}: directory {tmp_path / 'afile'} is not a directory\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_export_into_a_read_only_directory(two_methods, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    assert _run(capsys, "export", two_methods[0], "--format", "lut", "-o", ro / "l.csv") == (
        1, "", f"cltrace: cannot write {ro / 'l.csv'}: permission denied\n")


def test_a_write_that_fails_midway_is_one_line(two_methods, tmp_path, capsys, monkeypatch):
    """A read-only file system (or a full disk) shows up only when writing: still one line, exit 1."""
    import cltrace.report.plot as plot

    def refuse(result, path, title=None):
        raise OSError(errno.EROFS, "Read-only file system", path)
    monkeypatch.setattr(plot, "plot_staircase", refuse)
    target = tmp_path / "p.svg"
    assert _run(capsys, "plot", two_methods[0], "-o", target) == (
        1, "", f"cltrace: cannot write {target}: Read-only file system\n")


def test_diff_selector_matching_several_configurations_lists_them(two_methods, capsys):
    path = two_methods[0]
    code, out, err = _run(capsys, "diff", path, "channels=2", "channels=3")
    assert (code, out) == (2, "")
    assert err == (f"cltrace: channels=2 matches 2 configurations in {path}: channels=2,method=a (2 runs); "
                   f"channels=2,method=b (2 runs): add KEY=VALUE to pick one, e.g. channels=2,method=a\n")
    code, out, err = _run(capsys, "diff", path, "channels=2.0,method=a", "channels=3,method=a", "--format", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)["sections"][1]["rows"]
    assert [(r["A global"], r["B global"]) for r in rows] == [("128", "192")]


def test_export_lut_is_an_alias_of_lookup_rounded_and_honours_run(two_methods, capsys):
    """There is one lookup table: --format lut writes exactly what --format lookup writes (per-process
    medians, docs/exports.md)."""
    path = two_methods[0]
    code, out, _ = _run(capsys, "export", path, "--format", "lut")
    assert (code, out) == (0, _run(capsys, "export", path, "--format", "lookup")[1])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 8 and list(rows[0]) == ["layer", "method", "channels", "median_ms", "interval_low_ms",
                                                "interval_high_ms", "processes"]
    assert all(len(r["median_ms"].split(".")[1]) <= 6 and r["processes"] == "2" for r in rows)
    # one run measures one configuration: nothing swept to look latency up by
    assert _run(capsys, "export", path, "--format", "lut", "--run", 3) == (
        1, "", f"cltrace: cannot write a lut table of {path}: no numeric parameter with several values to look "
               "latency up by (sweep one with cltrace sweep -p NAME=a:b)\n")
    code, out, _ = _run(capsys, "export", path, "--format", "csv", "--run", 2)
    assert code == 0 and {r["run_id"] for r in csv.DictReader(io.StringIO(out))} == {"2"}
    assert _run(capsys, "export", path, "--format", "lut", "--run", 99) == (1, "", f"cltrace: {path} has no run 99\n")


def test_export_chrome_holds_every_run_named_by_command_and_tags(two_methods, capsys):
    path = two_methods[0]
    code, out, _ = _run(capsys, "export", path, "--format", "chrome")
    events = json.loads(out)["traceEvents"]
    names = [e["args"]["name"] for e in events if e["name"] == "process_name"]
    assert code == 0 and len(names) == 16                    # every run of the sweep, not only run 1
    assert names[0] == "app channels=1 method=a (run 1, pid 1001)"
    assert len({e["pid"] for e in events if e.get("cat") == "kernel"}) == 16
    region = next(e for e in events if e.get("cat") == "region")
    assert region["args"] == {"channels": 1}
    code, out, _ = _run(capsys, "export", path, "--format", "chrome", "--run", 2)
    names = [e["args"]["name"] for e in json.loads(out)["traceEvents"] if e["name"] == "process_name"]
    assert names == ["app channels=2 method=a (run 2, pid 1002)"]


@pytest.mark.parametrize("argv, message", [
    (["reprot", "x.db"], "cltrace: argument COMMAND: invalid choice: 'reprot' (choose from 'run', 'sweep', "
                         "'report', 'plot', 'diff', 'export', 'devices', 'ingest', 'farm', 'network', 'network-map', "
                         "'network-predict'); did you mean 'report'?\n"),
    (["report", "x.db", "--fromat", "json"], "cltrace: unrecognized arguments: --fromat json; did you mean "
                                             "--format?\n"),
    (["export", "x.db", "--format", "chrom"], "cltrace: export: argument --format: invalid choice: 'chrom' "
                                              "(choose from 'chrome', 'lut', 'csv', 'lookup', 'nnmeter', "
                                              "'paddleslim', 'parquet'); did you mean 'chrome'?\n"),
    (["plot", "x.db", "--prm", "c", "--outptu", "p.png"], "cltrace: unrecognized arguments: --prm c --outptu "
                                                           "p.png; did you mean --param for --prm, --output for "
                                                           "--outptu?\n"),
])
def test_did_you_mean(argv, message, capsys):
    assert _run(capsys, *argv) == (2, "", message)


def test_help_explains_formats_selectors_and_confidence(capsys):
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "A SELECTOR is KEY=VALUE[,KEY=VALUE...] over the run tags" in text
    assert "--format {text,json,csv,markdown} text (a table, fitted to the terminal), json (the same rows as " \
           "records), csv or markdown (default: text)" in text
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "A step's confidence is 1 - p, p being how often the noise of this very sweep" in text
    assert "json (schema: docs/report-json.md)" in text
