"""conv_bench --method bifrost-rounds through the split layer (issue 22: a step at a job change names it).

bifrost's work-item shape (4 output channels per work-item, global x = ceil(C/4), local 4, -cl-std=CL2.0) with
the output plane folded into each work-item (global y = 1): few, heavy work-groups, so that where the split layer
runs the non-uniform range as its uniform regions, the remainder job costs a whole round of the compute units
(92 channels: 5 work-groups of 4 + a job of 3 work-items, 3 + 1 rounds on 2 compute units; 93: 6, 3 rounds).

Only what holds under load is asserted: the plan, --check under the split, the layer's job count, the report's
job change at 92->93, and, if the sweep's noise lets a step be found there, that its causes include job-count.
No timing and no step is required (examples/README.md has the measured sweep).
"""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLIT = os.path.join(ROOT, "examples", "bin", "libsplit_layer.so")
POCL_CACHE = os.environ.get("POCL_CACHE_DIR") or os.path.join(ROOT, ".pocl-cache")
KERNEL = "gemm_mm_f32_bifrost_rounds"
SHAPE = ["--layer", "resnet50.L15", "--scale", "0.25"]      # 7x7 output: each work-item loops over 49 outputs


@pytest.fixture(scope="module")
def split_layer(conv_bench):     # conv_bench's fixture runs `make -C examples`, which builds the layer too
    assert os.path.exists(SPLIT)
    return SPLIT


def bench(conv_bench, channels, layers=None):
    env = dict(os.environ, POCL_CACHE_DIR=POCL_CACHE)
    env.pop("OPENCL_LAYERS", None)
    if layers:
        env["OPENCL_LAYERS"] = layers
    return subprocess.run([conv_bench, *SHAPE, "--out-channels", str(channels), "--method", "bifrost-rounds",
                           "--check", "--iters", "2", "--warmup", "1"],
                          capture_output=True, text=True, env=env, timeout=300)


def test_uniform_count_runs_without_the_layer(conv_bench):
    p = bench(conv_bench, 93)
    assert p.returncode == 0, p.stderr
    assert "check    ok" in p.stdout
    assert f"{KERNEL} global 24x1, local 4x1: uniform, 1 job: 6 work-groups of 4" in p.stdout


def test_non_uniform_count_needs_the_layer_and_checks_under_it(conv_bench, split_layer):
    p = bench(conv_bench, 92)
    assert p.returncode == 1 and "libsplit_layer.so" in p.stderr and KERNEL in p.stderr
    p = bench(conv_bench, 92, layers=split_layer)
    assert p.returncode == 0, p.stderr
    assert "check    ok" in p.stdout
    assert (f"{KERNEL} global 23x1, local 4x1: non-uniform in x (20 + 3), 2 jobs where the runtime splits it: "
            "5 work-groups of 4 + 1 of 3") in p.stdout


def test_sweep_report_names_the_job_change(conv_bench, split_layer, cli, tmp_path):
    db = tmp_path / "rounds.db"
    env = {"OPENCL_LAYERS": split_layer, "POCL_CACHE_DIR": POCL_CACHE}
    p = cli("sweep", "-p", "channels=92,93", "--repeat", "3", "-o", db, "-q", "--", conv_bench, *SHAPE,
            "--out-channels", "{channels}", "--method", "bifrost-rounds", "--iters", "3", "--warmup", "1", env=env)
    assert p.returncode == 0, p.stderr
    text = cli("report", db)
    assert text.returncode == 0, text.stderr
    assert f"{KERNEL}: device jobs per launch: 1 at channels=93; 2 at channels=92" in text.stdout
    assert (f"channels=92->93: job removed: {KERNEL} global 24x1 with local 4x1 is uniform: one job "
            "(was 2 jobs: global 23x1 left 3x1 work-items (13.0% of the range) to a second job)") in text.stdout
    js = cli("report", "--format", "json", db)
    assert js.returncode == 0, js.stderr
    sc = json.loads(js.stdout)["staircase"]
    changes = {(c["from_value"], c["to_value"], c["kind"]) for c in sc["dispatch_changes"]}
    assert (92, 93, "job-removed") in changes
    assert (92, 93, "tile-padding") in changes        # the global size changes there too
    job = [j for j in sc["jobs"]["launches"] if j["kernel"] == KERNEL]
    assert {(int(j["value"]), j["jobs"], j["rounds"]) for j in job} >= {(92, 2, 4), (93, 1, 3)}
    for s in sc["steps"]:                             # a step is not required under load; if found, it names the job
        if (s["from_value"], s["to_value"]) == (92, 93):
            assert "job-count" in {c["kind"] for c in s["causes"]}, s
