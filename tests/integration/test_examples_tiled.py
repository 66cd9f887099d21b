"""conv_bench --method tiled: few, large work-groups whose count crosses the compute-unit count.

The rule (examples/README.md, `setup_tiled` in examples/conv_methods.c): one dispatch of `conv_tiled`,
global (64, T), local (64, 1), T = ceil(C_out / 4) work-groups (one per tile of 4 output channels, each
over the whole output plane), run in ceil(T / CU) rounds on CU = CL_DEVICE_MAX_COMPUTE_UNITS, so the
latency steps at C_out = 4*CU*r -> 4*CU*r + 1. Tiny shapes: a few seconds.
"""
import json
import math
import os
import re
import subprocess
import sys

import pytest

import cltrace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "examples", "bin", "conv_bench")
ENV = dict(os.environ, POCL_CACHE_DIR=os.environ.get("POCL_CACHE_DIR") or os.path.join(ROOT, ".pocl-cache"))
CLI_ENV = {"POCL_CACHE_DIR": ENV["POCL_CACHE_DIR"]}

SHAPE = ["--input", "10x10x8", "--kernel", "3", "--pad", "1"]
LAYER = "custom.10x10x8.k3s1p1"
LOCAL_X, TILE = 64, 4
PLAN = re.compile(r"conv_tiled global (\d+)x(\d+), local (\d+)x1: (\d+) work-groups? of 4 channels, "
                  r"(\d+) compute units? -> (\d+) rounds?")


@pytest.fixture(scope="module")
def bench(conv_bench):
    assert conv_bench == BENCH
    return BENCH


def run_bench(*args):
    return subprocess.run([BENCH, *SHAPE, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=300)


def plan(stdout):
    m = PLAN.search(stdout)
    assert m, stdout
    gx, groups, lx, wgs, cu, rounds = map(int, m.groups())
    return dict(global0=gx, global1=groups, local0=lx, work_groups=wgs, cu=cu, rounds=rounds)


@pytest.mark.parametrize("channels", [1, 3, 4, 5, 8, 9, 13])
def test_tiled_check_and_plan(bench, channels):
    p = run_bench("--out-channels", channels, "--method", "tiled", "--check", "--iters", 2)
    assert p.returncode == 0, p.stderr
    assert "check    ok" in p.stdout
    assert f"RESULT layer={LAYER} method=tiled channels={channels} median_ms=" in p.stdout
    pl = plan(p.stdout)
    tiles = math.ceil(channels / TILE)
    assert pl["global0"] == pl["local0"] == LOCAL_X
    assert pl["global1"] == pl["work_groups"] == tiles
    assert pl["cu"] >= 1 and pl["rounds"] == math.ceil(tiles / pl["cu"])


def test_tiled_rejects_local(bench):
    p = run_bench("--out-channels", 5, "--method", "tiled", "--local", "auto")
    assert p.returncode == 2 and "--local applies to --method direct only" in p.stderr


def test_tiled_round_boundary_follows_compute_units(bench):
    """The plan's round count steps exactly at 4*CU -> 4*CU+1, CU as the device reports it."""
    cu = plan(run_bench("--out-channels", 1, "--method", "tiled", "--iters", 1, "--warmup", 0).stdout)["cu"]
    rounds = {c: plan(run_bench("--out-channels", c, "--method", "tiled", "--iters", 1, "--warmup", 0).stdout)
              ["rounds"] for c in (TILE * cu, TILE * cu + 1)}
    assert rounds == {TILE * cu: 1, TILE * cu + 1: 2}


@pytest.mark.parametrize("channels", [5, 9])
def test_tiled_traced_regions_and_work_groups(bench, cli, tmp_path, channels):
    iters, warmup = 3, 1
    db = str(tmp_path / "tiled.db")
    p = cli("run", "-q", "-o", db, "--", BENCH, *SHAPE, "--out-channels", channels, "--method", "tiled",
            "--iters", iters, "--warmup", warmup, env=CLI_ENV)
    assert p.returncode == 0, p.stderr
    cu_plan = plan(p.stdout)["cu"]
    with cltrace.open(db) as t:
        regions, launches, devices = t.regions, t.launches, t.devices
    measured = regions[regions["name"] == LAYER]
    assert len(measured) == iters
    assert all(json.loads(x) == {"channels": str(channels), "method": "tiled"} for x in measured["tags"])
    L = launches.sort_values("seq")
    assert len(L) == iters + warmup and set(L["kernel_name"].astype(str)) == {"conv_tiled"}
    mine = L[L["region_id"].isin(measured["region_id"])]
    assert len(mine) == iters                           # one dispatch per measured iteration
    tiles = math.ceil(channels / TILE)
    assert (mine["driver_local"] == 0).all()            # explicit local size, recorded
    assert (mine["work_dim"] == 2).all()
    assert (mine["local0"] == LOCAL_X).all() and (mine["local1"] == 1).all()
    assert (mine["global0"] == LOCAL_X).all() and (mine["global1"] == tiles).all()
    assert (mine["work_groups"] == tiles).all()         # ceil(channels / 4)
    assert (mine["times_status"].astype(str) == "ok").all() and (mine["duration_ns"] > 0).all()
    assert set(devices["compute_units"]) == {cu_plan}   # the plan's CU is the device's


@pytest.mark.parametrize("channels", [3, 9])      # pyopencl and numpy are cltrace's own dependencies
def test_python_twin_tiled(channels):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "conv_bench.py"), *SHAPE, "--out-channels",
                        str(channels), "--method", "tiled", "--check", "--iters", "2"],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "check    ok" in p.stdout
    pl = plan(p.stdout)
    assert pl["work_groups"] == math.ceil(channels / TILE) and pl["local0"] == LOCAL_X
