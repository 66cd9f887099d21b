"""Every example under `cltrace run`, and a tiny `cltrace sweep` through report/plot/export.

For each program (examples/bin/conv_bench with gemm, direct and clblast; examples/conv_bench.py
with gemm and direct) the trace must hold the expected kernels, one region per measured
iteration named after the layer and tagged channels=N,method=M, and the warm-up iterations'
launches either outside any region or in `<layer>.warmup` regions (one per warm-up), never in
the measured regions. Tiny shapes: the whole file takes a few seconds.
"""
import csv
import io
import json
import os
import sys

import jsonschema
import pytest

import cltrace
from cltrace.report.json_report import load_schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
BENCH = os.path.join(EXAMPLES, "bin", "conv_bench")
BENCH_PY = os.path.join(EXAMPLES, "conv_bench.py")
CLI_ENV = {"POCL_CACHE_DIR": os.environ.get("POCL_CACHE_DIR") or os.path.join(ROOT, ".pocl-cache")}

SHAPE = ["--input", "10x10x8", "--kernel", "3", "--pad", "1"]
LAYER = "custom.10x10x8.k3s1p1"
ITERS, WARMUP = 3, 2


def _has_pyopencl():
    try:
        import numpy  # noqa: F401
        import pyopencl  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def bench(conv_bench):
    assert conv_bench == BENCH
    return BENCH


def expected_kernels(method, channels):
    """Per-iteration dispatch list of conv_bench (the examples' own arithmetic); None = CLBlast's GEMM."""
    if method == "direct":
        return ["direct_conv"]
    if method == "gemm":
        return ["im2col"] + (["gemm_v4"] if channels >= 4 else []) + (["gemm_tail"] if channels % 4 else [])
    return ["im2col", None]


def check_kernels(names, method, channels):
    want = expected_kernels(method, channels)
    assert len(names) == len(want), (names, want)
    for got, exp in zip(names, want):
        if exp is None:        # tiny m*n*k: CLBlast's single-kernel direct GEMM
            assert got.startswith("XgemmDirect"), names
        else:
            assert got == exp, names


def traced(cli, tmp_path, argv, tags=()):
    db = str(tmp_path / "trace.db")
    args = ["run", "-q", "-o", db]
    for t in tags:
        args += ["--tag", t]
    p = cli(*args, "--", *argv, env=CLI_ENV)
    return p, db


def check_trace(db, method, channels, iters=ITERS, warmup=WARMUP):
    with cltrace.open(db) as t:
        runs, regions, launches = t.runs, t.regions, t.launches
    assert len(runs) == 1 and runs["status"].iloc[0] == "ok" and runs["exit_status"].iloc[0] == 0
    measured = regions[regions["name"] == LAYER]
    warm = regions[regions["name"] == LAYER + ".warmup"]
    assert set(regions["name"]) <= {LAYER, LAYER + ".warmup"}, set(regions["name"])
    assert len(measured) == iters
    assert len(warm) in (0, warmup)                  # warm-ups outside regions, or one region each
    for tags in regions["tags"]:
        assert json.loads(tags) == {"channels": str(channels), "method": method}
    assert measured["end_ns"].notna().all() and (measured["end_ns"] >= measured["begin_ns"]).all()
    L = launches.sort_values("seq")
    per_iter = len(expected_kernels(method, channels))
    assert len(L) == (iters + warmup) * per_iter
    for rid in measured["region_id"]:
        g = L[L["region_id"] == rid]
        check_kernels(list(g["kernel_name"].astype(str)), method, channels)
        assert (g["times_status"].astype(str) == "ok").all() and (g["duration_ns"] > 0).all()
    warm_launches = L[~L["region_id"].isin(measured["region_id"])]
    assert len(warm_launches) == warmup * per_iter
    if len(warm):
        assert set(warm_launches["region_id"].dropna()) == set(warm["region_id"])
    else:
        assert warm_launches["region_id"].isna().all()
    # the measured iterations come after the warm-ups
    assert warm_launches["seq"].max() < L[L["region_id"].isin(measured["region_id"])]["seq"].min()
    return L


@pytest.mark.parametrize("method,channels", [("gemm", 6), ("gemm", 8), ("direct", 6), ("clblast", 6)])
def test_conv_bench_under_cltrace_run(cli, bench, tmp_path, method, channels):
    p, db = traced(cli, tmp_path, [bench] + SHAPE + ["--out-channels", str(channels), "--method", method,
                                                     "--iters", str(ITERS), "--warmup", str(WARMUP)],
                   tags=["example=c"])
    if method == "clblast" and "built without CLBlast" in p.stderr:
        pytest.skip("conv_bench built without CLBlast")
    assert p.returncode == 0, p.stderr
    assert f"RESULT layer={LAYER} method={method} channels={channels} median_ms=" in p.stdout
    L = check_trace(db, method, channels)
    with cltrace.open(db) as t:
        assert dict(zip(t.run_tags["key"], t.run_tags["value"])) == {"example": "c"}
    if method == "direct":
        assert (L["driver_local"] == 1).all() and L["local0"].isna().all()
    else:
        mine = L[L["kernel_name"].astype(str).isin(["im2col", "gemm_v4", "gemm_tail"])]
        assert (mine["driver_local"] == 0).all() and (mine["local0"] == 32).all() and (mine["local1"] == 1).all()


@pytest.mark.skipif(not _has_pyopencl(), reason="pyopencl/numpy not installed")
@pytest.mark.parametrize("method,channels", [("gemm", 5), ("direct", 5)])
def test_python_twin_under_cltrace_run(cli, tmp_path, method, channels):
    p, db = traced(cli, tmp_path, [sys.executable, BENCH_PY] + SHAPE + [
        "--out-channels", str(channels), "--method", method, "--iters", str(ITERS), "--warmup", str(WARMUP)])
    assert p.returncode == 0, p.stderr
    assert f"RESULT layer={LAYER} method={method} channels={channels} median_ms=" in p.stdout
    check_trace(db, method, channels)


# ----------------------------------------------------------------------------- a tiny sweep end to end

@pytest.fixture(scope="module")
def sweep_db(cli, bench, tmp_path_factory):
    db = str(tmp_path_factory.mktemp("sweep") / "sweep.db")
    p = cli("sweep", "-q", "-p", "channels=7,8", "-p", "method=gemm,direct", "--repeat", "2", "-o", db,
            "--", bench, *SHAPE, "--out-channels", "{channels}", "--method", "{method}",
            "--iters", ITERS, "--warmup", "1", env=CLI_ENV)
    assert p.returncode == 0, p.stdout + p.stderr
    return db


def test_sweep_runs_tagged(sweep_db):
    with cltrace.open(sweep_db) as t:
        runs, params, regions, launches = t.runs, t.params, t.regions, t.launches
    assert len(runs) == 8 and (runs["status"] == "ok").all() and (runs["exit_status"] == 0).all()
    combos = sorted(zip(params["channels"], params["method"]))
    assert combos == sorted([(c, m) for c in (7, 8) for m in ("gemm", "direct")] * 2)   # params: numbers
    assert sorted(runs["repeat_index"].tolist()) == [0] * 4 + [1] * 4
    assert sorted(runs["sweep_index"].tolist()) == list(range(8))
    for r in runs.to_dict("records"):
        ch, m = params.loc[r["run_id"], "channels"], params.loc[r["run_id"], "method"]
        assert f"--out-channels {ch}" in r["command"] and f"--method {m}" in r["command"]
        mine = regions[regions["run_id"] == r["run_id"]]
        assert len(mine) == ITERS
        assert all(json.loads(x) == {"channels": str(ch), "method": m} for x in mine["tags"])
        ls = launches[launches["run_id"] == r["run_id"]]
        for rid in mine["region_id"]:
            check_kernels(list(ls[ls["region_id"] == rid].sort_values("seq")["kernel_name"].astype(str)),
                          m, int(ch))


def test_sweep_report(cli, sweep_db):
    p = cli("report", sweep_db)
    assert p.returncode == 0, p.stderr
    assert "Latency by channels" in p.stdout
    j = cli("report", sweep_db, "--format", "json")
    assert j.returncode == 0, j.stderr
    doc = json.loads(j.stdout)
    jsonschema.validate(doc, load_schema())                 # the versioned schema (docs/report-json.md)
    configs = doc["staircase"]["configs"]
    assert doc["staircase"]["param"] == "channels" and doc["staircase"]["by"] == ["method"]
    got = sorted((r["group_label"], r["group"]["method"], r["params"]["channels"]) for r in configs)
    assert got == sorted((f"method={m}", m, c) for m in ("direct", "gemm") for c in (7, 8))
    # two processes per configuration (the unit of replication), each the median of its ITERS iterations
    assert all(r["n_processes"] == 2 and r["median_ns"] > 0 for r in configs)
    assert all(min(r["process_median_ns"]) <= r["median_ns"] <= max(r["process_median_ns"]) for r in configs)
    assert all(isinstance(r["tags"]["channels"], int) for r in doc["runs"])      # tags typed as parameters


def test_sweep_plot_png(cli, sweep_db, tmp_path):
    out = tmp_path / "stairs.png"
    p = cli("plot", sweep_db, "-o", out)
    assert p.returncode == 0, p.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_sweep_export_lut(cli, sweep_db, tmp_path):
    out = tmp_path / "lut.csv"
    p = cli("export", sweep_db, "--format", "lut", "-o", out)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows and "median_ms" in rows[0]
    assert sorted((r["method"], int(r["channels"])) for r in rows) == \
        sorted((m, c) for m in ("direct", "gemm") for c in (7, 8))
    # lut is an alias of the lookup table: the layer (here the region), one value per process (--repeat 2)
    assert all(r["layer"] == LAYER and float(r["median_ms"]) > 0 and int(r["processes"]) == 2 for r in rows)
    stdout = cli("export", sweep_db, "--format", "lut")             # default: standard output
    assert stdout.returncode == 0 and stdout.stdout == out.read_text()
    assert cli("export", sweep_db, "--format", "lookup").stdout == stdout.stdout


def test_sweep_export_chrome(cli, sweep_db, tmp_path):
    out = tmp_path / "trace.json"
    p = cli("export", sweep_db, "--format", "chrome", "-o", out)
    assert p.returncode == 0, p.stderr
    doc = json.loads(out.read_text())
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list) and doc["traceEvents"]
    events = doc["traceEvents"]
    names = {e.get("name") for e in events}
    device = [e for e in events if e.get("cat") == "kernel"]
    assert device and all(e["ph"] == "X" and e["dur"] >= 0 for e in device)
    with cltrace.open(sweep_db) as t:
        first = int(t.runs["run_id"].iloc[0])
        kernels = set(t.launches[t.launches["run_id"] == first]["kernel_name"].astype(str))
    assert kernels <= names, (kernels, sorted(n for n in names if n)[:20])
    assert LAYER in names
