"""The job model (non-uniform ranges as driver jobs), the targets table, what-if local sizes, and how they reach
dispatch changes and step causes. The seed paper's case: ACL's Bifrost GEMM computes 4 output channels per
work-item (global x = ceil(C/4)); with ACL 19.02's local hint of 4, a Mali-G72 runs a second job whenever
ceil(C/4) is not a multiple of 4."""
import math

import pandas as pd
import pytest

from cltrace.analysis.attribution import attribute, short_label
from cltrace.analysis.dispatch_changes import dispatch_changes
from cltrace.analysis.dispatch_jobs import config_jobs, job_context, job_summary
from cltrace.ranges import ranges_text
from cltrace.analysis.jobs import launch_jobs, total_jobs
from cltrace.analysis.targets import TARGETS, asks_non_uniform, default_policy, run_policies, target
from cltrace.analysis.whatif import parse_what_if

GEMM = "gemm_mm_floating_point_f32_bifrost"


def test_regions_of_a_two_dimensional_non_uniform_launch():
    j = launch_jobs(GEMM, "23x196", "8x8", "split", cores=12)
    assert j.regions == ((16, 7), (192, 4))
    assert (j.uniform, j.jobs, j.work_groups) == (False, 4, 3 * 25)
    assert j.remainder_items == 23 * 196 - 16 * 192 == 1436
    assert j.remainder_share == pytest.approx(1436 / (23 * 196))
    # rounds per job over 12 cores: 2x24 bulk groups, 1x24 (x remainder), 2x1 (y remainder), 1x1 (corner)
    assert j.rounds == math.ceil(48 / 12) + math.ceil(24 / 12) + 1 + 1


def test_one_dimension_and_the_policies():
    assert launch_jobs("k", "25", "4", "split").regions == ((24, 1),)
    assert launch_jobs("k", "25", "4", "split").jobs == 2
    assert launch_jobs("k", "24", "4", "split").jobs == 1
    assert launch_jobs("k", "25", "4", "masked").jobs == 1
    assert launch_jobs("k", "25", "4", "refuse").jobs is None
    assert launch_jobs("k", "24", "4", "refuse").jobs == 1
    assert launch_jobs("k", "3", "4", "split").regions == ((0, 3),)     # no bulk at all: one job
    assert launch_jobs("k", "3", "4", "split").jobs == 1
    assert launch_jobs("k", "25", "driver", "split") is None
    assert launch_jobs("k", "25x2", "4", "split") is None                # dimensions disagree
    assert total_jobs((("a", "25", "4", 7), ("b", "8", "driver", None)), "split") == 3
    assert total_jobs((("a", "25", "4", 7),), "refuse") is None


def seed_configs(local="8x8"):
    """ACL 20.08's requests for resnet50.L15 on a G72 (tests/integration/test_acl.py), channels 72..100."""
    rows = []
    for i, c in enumerate(range(72, 101)):
        gx = -(-c // 4)
        sig = (("im2col3x3_nchw", "196x9x128", "4x4", 3528),
               (GEMM, f"{gx}x196", local, -(-gx // 8) * 25),
               ("col2im", "12x784", "1x8", 1176))
        rows.append({"config_id": i, "channels": c, "group_label": "all", "signature": sig,
                     "signature_varies": False})
    return pd.DataFrame(rows)


def _what_if(configs, ctx):
    out = configs.copy()
    out["signature"] = [ctx.what_if.apply(s) for s in out["signature"]]
    return out


def test_the_seed_case_predicted_from_a_20_08_trace_with_19_02_s_hint():
    ctx = job_context(target("mali-g72-mp12"), parse_what_if([f"{GEMM}=4"]))
    cfg = _what_if(seed_configs(), ctx)
    jobs = config_jobs(cfg, "channels", ctx)
    summary = job_summary(jobs, cfg, "channels", ctx).iloc[0]
    assert summary["fast_values"] == [float(c) for c in list(range(77, 81)) + list(range(93, 97))]
    assert ranges_text(summary["fast_values"]) == "77..80, 93..96"
    at92 = jobs[(jobs["value"] == 92) & (jobs["kernel"] == GEMM)].iloc[0]
    assert (at92["global"], at92["local"], at92["jobs"]) == ("23x196", "4x1", 2)
    assert f"{at92['remainder_share']:.1%}" == "13.0%"
    changes = dispatch_changes(cfg, "channels", [], None, jobs=ctx)
    c92 = changes[(changes["kind"] == "job-removed") & (changes["from_value"] == 92)].iloc[0]
    assert c92["text"] == (f"job removed: {GEMM} global 24x196 with local 4x1 is uniform: one job (was 2 jobs: "
                           f"global 23x196 left 3x196 work-items (13.0% of the range) to a second job)")


def expected_job_pairs(configs, policy):
    """Independently of jobs.py: a pair changes jobs where the number of non-empty uniform regions of some
    launch differs (per dimension: 1 + (g % l != 0) when g >= l)."""
    def regions(g, loc):
        gs, ls = [int(v) for v in g.split("x")], [int(v) for v in loc.split("x")]
        return math.prod((gd >= ld) + (gd % ld != 0) for gd, ld in zip(gs, ls))
    seq = [(r["channels"], [regions(g, loc) for _, g, loc, _ in r["signature"]]) for r in configs.to_dict("records")]
    return {(a, b) for (a, ja), (b, jb) in zip(seq, seq[1:]) if ja != jb}


@pytest.mark.parametrize("local", ["8x8", "4x1", "4x4"])
def test_every_pair_whose_job_count_changes_is_listed(local):
    ctx = job_context(target("mali-g72-mp12"))
    cfg = seed_configs(local)
    changes = dispatch_changes(cfg, "channels", [], None, jobs=ctx)
    listed = {(r["from_value"], r["to_value"]) for r in changes.to_dict("records")
              if r["kind"] in ("extra-job", "job-removed")}
    want = expected_job_pairs(cfg, "split")
    assert listed == want and want          # 92 -> 93 and 96 -> 97 among them for 8x8 and 4x1
    if local != "4x4":
        assert {(92, 93), (96, 97)} <= listed


def test_no_job_changes_where_the_device_refuses_or_masks():
    cfg = seed_configs("4x1")
    for name in ("pocl-cpu", "gallium"):
        changes = dispatch_changes(cfg, "channels", [], None, jobs=job_context(target(name)))
        assert not changes["kind"].isin(["extra-job", "job-removed"]).any()
    refused = job_summary(config_jobs(cfg, "channels", job_context(target("pocl-cpu"))), cfg, "channels",
                          job_context(target("pocl-cpu"))).iloc[0]
    assert ranges_text(refused["fast_values"]) == "77..80, 93..96"
    assert refused["refused_values"] and 92.0 in refused["refused_values"]


def test_a_job_change_is_a_step_cause():
    a = ((GEMM, "24x196", "4x1", 1176),)
    b = ((GEMM, "25x196", "4x1", 1372),)
    causes = attribute(a, b, routine_global={GEMM}, jobs_policy="split", job_cores=12)
    assert [c.kind for c in causes] == ["job-count"]
    assert causes[0].text.startswith(f"extra job: {GEMM} global 25x196 with local 4x1 leaves 1x196 work-items "
                                     "(4.0% of the range) to a second job")
    assert short_label(causes) == "+job"
    assert [c.kind for c in attribute(a, b, routine_global={GEMM})] == ["unexplained"]   # no policy, no claim


def test_what_if_parsing_and_application():
    w = parse_what_if(["gemm_*=4", "col2im=2x2"])
    assert w.label == "what-if local gemm_*=4x1x1, col2im=2x2x1"
    assert w.apply((("gemm_mm", "23x196", "8x8", 75), ("im2col", "10", "driver", None))) == (
        ("gemm_mm", "23x196", "4x1", 6 * 196), ("im2col", "10", "driver", None))
    assert w.matched(["gemm_mm", "col2im", "x"]) == {"gemm_*": ["gemm_mm"], "col2im": ["col2im"]}
    assert parse_what_if(None) is None
    for bad in ("gemm", "gemm=0", "gemm=4x", "=4", "gemm=4x1x1x1", "gemm=a"):
        with pytest.raises(ValueError) as e:
            parse_what_if([bad])
        assert str(e.value) == ("--what-if-local takes KERNEL_GLOB=L[xL[xL]] with positive whole sizes, e.g. "
                                f"'gemm_mm*=4' or 'conv=8x8x1', not {bad!r}")


def test_build_options_that_ask_for_non_uniform_work_groups():
    assert asks_non_uniform("-cl-arm-non-uniform-work-group-size -DX=1") is True
    assert asks_non_uniform("-cl-std=CL2.0") is True
    assert asks_non_uniform("-cl-std=CL3.0 -cl-uniform-work-group-size") is False
    assert asks_non_uniform("-cl-std=CL1.2") is False
    assert asks_non_uniform("") is False
    assert asks_non_uniform(None) is None


@pytest.mark.parametrize("facts,policy", [
    (dict(name="cpu-haswell-Intel(R) Core(TM) i7", platform="Portable Computing Language",
          opencl_version="OpenCL 3.0 PoCL 3.1", non_uniform_wg=0, options="-cl-std=CL2.0"), "refuse"),
    (dict(name="Mali-G72", platform="Portable Computing Language", opencl_version="OpenCL 3.0 PoCL",
          extensions="cl_khr_fp64 cl_arm_non_uniform_work_group_size",
          options="-cl-arm-non-uniform-work-group-size"), "split"),
    (dict(name="cpu-znver2-AMD EPYC", platform="Portable Computing Language", non_uniform_wg=0,
          extensions="cl_khr_fp64 cl_arm_non_uniform_work_group_size", options="-cl-std=CL2.0"), "split"),
    (dict(name="pthread-skylake-avx512-AMD EPYC", platform="Portable Computing Language", non_uniform_wg=1,
          extensions="cl_khr_fp64", options="-cl-std=CL2.0"), "split"),
    (dict(name="Intel(R) UHD Graphics 620", platform="Intel(R) OpenCL Graphics", opencl_version="OpenCL 3.0 NEO",
          non_uniform_wg=1, options="-cl-std=CL2.0"), "split"),
    (dict(name="AMD Radeon (radeonsi)", platform="rusticl", non_uniform_wg=1, options="-cl-std=CL3.0"), "masked"),
    (dict(name="Mali-G72", extensions="cl_arm_non_uniform_work_group_size", options="-cl-std=CL1.2"), "refuse"),
    (dict(name="Mali-T628", opencl_version="OpenCL 1.2 v1.r12p0"), "refuse"),
    (dict(name="SomeAccelerator", non_uniform_wg=1, options="-cl-std=CL2.0"), None),
])
def test_default_policy_from_the_recorded_facts(facts, policy):
    got, reason = default_policy(**facts)
    assert got == policy and reason


def test_run_policies_from_trace_tables():
    devices = pd.DataFrame([
        {"run_id": 1, "name": "Mali-G72", "vendor": "x", "platform_name": "Portable Computing Language",
         "extensions": "cl_arm_non_uniform_work_group_size", "opencl_version": "OpenCL 3.0", "non_uniform_wg": 0},
        {"run_id": 2, "name": "cpu-x", "vendor": "x", "platform_name": "Portable Computing Language",
         "extensions": "cl_khr_fp64", "opencl_version": "OpenCL 3.0", "non_uniform_wg": 0}])
    options = pd.DataFrame([{"run_id": 1, "options": "-cl-arm-non-uniform-work-group-size"},
                            {"run_id": 2, "options": ""}])
    got = run_policies(devices, options)
    assert got[1][0] == "split" and got[2][0] == "refuse"


def test_every_target_names_its_sources_and_unknowns_stay_unknown():
    for t in TARGETS.values():
        assert t.sources and t.policy in ("split", "masked", "refuse")
    assert TARGETS["mali-g72-mp12"].cores == 12 and TARGETS["intel-gen"].cores is None
    with pytest.raises(ValueError, match="unknown target 'mali'"):
        target("mali")
