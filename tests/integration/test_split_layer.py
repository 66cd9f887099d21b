"""The split layer (examples/acl_compat built with -DACL_COMPAT_SPLIT_ONLY, docs/acl.md): a launch whose local
size does not divide its global size runs on PoCL as its uniform regions, one job each, while cltrace (loaded
nearer the program) records the launch as the program asked for it, and the layer's job count reaches the trace
as a `layer` note.

tests/programs/nonuniform.c is the OpenCL 2.0 host program; conv_bench --method bifrost the native workload
shaped like ACL's Bifrost GEMM (global x = ceil(C/4), local 4).
"""
import json
import os
import re
import subprocess

import pytest

from cltrace import Trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLIT = os.path.join(ROOT, "examples", "bin", "libsplit_layer.so")
ENV = dict(os.environ, POCL_CACHE_DIR=os.environ.get("POCL_CACHE_DIR") or os.path.join(ROOT, ".pocl-cache"))
SPIN = "300000"          # spin loop per work-item: regions of a few ms each


@pytest.fixture(scope="module")
def split_layer(conv_bench):     # conv_bench's fixture runs `make -C examples`, which builds the layer too
    assert os.path.exists(SPLIT)
    return SPLIT


def run(argv, layers=None, **env):
    e = dict(ENV, **env)
    e.pop("OPENCL_LAYERS", None)
    if layers:
        e["OPENCL_LAYERS"] = layers
    return subprocess.run(argv, capture_output=True, text=True, env=e, timeout=300)


def fields(stdout):
    return dict(kv.split("=", 1) for kv in re.findall(r"\b\w+=\S+", stdout))


def test_pocl_alone_refuses_the_non_uniform_range(programs):
    p = run([programs("nonuniform"), "25", "4"])
    assert p.returncode == 3 and "enqueue: -54" in p.stdout      # CL_INVALID_WORK_GROUP_SIZE (pocl#782)


@pytest.mark.parametrize("queue", ["in-order", "out-of-order"])
@pytest.mark.parametrize("sizes", [("23x196", "8x8"), ("25", "4"), ("5x7", "4x8"), ("3x5", "4x8")])
def test_split_gives_the_buffer_of_a_uniform_run(programs, split_layer, queue, sizes):
    extra = ["--out-of-order"] if queue == "out-of-order" else []
    p = run([programs("nonuniform"), *sizes, "--spin", "1000", *extra], layers=split_layer)
    assert p.returncode == 0, p.stdout + p.stderr
    f = fields(p.stdout)
    assert f["same"] == "1"
    assert f["command_type"] == "ndrange"       # a marker on an out-of-order queue still says NDRANGE_KERNEL
    assert f["queued_le_start"] == "1"


def test_local_larger_than_global_runs_as_one_region_of_its_own_size(programs, split_layer):
    p = run([programs("nonuniform"), "3x5", "4x8", "--spin", "1000"], layers=split_layer, ACL_COMPAT_LOG="1")
    assert p.returncode == 0, p.stdout + p.stderr
    counts = json.loads(p.stderr.split("split: counts ", 1)[1].splitlines()[0])
    ids = {k["name"]: k for k in counts["kernels"]}["write_ids"]
    assert ids == {"name": "write_ids", "launches": 2, "split_launches": 2, "jobs": 2}     # non-uniform, one job


def test_split_event_covers_every_region_on_an_in_order_queue(programs, split_layer):
    # spin over global 5, local 4: a bulk of 4 work-items and a remainder of 1 (4x the loop), about as long each,
    # run one after the other; the event the program gets must time both (START from the first region, END
    # from the last), not one of them
    p = run([programs("nonuniform"), "25", "4", "--spin", SPIN], layers=split_layer)
    assert p.returncode == 0, p.stdout + p.stderr
    f = fields(p.stdout)
    d1, d2 = map(int, f["regions_ns"].split("+"))
    assert 0.4 < d2 / d1 < 2.5, p.stdout            # comparable regions: one alone is well under their sum
    assert int(f["split_ns"]) >= 0.8 * (d1 + d2), p.stdout


def test_traced_launch_keeps_the_request_and_the_note_counts_the_jobs(programs, split_layer, cli, tmp_path):
    db = tmp_path / "split.db"
    p = cli("run", "-o", db, "--", programs("nonuniform"), "23x196", "8x8", "--spin", SPIN,
            env={"OPENCL_LAYERS": split_layer, "POCL_CACHE_DIR": ENV["POCL_CACHE_DIR"]})
    assert p.returncode == 0, p.stderr
    with Trace(str(db)) as t:
        launches = t.launches.sort_values("seq")
        notes = t.notes
    ids = launches[launches["kernel_name"] == "write_ids"]
    # one launch each (the event one and the event-NULL one), as the program asked for it
    assert len(ids) == 2
    sizes = {(int(r.global0), int(r.global1), int(r.local0), int(r.local1)) for r in ids.itertuples()}
    assert sizes == {(23, 196, 8, 8)}
    assert set(ids["times_status"]) == {"ok"}       # the event-NULL launch is timed through cltrace's own event
    layer = [json.loads(m) for m in notes.loc[notes["kind"] == "layer", "message"]]
    assert len(layer) == 1 and layer[0]["layer"] == "split"
    per_kernel = {k["name"]: k for k in layer[0]["kernels"]}
    # 23x196 with local 8x8: 16+7 by 192+4, four regions, each one job, at each of the two launches
    assert per_kernel["write_ids"] == {"name": "write_ids", "launches": 2, "split_launches": 2, "jobs": 8}
    # spin: a warm-up and 5 rounds, 2 regions each; spin_ref: 2 warm-ups and 2 uniform launches a round
    assert per_kernel["spin"] == {"name": "spin", "launches": 6, "split_launches": 6, "jobs": 12}
    assert per_kernel["spin_ref"]["jobs"] == per_kernel["spin_ref"]["launches"] == 12
    assert layer[0]["launches"] == len(launches)     # the layer saw each launch cltrace recorded, once
    # the traced duration of the split spin launches covers their two regions (spin_ref: the same regions one by
    # one); minimums over the 5 rounds (the warm-ups left out)
    spin = launches[launches["kernel_name"] == "spin"].iloc[1:]
    ref = launches[launches["kernel_name"] == "spin_ref"].iloc[2:]
    bulk, rem = ref[ref["global0"] == 4], ref[ref["global0"] == 1]
    assert len(spin) == len(bulk) == len(rem) == 5
    assert int(spin["duration_ns"].min()) >= 0.8 * (int(bulk["duration_ns"].min()) + int(rem["duration_ns"].min()))
    report = cli("report", db)
    assert report.returncode == 0, report.stderr
    assert "Layers below cltrace" in report.stdout
    assert "write_ids: device jobs per launch: 4" in report.stdout


BIFROST = "gemm_mm_f32_bifrost_like"
SHAPE = ["--layer", "resnet50.L15", "--scale", "0.25"]      # 7x7 output: N = 49


def test_bifrost_without_the_layer_says_to_use_it(conv_bench):
    p = run([conv_bench, *SHAPE, "--out-channels", "92", "--method", "bifrost", "--iters", "1"])
    assert p.returncode == 1
    assert "CL_INVALID_WORK_GROUP_SIZE" in p.stderr and "libsplit_layer.so" in p.stderr
    assert "Traceback" not in p.stderr


def test_bifrost_uniform_count_runs_without_the_layer(conv_bench):
    p = run([conv_bench, *SHAPE, "--out-channels", "93", "--method", "bifrost", "--iters", "1", "--check"])
    assert p.returncode == 0, p.stderr
    assert f"{BIFROST} global 24x49, local 4x1: uniform, 1 job" in p.stdout


@pytest.mark.parametrize("channels, gx, jobs", [(92, 23, 2), (93, 24, 1), (97, 25, 2), (76, 19, 2), (80, 20, 1)])
def test_bifrost_traced_through_the_split_layer(conv_bench, split_layer, cli, tmp_path, channels, gx, jobs):
    db = tmp_path / f"bifrost{channels}.db"
    iters, warmup = 3, 1
    p = cli("run", "-o", db, "--", conv_bench, *SHAPE, "--out-channels", channels, "--method", "bifrost", "--check",
            "--iters", iters, "--warmup", warmup,
            env={"OPENCL_LAYERS": split_layer, "POCL_CACHE_DIR": ENV["POCL_CACHE_DIR"]})
    assert p.returncode == 0, p.stderr
    assert "check    ok" in p.stdout
    with Trace(str(db)) as t:
        launches = t.launches
        notes = t.notes
    gemm = launches[launches["kernel_name"] == BIFROST]
    # one traced launch per iteration, with ACL's shape as asked: global ceil(C/4) x N, local 4 x 1
    assert len(gemm) == iters + warmup
    sizes = {(int(r.global0), int(r.global1), int(r.local0), int(r.local1)) for r in gemm.itertuples()}
    assert sizes == {(gx, 49, 4, 1)}
    assert len(gemm[gemm["region_id"].notna()]) == iters
    layer = json.loads(notes.loc[notes["kind"] == "layer", "message"].iloc[0])
    k = {x["name"]: x for x in layer["kernels"]}[BIFROST]
    assert k["launches"] == iters + warmup
    assert k["jobs"] == jobs * (iters + warmup)
    assert k["split_launches"] == (iters + warmup if jobs == 2 else 0)


def test_pocl_runs_the_regions_the_layer_counts(conv_bench, split_layer):
    """PoCL's own account (POCL_DEBUG=general prints each launch it prepares, with its local size and work-group
    counts): at 92 channels each iteration is a 20-wide job of local 4 and a 3-wide one of local 3."""
    p = run([conv_bench, *SHAPE, "--out-channels", "92", "--method", "bifrost", "--iters", "2", "--warmup", "1"],
            layers=split_layer, POCL_DEBUG="general")
    assert p.returncode == 0, p.stderr
    jobs = re.findall(rf"Preparing kernel {BIFROST} with local size (\d+) x 1 x 1 group sizes (\d+) x 49 x 1",
                      p.stderr)
    assert sorted(jobs) == [("3", "1")] * 3 + [("4", "5")] * 3
