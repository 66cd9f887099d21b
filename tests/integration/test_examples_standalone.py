"""The example programs on their own (no `cltrace run`): build, correctness, errors, region calls.

examples/bin/conv_bench (C) and examples/conv_bench.py (pyopencl) run tiny layers with
--check; bad command lines give one exact line on stderr and exit 2; the region API
(native/include/cltrace.h and cltrace/region.py) calls a shim named by CLTRACE_SHIM with
one region per iteration, and is a silent no-op without one.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")
BENCH = os.path.join(EXAMPLES, "bin", "conv_bench")
BENCH_PY = os.path.join(EXAMPLES, "conv_bench.py")
REGION_PY = os.path.join(ROOT, "cltrace", "region.py")

# A real shared library without the region symbols (the API must ignore it).
NOT_A_SHIM = next((p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6", "/usr/lib/libm.so.6")
                   if os.path.exists(p)), "/nonexistent/libm.so.6")

TINY = ["--input", "10x10x8", "--kernel", "3", "--pad", "1", "--iters", "2", "--warmup", "1"]

FAKE_SHIM_C = textwrap.dedent("""
    #include <stdio.h>
    #include <stdlib.h>
    static FILE *out(void)
    {
        static FILE *f;
        if (!f) { f = fopen(getenv("FAKE_SHIM_OUT"), "a"); setvbuf(f, NULL, _IOLBF, 0); }
        return f;
    }
    void cltrace_region_begin_impl(const char *name, const char *tags) { fprintf(out(), "begin %s %s\\n", name, tags); }
    void cltrace_region_end_impl(void) { fprintf(out(), "end\\n"); }
""")


def _env(**extra):
    env = dict(os.environ)
    env.pop("CLTRACE_SHIM", None)
    env.pop("OPENCL_LAYERS", None)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    env.update(extra)
    return env


def run(args, **env):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=_env(**env))


@pytest.fixture(scope="session")
def bench(conv_bench):
    assert conv_bench == BENCH
    probe = run([BENCH] + TINY + ["--out-channels", "1", "--iters", "1", "--warmup", "0"])
    if "no OpenCL platform" in probe.stderr or "no OpenCL device" in probe.stderr:
        pytest.skip("no OpenCL device: " + probe.stderr.strip())
    return BENCH


@pytest.fixture(scope="session")
def fake_shim(tmp_path_factory):
    d = tmp_path_factory.mktemp("fake_shim")
    src, lib = d / "fake_shim.c", d / "libfake_shim.so"
    src.write_text(FAKE_SHIM_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return str(lib)


def _has_pyopencl():
    try:
        import numpy  # noqa: F401
        import pyopencl  # noqa: F401
    except ImportError:
        return False
    return True


needs_pyopencl = pytest.mark.skipif(not _has_pyopencl(), reason="pyopencl/numpy not installed")


# ---------------------------------------------------------------- C program: correctness

@pytest.mark.parametrize("method", ["gemm", "direct", "clblast"])
@pytest.mark.parametrize("channels", [7, 8])
def test_methods_check(bench, method, channels):
    proc = run([bench] + TINY + ["--out-channels", str(channels), "--method", method, "--check"])
    if method == "clblast" and "built without CLBlast" in proc.stderr:
        pytest.skip("conv_bench built without CLBlast")
    assert proc.returncode == 0, proc.stderr
    assert "check    ok (64 sampled outputs" in proc.stdout
    assert f"RESULT layer=custom.10x10x8.k3s1p1 method={method} channels={channels} median_ms=" in proc.stdout


def test_gemm_tail_dispatch_only_for_non_multiples_of_4(bench):
    seven = run([bench] + TINY + ["--out-channels", "7"])
    eight = run([bench] + TINY + ["--out-channels", "8"])
    assert "method   gemm: im2col, gemm_v4 (1 x 4 channels), gemm_tail (3 channels)" in seven.stdout
    assert "method   gemm: im2col, gemm_v4 (2 x 4 channels)\n" in eight.stdout


def test_builtin_layer_scaled_with_stride(bench):
    proc = run([bench, "--layer", "resnet50.L11", "--scale", "0.125", "--out-channels", "5", "--iters", "1",
                "--warmup", "0", "--check"])
    assert proc.returncode == 0, proc.stderr
    assert "layer    resnet50.L11  input 7x7x256  kernel 1 stride 2 pad 0" in proc.stdout
    assert "output   5 x 4x4   (GEMM view: M=5 N=16 K=256)" in proc.stdout


def test_fewer_than_4_channels_runs_only_the_tail(bench):
    proc = run([bench] + TINY + ["--out-channels", "2", "--check"])
    assert proc.returncode == 0, proc.stderr
    assert "gemm_v4 (0 x 4 channels), gemm_tail (2 channels)" in proc.stdout


# ---------------------------------------------------------------- C program: command line

BAD_INPUTS = [
    (["--method", "winograd", "--layer", "vgg16.L1"],
     "unknown method 'winograd' (expected gemm, direct, clblast, tiled, bifrost or bifrost-rounds)"),
    (["--layer", "resnet50.L99"], "unknown layer 'resnet50.L99' (see --list-layers)"),
    (["--layer", "vgg16.L1", "--out-channels", "0"],
     "invalid value '0' for --out-channels (expected an integer >= 1)"),
    (["--layer", "vgg16.L1", "--iters", "ten"], "invalid value 'ten' for --iters (expected an integer >= 1)"),
    (["--layer", "vgg16.L1", "--scale", "0"], "invalid value '0' for --scale (expected a number in (0, 4])"),
    (["--input", "56x56", "--kernel", "3", "--out-channels", "4"],
     "invalid value '56x56' for --input (expected HxWxC, e.g. 56x56x64)"),
    (["--input", "8x8x4", "--out-channels", "4"], "--input needs --kernel"),
    (["--input", "8x8x4", "--kernel", "3"], "--input needs --out-channels"),
    (["--input", "2x2x4", "--kernel", "5", "--out-channels", "4"],
     "kernel 5 does not fit the 2x2 input with pad 0 (raise --scale)"),
    (["--layer", "vgg16.L1", "--input", "8x8x4"], "--layer and --input are mutually exclusive"),
    (["--layer", "vgg16.L1", "--kernel", "3"], "--kernel, --stride and --pad go with --input, not --layer"),
    (["--layer", "vgg16.L1", "--frobnicate"], "unknown option '--frobnicate' (see --help)"),
    (["--layer"], "option --layer needs a value"),
    (["vgg16.L1"], "unexpected argument 'vgg16.L1' (see --help)"),
    ([], "give --layer NAME or --input HxWxC (see --help)"),
    (["--layer", "vgg16.L1", "--out-channels", "3,0"],
     "invalid value '3,0' for --out-channels (expected an integer >= 1 or a list N1,N2,... of them)"),
    (["--layer", "vgg16.L1", "--out-channels", "3,"],
     "invalid value '3,' for --out-channels (expected an integer >= 1 or a list N1,N2,... of them)"),
    (["--layer", "vgg16.L1", "--out-channels", "3,5,3"],
     "--out-channels 3,5,3: 3 appears twice (a process measures each count once)"),
    (["--layer", "vgg16.L1", "--out-channels", "3", "--order-seed", "4"],
     "--order-seed orders a list of counts: give --out-channels N1,N2,..."),
    (["--layer", "vgg16.L1", "--out-channels", "3,4", "--order-seed", "-1"],
     "invalid value '-1' for --order-seed (expected an integer >= 0)"),
    (["--layer", "vgg16.L1", "--aa-label", "dummy"],
     "invalid value 'dummy' for --aa-label (expected NAME=V1,V2,... with whole numbers)"),
    (["--layer", "vgg16.L1", "--aa-label", "d=1,x"],
     "invalid value 'd=1,x' for --aa-label (expected NAME=V1,V2,... with whole numbers)"),
    (["--layer", "vgg16.L1", "--aa-label", "d=2,2"], "--aa-label d=2,2: 2 appears twice"),
    (["--layer", "vgg16.L1", "--out-channels", "3,4", "--aa-label", "d=1,2"],
     "--aa-label measures one channel count: give --out-channels N, not a list"),
    (["--layer", "vgg16.L1", "--out-channels", "3,4", "--warmup-per", "each"],
     "invalid value 'each' for --warmup-per (expected count or variant)"),
]


@pytest.mark.parametrize("args,message", BAD_INPUTS)
def test_bad_input(bench, args, message):
    proc = run([bench] + args)
    assert proc.returncode == 2
    assert proc.stderr == f"conv_bench: {message}\n"
    assert proc.stdout == ""


def test_platform_that_matches_nothing(bench):
    proc = run([bench] + TINY + ["--out-channels", "4", "--platform", "NoSuchVendor"])
    assert proc.returncode == 2
    assert proc.stderr == "conv_bench: no OpenCL platform with a device matches 'NoSuchVendor'\n"


def test_help(bench):
    proc = run([bench, "--help"])
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: conv_bench (--layer NAME | --input HxWxC")


def test_list_layers(bench):
    proc = run([bench, "--list-layers"])
    assert proc.returncode == 0
    names = [line.split()[0] for line in proc.stdout.splitlines() if line and not line.startswith("#")][1:]
    assert names == ([f"resnet50.L{i}" for i in range(1, 50)] + [f"resnet50.P{i}" for i in range(2, 6)]
                     + [f"vgg16.L{i}" for i in range(1, 14)] + [f"alexnet.L{i}" for i in range(1, 6)])
    rows = {line.split()[0]: line.split()[1:6] for line in proc.stdout.splitlines()[5:]}
    assert rows["resnet50.L3"] == ["56x56x64", "3", "1", "1", "64"]
    assert rows["resnet50.L15"] == ["28x28x128", "3", "1", "1", "128"]
    assert rows["resnet50.L16"] == ["28x28x128", "1", "1", "0", "512"]
    assert rows["resnet50.L49"] == ["7x7x512", "1", "1", "0", "2048"]
    assert rows["vgg16.L6"] == ["56x56x256", "3", "1", "1", "256"]
    assert rows["alexnet.L1"] == ["227x227x3", "11", "4", "0", "96"]


# ---------------------------------------------------------------- regions

def _regions(path):
    with open(path) as f:
        return f.read().splitlines()


def test_c_regions_one_per_iteration(bench, fake_shim, tmp_path):
    out = tmp_path / "regions.txt"
    proc = run([bench] + TINY[:6] + ["--out-channels", "6", "--iters", "3", "--warmup", "2"],
               CLTRACE_SHIM=fake_shim, FAKE_SHIM_OUT=str(out))
    assert proc.returncode == 0, proc.stderr
    tags = "channels=6,method=gemm"
    meas = ["begin custom.10x10x8.k3s1p1 " + tags, "end"]
    assert _regions(out) == meas * 3          # warm-up runs are no region


def test_c_channel_list_measures_each_count_in_one_process(bench, fake_shim, tmp_path):
    """--out-channels 6,2,9: one process, each count with its own regions (tagged with it) and RESULT line, in
    the order given, iterations interleaved; --order-seed draws another order, the same for the same seed;
    each count's result is the one a process of that count alone computes (--check)."""
    out = tmp_path / "regions.txt"
    proc = run([bench] + TINY[:6] + ["--out-channels", "6,2,9", "--iters", "2", "--warmup", "1", "--check"],
               CLTRACE_SHIM=fake_shim, FAKE_SHIM_OUT=str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("check    ok (64 sampled outputs") == 3
    assert [line.split()[3] for line in proc.stdout.splitlines() if line.startswith("RESULT")] == \
        ["channels=6", "channels=2", "channels=9"]
    # iterations interleaved: each round one iteration of every count, in the order given
    assert _regions(out) == sum((["begin custom.10x10x8.k3s1p1 channels=%d,method=gemm" % c, "end"]
                                 for c in (6, 2, 9)), []) * 2

    def order(seed):
        p = run([bench] + TINY + ["--out-channels", "1,2,3,4,5,6,7,8", "--iters", "1", "--warmup", "0",
                                  "--order-seed", str(seed)])
        assert p.returncode == 0, p.stderr
        return [int(line.split()[3].split("=")[1]) for line in p.stdout.splitlines() if line.startswith("RESULT")]
    first = order(5)
    assert sorted(first) == list(range(1, 9)) and first != list(range(1, 9))
    assert order(5) == first and order(6) != first


def _warmup_line(stdout):
    return [line for line in stdout.splitlines() if line.startswith("warm-up")]


@pytest.mark.parametrize("method,counts,warmed", [
    ("tiled", "6,2,5,9", "2, 5, 9"),  # one work-group per 4 channels: 5 and 6 launch the same (64 x 2) range
    ("gemm", "8,5,4", "4, 5, 8"),     # gemm_v4's and gemm_tail's ranges follow every count
    ("clblast", "3,1,4,2", "4"),      # CLBlast picks its launches: the largest count, and every count by calls
                                      # with k = 1 (its direct kernel at the count's sizes)
])
def test_c_warmup_per_variant(bench, fake_shim, tmp_path, method, counts, warmed):
    """--warmup-per variant: the warm-up runs go to the first count, in count order, of each variant of the list
    (the same kernels with the same global and local sizes); the others get none of their own; the regions
    (measured runs) and the results are those of --warmup-per count."""
    out = tmp_path / "regions.txt"
    base = [bench] + TINY[:6] + ["--out-channels", counts, "--method", method, "--iters", "2", "--warmup", "2",
                                 "--check"]
    proc = run(base + ["--warmup-per", "variant"], CLTRACE_SHIM=fake_shim, FAKE_SHIM_OUT=str(out))
    if "built without CLBlast" in proc.stderr:
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    direct = "; every count: as many CLBlast calls with k = 1" if method == "clblast" else ""
    assert _warmup_line(proc.stdout) == [f"warm-up  2 run(s) each of channels {warmed}, once per kernel variant "
                                         f"of the list (--warmup-per variant){direct}"]
    n = len(counts.split(","))
    assert proc.stdout.count("check    ok (64 sampled outputs") == n
    own = re.findall(r"after (\d) warm-up of its own", proc.stdout)
    assert sorted(own) == sorted(["2"] * len(warmed.split(",")) + ["0"] * (n - len(warmed.split(","))))
    tags = [f"begin custom.10x10x8.k3s1p1 channels={c},method={method}" for c in counts.split(",")]
    assert _regions(out) == sum(([t, "end"] for t in tags), []) * 2
    every = run(base)                                     # the default: every count its own warm-up runs
    assert every.returncode == 0, every.stderr
    assert _warmup_line(every.stdout) == [] and every.stdout.count("after 2 warm-up)") == n


def test_c_aa_label_measures_one_count_once_per_value(bench, fake_shim, tmp_path):
    out = tmp_path / "regions.txt"
    proc = run([bench] + TINY[:6] + ["--out-channels", "6", "--iters", "1", "--warmup", "0",
                                     "--aa-label", "dummy=4,9"], CLTRACE_SHIM=fake_shim, FAKE_SHIM_OUT=str(out))
    assert proc.returncode == 0, proc.stderr
    assert _regions(out) == ["begin custom.10x10x8.k3s1p1 channels=6,method=gemm,dummy=4", "end",
                             "begin custom.10x10x8.k3s1p1 channels=6,method=gemm,dummy=9", "end"]


def test_c_regions_without_shim_or_with_a_bad_one(bench, tmp_path):
    for shim in ("", str(tmp_path / "missing.so"), NOT_A_SHIM):
        proc = run([bench] + TINY + ["--out-channels", "4"], CLTRACE_SHIM=shim)
        assert proc.returncode == 0, (shim, proc.stderr)
        assert proc.stderr == ""


# ---------------------------------------------------------------- Python twin

@needs_pyopencl
@pytest.mark.parametrize("method", ["gemm", "direct"])
def test_python_twin_check(method):
    proc = run([sys.executable, BENCH_PY] + TINY + ["--out-channels", "7", "--method", method, "--check"])
    assert proc.returncode == 0, proc.stderr
    assert "check    ok (64 sampled outputs" in proc.stdout
    assert f"RESULT layer=custom.10x10x8.k3s1p1 method={method} channels=7 median_ms=" in proc.stdout


@needs_pyopencl
def test_python_twin_regions(fake_shim, tmp_path):
    out = tmp_path / "regions.txt"
    proc = run([sys.executable, BENCH_PY, "--layer", "resnet50.L15", "--scale", "0.125", "--out-channels", "5",
                "--method", "direct", "--iters", "2", "--warmup", "1"],
               CLTRACE_SHIM=fake_shim, FAKE_SHIM_OUT=str(out))
    assert proc.returncode == 0, proc.stderr
    tags = "channels=5,method=direct"
    assert _regions(out) == ["begin resnet50.L15 " + tags, "end"] * 2


@pytest.mark.parametrize("args,message", [
    (["--method", "winograd", "--layer", "vgg16.L1"],
     "unknown method 'winograd' (expected gemm, direct, clblast, tiled, bifrost or bifrost-rounds)"),
    (["--layer", "resnet50.L99"], "unknown layer 'resnet50.L99' (see --list-layers)"),
    (["--input", "8x8x4", "--out-channels", "4"], "--input needs --kernel"),
    (["--layer", "vgg16.L1", "--method", "clblast"],
     "method clblast is not available in conv_bench.py (use examples/bin/conv_bench)"),
    (["--layer", "vgg16.L1", "--method", "bifrost"],
     "method bifrost is not available in conv_bench.py (use examples/bin/conv_bench)"),
    (["--layer", "vgg16.L1", "--method", "bifrost-rounds"],
     "method bifrost-rounds is not available in conv_bench.py (use examples/bin/conv_bench)"),
])
def test_python_twin_bad_input(args, message):
    proc = run([sys.executable, BENCH_PY] + args)
    assert proc.returncode == 2
    assert proc.stderr == f"conv_bench.py: {message}\n"


def test_python_twin_lists_the_same_layers(bench):
    c = run([bench, "--list-layers"])
    py = run([sys.executable, BENCH_PY, "--list-layers"])
    assert py.returncode == 0
    assert py.stdout == c.stdout


# ---------------------------------------------------------------- cltrace/region.py on its own

REGION_SCRIPT = textwrap.dedent("""
    import importlib.util, sys, time
    spec = importlib.util.spec_from_file_location("region_mod", sys.argv[1])
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    region = mod.region

    @region("decorated", step=1)
    def work():
        with region("inner", flag=True):
            pass
        return 42

    with region("outer", channels=92, method="gemm"):
        assert work() == 42
    t0 = time.perf_counter()
    for _ in range(10000):
        with region("hot"):
            pass
    print(mod.enabled(), (time.perf_counter() - t0) / 10000 * 1e6)
""")


def test_region_py_traced_and_untraced(fake_shim, tmp_path):
    script = tmp_path / "regions.py"
    script.write_text(REGION_SCRIPT)
    out = tmp_path / "regions.txt"
    traced = run([sys.executable, str(script), REGION_PY], CLTRACE_SHIM=fake_shim, FAKE_SHIM_OUT=str(out))
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.split()[0] == "True"
    lines = _regions(out)
    assert lines[:6] == ["begin outer channels=92,method=gemm", "begin decorated step=1", "begin inner flag=1",
                         "end", "end", "end"]
    assert lines[6:] == ["begin hot ", "end"] * 10000
    for shim in (None, str(tmp_path / "missing.so"), NOT_A_SHIM):
        env = {} if shim is None else {"CLTRACE_SHIM": shim}
        proc = run([sys.executable, str(script), REGION_PY], **env)
        assert proc.returncode == 0, proc.stderr
        enabled, _usec = proc.stdout.split()      # the cost per region is printed, not asserted: no timed tests
        assert enabled == "False"
