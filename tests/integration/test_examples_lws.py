"""conv_bench --method direct --local auto: an explicit, ACL-like work-group size that cltrace records.

The rule (examples/README.md, `conv_auto_local` in examples/conv_methods.c), for the channel-first global
size (C_out, Ho, Wo) and budget = min(64, CL_KERNEL_WORK_GROUP_SIZE):
local[0] = largest of 8, 4, 2, 1 dividing C_out; then local[2] for Wo and local[1] for Ho the same way,
each keeping the product within the budget. Tiny shapes: a few seconds.
"""
import os
import subprocess

import pytest

import cltrace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
BENCH = os.path.join(EXAMPLES, "bin", "conv_bench")
ENV = dict(os.environ, POCL_CACHE_DIR=os.environ.get("POCL_CACHE_DIR") or os.path.join(ROOT, ".pocl-cache"))

# 12x12 input, 3x3 kernel, pad 1 -> Ho = Wo = 12 (divisible by 4, not 8)
SHAPE = ["--input", "12x12x4", "--kernel", "3", "--pad", "1"]
HW = 12
MAX_WG = 4096          # PoCL's CL_KERNEL_WORK_GROUP_SIZE for direct_conv on the CPU device


def expected_local(c_out, ho=HW, wo=HW, max_wg=MAX_WG):
    """The documented --local auto rule, written independently of the C code."""
    budget = min(64, max_wg)

    def pick(n, cap):
        return next(v for v in (8, 4, 2, 1) if n % v == 0 and v <= cap)

    l0 = pick(c_out, budget)
    l2 = pick(wo, budget // l0)
    l1 = pick(ho, budget // (l0 * l2))
    return l0, l1, l2


@pytest.fixture(scope="module")
def bench(conv_bench):
    assert conv_bench == BENCH
    return BENCH


def run_bench(*args):
    return subprocess.run([BENCH, *SHAPE, *map(str, args)], capture_output=True, text=True, env=ENV,
                          timeout=300)


def test_rule_examples():
    # the paper's neighbourhood (Table V: 90/91/92/93 channels) on a 12x12 output
    assert expected_local(88) == (8, 2, 4)
    assert expected_local(90) == (2, 4, 4)
    assert expected_local(91) == (1, 4, 4)
    assert expected_local(92) == (4, 4, 4)
    assert expected_local(96) == (8, 2, 4)
    assert expected_local(96, max_wg=16) == (8, 1, 2)
    assert expected_local(7, ho=7, wo=7) == (1, 1, 1)


@pytest.mark.parametrize("channels", [5, 6, 8, 12])
def test_check_passes_with_local_auto(bench, channels):
    p = run_bench("--out-channels", channels, "--method", "direct", "--local", "auto", "--check", "--iters", 2)
    assert p.returncode == 0, p.stderr
    assert "check    ok" in p.stdout
    l0, l1, l2 = expected_local(channels)
    assert f"local {l0}x{l1}x{l2} (--local auto" in p.stdout, p.stdout


def test_null_is_default_and_explicit(bench):
    p = run_bench("--out-channels", 6, "--method", "direct", "--local", "null", "--check", "--iters", 1)
    assert p.returncode == 0, p.stderr
    assert "local chosen by the runtime" in p.stdout


def test_traced_run_records_rule_local_sizes(bench, cli, tmp_path):
    want = {}
    for channels in (6, 7, 8, 12):
        db = str(tmp_path / f"lws{channels}.db")
        p = cli("run", "-q", "-o", db, "--", BENCH, *SHAPE, "--out-channels", channels, "--method", "direct",
                "--local", "auto", "--iters", 3, "--warmup", 1, env={"POCL_CACHE_DIR": ENV["POCL_CACHE_DIR"]})
        assert p.returncode == 0, p.stderr
        with cltrace.open(db) as t:
            L = t.launches
        L = L[L["kernel_name"] == "direct_conv"]
        assert len(L) == 4, L                                   # 1 warm-up + 3 measured
        assert (L["driver_local"] == 0).all()
        got = set(zip(L["local0"].astype(int), L["local1"].astype(int), L["local2"].astype(int)))
        want[channels] = expected_local(channels)
        assert got == {want[channels]}, (channels, got)
        assert (L["global0"] == channels).all() and (L["global1"] == HW).all() and (L["global2"] == HW).all()
        l0, l1, l2 = want[channels]
        assert (L["work_groups"] == (channels // l0) * (HW // l1) * (HW // l2)).all()
    # the channel dimension of the split follows the divisibility of C_out
    assert [want[c][0] for c in (6, 7, 8, 12)] == [2, 1, 8, 4]


def test_local_null_records_driver_choice(bench, cli, tmp_path):
    db = str(tmp_path / "null.db")
    p = cli("run", "-q", "-o", db, "--", BENCH, *SHAPE, "--out-channels", 6, "--method", "direct", "--iters", 2,
            env={"POCL_CACHE_DIR": ENV["POCL_CACHE_DIR"]})
    assert p.returncode == 0, p.stderr
    with cltrace.open(db) as t:
        L = t.launches
    L = L[L["kernel_name"] == "direct_conv"]
    assert (L["driver_local"] == 1).all() and L["local0"].isna().all()


@pytest.mark.parametrize("args, message", [
    (["--method", "direct", "--local", "foo"], "invalid value 'foo' for --local (expected null or auto)"),
    (["--method", "gemm", "--local", "auto"],
     "--local applies to --method direct only (gemm uses its own explicit local sizes)"),
    (["--method", "direct", "--local"], "option --local needs a value"),
])
def test_bad_local_is_usage_error(bench, args, message):
    p = run_bench("--out-channels", 6, *args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr == f"conv_bench: {message}\n", p.stderr
