"""`cltrace export --format lookup|nnmeter|paddleslim|parquet`: each read back by its consumer (pandas,
json, pyarrow, DuckDB), figures checked against the per-process medians, bad input refused exactly."""
import io
import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
from trace_factory import sweep_trace

import cltrace
from cltrace.analysis.lookup import latency_lookup
from cltrace.cli.main import main


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """channels 1..4 x method a, b, three runs (processes) each; 3 and 4 take twice as long."""
    d = tmp_path_factory.mktemp("exports")
    return sweep_trace(str(d / "s.db"), str(d), repeats=3, variants=[{"method": "a"}, {"method": "b"}])


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _process_medians_ms(path):
    """(method, channels) -> sorted per-process medians of the warm samples, ms: computed here, independently."""
    t = cltrace.open(path)
    s = t.samples()
    s = s[s["status"] == "ok"]
    per = s.groupby(["method", "channels", "process_id"])["latency_ns"].median() / 1e6
    return {(m, int(c)): sorted(g.tolist()) for (m, c), g in per.groupby(level=[0, 1])}


def test_lookup_csv_has_median_interval_and_processes(sweep, capsys):
    code, out, err = _run(capsys, "export", sweep, "--format", "lookup")
    assert (code, err) == (0, "")
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["layer", "method", "channels", "median_ms", "interval_low_ms",
                                   "interval_high_ms", "processes"]
    truth = _process_medians_ms(sweep)
    assert len(table) == len(truth) == 8
    for _, row in table.iterrows():
        procs = truth[(row["method"], int(row["channels"]))]
        assert row["processes"] == len(procs) == 3
        assert row["median_ms"] == pytest.approx(np.median(procs), abs=1e-6)
        assert row["interval_low_ms"] <= np.exp(np.mean(np.log(procs))) <= row["interval_high_ms"]
    a = table[table.method == "a"].set_index("channels")["median_ms"]
    assert a[3] == pytest.approx(2 * a[2], rel=0.2)          # the step of the factory's sweep


def test_one_lookup_table_made_without_running_the_tests(sweep, monkeypatch):
    """The lookup table comes from the configurations and their units alone: no permutation test runs, and
    its median is the configurations' median_ns (the analysis' own, not a second definition)."""
    import cltrace.analysis.steps as steps
    from cltrace.analysis.staircase import analyse
    with cltrace.open(sweep) as t:
        samples = t.samples()
    configs = analyse(samples).configs.set_index(["method", "channels"])

    def refuse(*a, **k):
        raise AssertionError("the lookup table ran the step tests")
    monkeypatch.setattr(steps, "segment", refuse)
    table = latency_lookup(samples)
    assert len(table) == len(configs) == 8
    for _, row in table.iterrows():
        c = configs.loc[(row["method"], row["channels"])]
        assert row["median_ms"] == round(c["median_ns"] / 1e6, 6) and row["processes"] == c["n_processes"]


def test_nnmeter_json_has_mean_std_and_samples_per_kernel_config(sweep, capsys):
    code, out, _ = _run(capsys, "export", sweep, "--format", "nnmeter")
    assert code == 0
    data = json.loads(out)
    truth = _process_medians_ms(sweep)
    (layer,) = data                                  # the factory's one region
    assert len(data[layer]) == 8
    entry = data[layer]["method=b,channels=3"]
    procs = truth[("b", 3)]
    assert entry["config"] == {"method": "b", "channels": 3}
    assert entry["samples"] == pytest.approx(procs, abs=1e-6)
    assert entry["latency"] == pytest.approx(np.mean(procs), abs=1e-6)
    assert entry["std"] == pytest.approx(np.std(procs, ddof=1), abs=1e-6)


def test_paddleslim_tsv_is_key_tab_latency(sweep, capsys):
    code, out, _ = _run(capsys, "export", sweep, "--format", "paddleslim")
    assert code == 0
    table = pd.read_csv(io.StringIO(out), sep="\t", header=None, names=["key", "latency_ms"])
    lookup = latency_lookup(cltrace.open(sweep).samples())
    keys = [",".join(str(v) for v in (r.layer, r.method, r.channels)) for r in lookup.itertuples()]
    assert table["key"].tolist() == keys
    assert table["latency_ms"].tolist() == pytest.approx(lookup["median_ms"].tolist(), abs=1e-6)


def test_parquet_is_read_back_by_pyarrow_and_duckdb(sweep, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    duckdb = pytest.importorskip("duckdb")
    out_dir = tmp_path / "pq"
    code, _, err = _run(capsys, "export", sweep, "--format", "parquet", "-o", out_dir)
    assert code == 0
    names = ["launches", "runs", "run_tags", "configs", "steps", "segments", "units", "dispatch_changes", "lookup"]
    assert err == f"cltrace: wrote 9 Parquet files to {out_dir}: " + ", ".join(f"{n}.parquet" for n in names) + "\n"
    t = cltrace.open(sweep)
    launches = pq.read_table(out_dir / "launches.parquet").to_pandas()
    assert len(launches) == len(t.launches)
    assert launches["duration_ns"].sum() == t.launches["duration_ns"].sum()
    runs = pq.read_table(out_dir / "runs.parquet").to_pandas()
    assert sorted(runs["run_id"]) == sorted(t.runs["run_id"]) and {"tag_channels", "tag_method"} <= set(runs)
    steps = pq.read_table(out_dir / "steps.parquet").to_pandas()
    assert len(steps) == 2 and set(steps["from_value"]) == {2}
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT r.tag_method, CAST(r.tag_channels AS INTEGER) AS ch, count(*) AS n, sum(l.duration_ns) AS ns "
        f"FROM '{out_dir}/launches.parquet' l JOIN '{out_dir}/runs.parquet' r USING (run_id) "
        f"GROUP BY ALL ORDER BY 1, 2").fetchall()
    assert len(rows) == 8 and sum(r[2] for r in rows) == len(t.launches)
    lookup = con.execute(f"SELECT method, channels, median_ms, processes FROM '{out_dir}/lookup.parquet' "
                         f"WHERE method = 'a' ORDER BY channels").fetchall()
    truth = _process_medians_ms(sweep)
    assert [(m, c, p) for m, c, _, p in lookup] == [("a", c, 3) for c in (1, 2, 3, 4)]
    assert [r[2] for r in lookup] == pytest.approx([np.median(truth[("a", c)]) for c in (1, 2, 3, 4)], abs=1e-6)


def test_parquet_needs_a_directory(sweep, tmp_path, capsys):
    assert _run(capsys, "export", sweep, "--format", "parquet") == (
        2, "", "cltrace: --format parquet writes a directory of files: give it with -o DIR\n")
    (tmp_path / "afile").write_text("x")
    assert _run(capsys, "export", sweep, "--format", "parquet", "-o", tmp_path / "afile") == (
        1, "", f"cltrace: cannot write {tmp_path / 'afile'}: --format parquet writes a directory of files, and "
               f"{tmp_path / 'afile'} is a file\n")
    target = tmp_path / "missing" / "pq"
    assert _run(capsys, "export", sweep, "--format", "parquet", "-o", target) == (
        1, "", f"cltrace: cannot write {target}: directory {tmp_path / 'missing'} does not exist\n")


def test_parquet_without_pyarrow(sweep, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert _run(capsys, "export", sweep, "--format", "parquet", "-o", tmp_path / "pq") == (
        1, "", "cltrace: --format parquet needs pyarrow, which is not installed: pip install pyarrow (or pip "
               "install 'cltrace[cluster]')\n")
    assert not os.path.exists(tmp_path / "pq")


@pytest.mark.parametrize("fmt", ["lookup", "nnmeter", "paddleslim"])
def test_a_trace_without_a_numeric_parameter(tmp_path, capsys, fmt):
    path = sweep_trace(str(tmp_path / "one.db"), str(tmp_path), channels=(7,), repeats=2)
    out = tmp_path / f"t.{fmt}"
    assert _run(capsys, "export", path, "--format", fmt, "-o", out) == (
        1, "", f"cltrace: cannot write a {fmt} table of {path}: no numeric parameter with several values to look "
               f"latency up by (sweep one with cltrace sweep -p NAME=a:b)\n")
    assert out.read_text() == ""
