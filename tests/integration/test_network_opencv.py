"""cltrace network --runtime opencv: OpenCV DNN (a real third-party library) on PoCL's OpenCL device.

- the capture: OpenCV opens "libOpenCL.so" with dlopen and takes every cl* function with dlsym from that handle;
  both capture modes must see its launches (preload: the shadow loader answers that name too);
- the runner (examples/opencv_conv.py): its ocl4dnn launches inside one region per measured forward;
- a real sweep of 2 layers x 3 distances, the launches under OpenCV's kernel names, each in a region named after
  its layer; the map and table;
- bad input: OpenCV missing or 5.x (simulated by a cv2 module first on PYTHONPATH), --method with --runtime
  opencv, an unknown --layers name: one line, an exit code, nothing written."""
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from onnx_models import tiny_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, "examples", "opencv_conv.py")
INSTALL = "pip install 'opencv-python-headless<5'"
# ocl4dnn names each convolution kernel after its type and shape: TYPE_kKxK_cnC_..._M<output channels>_...
OCL4DNN = re.compile(r"^(BASIC|IDLF|GEMM_LIKE|DWCONV)_k(\d+)x(\d+)_cn(\d+)_.*_M(\d+)_")


@pytest.fixture(scope="module")
def opencv():
    """OpenCV 4.x (the DNN engine with an OpenCL target), else the test is skipped, saying why."""
    cv2 = pytest.importorskip("cv2", reason=f"OpenCV is not installed: {INSTALL}")
    if int(cv2.__version__.split(".")[0]) >= 5:
        pytest.skip(f"OpenCV {cv2.__version__}: its DNN engine has no OpenCL target ({INSTALL})")
    return cv2


def _runner(*args):
    return [sys.executable, RUNNER, *map(str, args)]


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_a_program_that_dlopens_libopencl_so_is_captured(cltrace_run, programs, mode):
    """OpenCV's way to load OpenCL: dlopen("libOpenCL.so"), then dlsym(handle, "cl...") for each function. In
    preload mode a system libOpenCL.so (the development symlink) would be found instead of the shadow loader."""
    trace = cltrace_run([programs("dlopen"), "50", "libOpenCL.so"], mode=mode)
    L = trace.launches
    assert len(L) == 50 and set(L["kernel_name"]) == {"inc"}
    assert (L["global0"] == 1024).all() and (L["times_status"] == "ok").all()
    assert trace.runs["mode"].tolist() == [mode]


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_opencv_dnn_launches_are_captured_in_regions(cltrace_run, opencv, mode):
    trace = cltrace_run(_runner("--input", "8x8x4", "--kernel", 3, "--pad", 1, "--out-channels", 6, "--iters", 3,
                                "--warmup", 1, "--name", "L1", "--check"), mode=mode)
    R = trace.regions.sort_values("begin_ns")
    assert R["name"].tolist() == ["L1"] * 3
    assert [json.loads(t) for t in R["tags"]] == [{"channels": "6", "method": "opencv"}] * 3
    L = trace.launches
    inside = L[L["region_id"].notna()]
    assert sorted(inside["region_id"].unique()) == sorted(R["region_id"])      # every forward launched
    for name in inside["kernel_name"]:
        m = OCL4DNN.match(name)
        assert m, name
        assert m.groups()[1:] == ("3", "3", "4", "6")          # the layer's kernel, input and output channels
    assert (inside["times_status"] == "ok").all() and (inside["duration_ns"] > 0).all()
    assert len(L) > len(inside)                                   # the warm-up forward ran outside regions


FAST = ["--runtime", "opencv", "--iters", "2", "--warmup", "1", "--scale", "1", "--repeat", "2", "--distances", "0:2",
        "-q"]
# 2 unique shapes (c2 and c3 share one); the depthwise conv is skipped, saying which runner cannot run it
CONVS = [("c1", 8, 3, 1, 1, 1), ("c2", 8, 3, 1, 1, 1), ("c3", 8, 3, 1, 1, 1), ("dw", 8, 3, 1, 1, 8)]


@pytest.fixture(scope="module")
def swept(tmp_path_factory, opencv):
    from conftest import run_cli
    d = tmp_path_factory.mktemp("network_opencv")
    model = tiny_model(d / "tiny.onnx", CONVS, size=8)
    p = run_cli("network", model, *FAST, "-o", "net.db", cwd=d)
    return d, p


def test_opencv_sweep_of_a_network(swept):
    d, p = swept
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0] == "cltrace: network tiny.onnx: 4 conv layers, 3 runnable, 2 unique shapes"
    assert "cltrace:   skipped dw: depthwise convolution: the opencv runner runs dense convolutions only" in lines
    assert "cltrace: plan: 6 configurations (2 layers) x 2 repeats = 12 runs" in lines
    assert any(re.fullmatch(r"cltrace: runtime: opencv 4\.\S+ DNN_TARGET_OPENCL on .+", x) for x in lines), lines
    db = sqlite3.connect(d / "net.db")
    assert db.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
    assert db.execute("SELECT COUNT(*) FROM runs WHERE status = 'ok'").fetchone()[0] == 12
    # every measured launch: OpenCV's kernel for its layer's input and channel count, in a region named after
    # the layer, 2 forwards (regions) per run
    rows = db.execute("""SELECT l.kernel_name, r.name, r.tags, t.value, c.value FROM launches l
                         JOIN regions r ON r.region_id = l.region_id
                         JOIN run_tags t ON t.run_id = l.run_id AND t.key = 'layer'
                         JOIN run_tags c ON c.run_id = l.run_id AND c.key = 'channels'""").fetchall()
    assert len({(r[1], r[2], r[3], r[4]) for r in rows}) == 6
    for kernel, region, tags, layer, channels in rows:
        assert region == layer and json.loads(tags)["channels"] == channels
        m = OCL4DNN.match(kernel)
        assert m and m.group(4) == {"c1": "3", "c2": "8"}[layer] and m.group(5) == channels, kernel
    per_run = db.execute("SELECT COUNT(*) FROM regions GROUP BY run_id").fetchall()
    assert per_run == [(2,)] * 12


def test_opencv_sweep_maps_like_any_network_sweep(swept, cli):
    d, _ = swept
    p = cli("network-map", "net.db", "-o", "map.png", "--table", "layers.csv", cwd=d)
    assert p.returncode == 0, p.stderr
    assert (d / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (d / "layers.csv").read_text().splitlines()
    assert [row.split(",")[:4] for row in table[1:]] == [["c1", "8x8x3 k3 s1 p1", "-", "8"],
                                                         ["c2", "8x8x8 k3 s1 p1", "c3", "8"]]
    p = cli("network", "--resume", "-q", "-o", "net.db", cwd=d)         # the stored plan names the runner
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 12 runs already done, 0 to go" in p.stderr.splitlines()


def _fake_cv2(tmp_path, body):
    """A directory to put first on PYTHONPATH whose cv2 module stands in for a missing or other OpenCV."""
    d = tmp_path / "fake"
    d.mkdir()
    (d / "cv2.py").write_text(body)
    return {"PYTHONPATH": str(d) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.parametrize("body, message", [
    ("raise ImportError(\"No module named 'cv2'\")\n",
     f"OpenCV's Python module (cv2) is not installed: {INSTALL}"),
    ("__version__ = '5.0.0'\n",
     f"OpenCV 5.0.0: its DNN engine runs on the CPU only (no OpenCL target); {INSTALL}"),
])
def test_opencv_missing_or_too_new_one_line_nothing_written(tmp_path, cli, body, message):
    env = _fake_cv2(tmp_path, body)
    tiny_model(tmp_path / "tiny.onnx", CONVS, size=8)
    before = set(os.listdir(tmp_path))
    p = cli("network", "tiny.onnx", *FAST, cwd=tmp_path, env=env)
    assert (p.returncode, p.stderr) == (1, f"cltrace: network tiny.onnx: 4 conv layers, 3 runnable, 2 unique "
                                           f"shapes\ncltrace:   shape 8x8x8 k3 s1 p1 -> 8: c2, shared by c3\n"
                                           f"cltrace:   skipped dw: depthwise convolution: the opencv runner runs "
                                           f"dense convolutions only\ncltrace: plan: 6 configurations (2 layers) "
                                           f"x 2 repeats = 12 runs\ncltrace: --runtime opencv: {message}\n")
    assert set(os.listdir(tmp_path)) == before
    # the runner on its own: the same line, exit 2
    r = subprocess.run(_runner("--probe"), capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert (r.returncode, r.stderr) == (2, f"opencv_conv.py: {message}\n")


def test_bad_options_of_the_opencv_runtime(tmp_path, cli):
    tiny_model(tmp_path / "tiny.onnx", CONVS, size=8)
    before = set(os.listdir(tmp_path))
    p = cli("network", "tiny.onnx", "--runtime", "opencv", "--method", "direct", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (2, "cltrace: --method direct is a conv_bench method: --runtime opencv runs "
                                           "OpenCV DNN's own kernels (leave --method out)\n")
    p = cli("network", "tiny.onnx", "--runtime", "opencv", "--layers", "c1,c9", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (2, "cltrace: --layers: tiny.onnx has no conv layer c9 (its layers: c1, c2, "
                                           "c3, dw)\n")
    p = cli("network", "tiny.onnx", "--runtime", "opencv", "--layers", "dw", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (2, "cltrace: --layers: dw is skipped (depthwise convolution: the opencv "
                                           "runner runs dense convolutions only)\n")
    assert set(os.listdir(tmp_path)) == before


def test_runner_bad_input(opencv):
    r = subprocess.run(_runner("--input", "8x8", "--kernel", 3, "--out-channels", 4), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.splitlines()[-1] == \
        "opencv_conv.py: error: invalid value '8x8' for --input (expected HxWxC, e.g. 56x56x64)"
    r = subprocess.run(_runner("--input", "2x2x4", "--kernel", 5, "--out-channels", 4), capture_output=True,
                       text=True, timeout=120)
    assert (r.returncode, r.stderr) == (2, "opencv_conv.py: kernel 5 does not fit the 2x2 input with pad 0 "
                                           "(raise --scale)\n")
    r = subprocess.run(_runner("--probe"), capture_output=True, text=True, timeout=120,
                       env={**os.environ, "OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES": "0",
                            "OPENCV_OPENCL_DEVICE": ":CPU:"})
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1].startswith("opencv_conv.py: OpenCV DNN runs on GPUs only unless "
                                                "OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1 ("
                                                "OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES='0', device ")


# ---------------------------------------------------------------- blocked runs: a list of counts in one process

def test_runner_measures_a_list_of_counts_in_one_process(cltrace_run, opencv):
    """--out-channels 6,2,9: each count its own net (its result that of a process of it alone: --check), its
    regions tagged with it, forwards interleaved round by round; --order-seed shuffles the list."""
    trace = cltrace_run(_runner("--input", "8x8x4", "--kernel", 3, "--pad", 1, "--out-channels", "6,2,9",
                                "--iters", 2, "--warmup", 1, "--name", "L1", "--check"))
    R = trace.regions.sort_values("begin_ns")
    assert [json.loads(t)["channels"] for t in R["tags"]] == ["6", "2", "9"] * 2      # interleaved, order given
    L = trace.launches
    inside = L[L["region_id"].notna()].merge(R[["region_id", "tags"]], on="region_id")
    assert set(inside["region_id"]) == set(R["region_id"])
    for name, tags in zip(inside["kernel_name"], inside["tags"]):
        m = OCL4DNN.match(name)
        assert m and m.group(4) == "4" and m.group(5) == json.loads(tags)["channels"], (name, tags)
    r = subprocess.run(_runner("--input", "8x8x4", "--kernel", 3, "--pad", 1, "--out-channels", "1,2,3,4,5,6",
                               "--iters", 1, "--warmup", 0, "--order-seed", 4), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    order = [int(x.split()[3].split("=")[1]) for x in r.stdout.splitlines() if x.startswith("RESULT")]
    assert sorted(order) == [1, 2, 3, 4, 5, 6] and order != [1, 2, 3, 4, 5, 6]


def test_blocked_opencv_sweep(tmp_path, cli, opencv):
    """cltrace sweep --block 3 of the OpenCV runner: channels 4..9, 2 repetitions -> 4 processes of 3 counts;
    every measured launch is ocl4dnn's kernel for its region's count; the analysis takes the process as block."""
    import cltrace
    from cltrace.analysis import analyse
    p = cli("sweep", "-q", "-p", "channels=4:9", "--repeat", "2", "--block", "3", "--seed", "7", "-o", "b.db",
            "--", *_runner("--input", "8x8x4", "--kernel", 3, "--pad", 1, "--out-channels", "{channels}",
                           "--iters", 2, "--warmup", 1, "--name", "L1"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    db = sqlite3.connect(tmp_path / "b.db")
    runs = db.execute("SELECT run_id, status, argv FROM runs ORDER BY run_id").fetchall()
    notes = dict(db.execute("SELECT run_id, message FROM notes WHERE kind = 'block'").fetchall())
    assert len(runs) == 4 and all(r[1] == "ok" for r in runs)
    seen = {}
    for run_id, _, argv in runs:
        argv = json.loads(argv)
        counts = argv[argv.index("--out-channels") + 1].split(",")
        assert len(counts) == 3 and len(json.loads(notes[run_id])) == 3
        rows = db.execute("SELECT l.kernel_name, r.name, r.tags FROM launches l JOIN regions r "
                          "ON r.region_id = l.region_id WHERE l.run_id = ?", (run_id,)).fetchall()
        assert sorted({json.loads(t)["channels"] for _, _, t in rows}) == sorted(counts)
        for kernel, name, tags in rows:
            m = OCL4DNN.match(kernel)
            assert name == "L1" and m and m.group(4) == "4" and m.group(5) == json.loads(tags)["channels"], kernel
        n_regions = db.execute("SELECT COUNT(*) FROM regions WHERE run_id = ?", (run_id,)).fetchone()[0]
        assert n_regions == 6                                   # 2 forwards of each of its 3 counts
        for c in counts:
            seen[c] = seen.get(c, 0) + 1
    assert seen == {str(c): 2 for c in range(4, 10)}
    result = analyse(cltrace.open(str(tmp_path / "b.db")).samples(), "channels")
    assert sorted(result.units.groupby("config_id")["unit"].nunique().tolist()) == [2] * 6
    assert any(n.startswith("blocked design") for n in result.notes), result.notes


def test_blocked_opencv_network_sweep(tmp_path, cli, opencv):
    """cltrace network --runtime opencv --block 3: each process measures the 3 distances of one layer, every
    forward in a region named after that layer and tagged with its count, launching ocl4dnn's kernel of that
    count; the map reads it."""
    model = tiny_model(tmp_path / "tiny.onnx", CONVS, size=8)
    p = cli("network", model, *FAST, "--block", "3", "--seed", "5", "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    db = sqlite3.connect(tmp_path / "net.db")
    runs = db.execute("SELECT r.run_id, r.status, t.value FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
                      "AND t.key = 'layer' ORDER BY r.run_id").fetchall()
    assert sorted((status, layer) for _, status, layer in runs) == [("ok", "c1"), ("ok", "c1"), ("ok", "c2"),
                                                                  ("ok", "c2")]
    for run_id, _, layer in runs:
        rows = db.execute("SELECT l.kernel_name, r.name, r.tags FROM launches l JOIN regions r "
                          "ON r.region_id = l.region_id WHERE l.run_id = ?", (run_id,)).fetchall()
        assert {name for _, name, _ in rows} == {layer}
        assert {json.loads(t)["channels"] for _, _, t in rows} == {"6", "7", "8"}
        for kernel, _, tags in rows:
            m = OCL4DNN.match(kernel)
            assert m and m.group(5) == json.loads(tags)["channels"], kernel
    p = cli("network-map", "net.db", "-o", "map.png", "--json", "map.json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    cells = json.loads((tmp_path / "map.json").read_text())["cells"]
    assert sorted((c["layer"], c["distance"]) for c in cells) == [(x, d) for x in ("c1", "c2") for d in (0, 1, 2)]


@pytest.mark.parametrize("args, message", [
    (["--out-channels", "3,0"], "opencv_conv.py: error: argument --out-channels: invalid value '3,0' (expected a "
                                "whole number >= 1 or a list N1,N2,... of them)"),
    (["--out-channels", "3,"], "opencv_conv.py: error: argument --out-channels: invalid value '3,' (expected a "
                               "whole number >= 1 or a list N1,N2,... of them)"),
    (["--out-channels", "3,5,3"], "opencv_conv.py: error: argument --out-channels: 3,5,3: 3 appears twice (a "
                                  "process measures each count once)"),
    (["--out-channels", "3", "--order-seed", "4"],
     "opencv_conv.py: error: --order-seed orders a list of counts: give --out-channels N1,N2,..."),
    (["--out-channels", "3,4", "--order-seed", "-1"],
     "opencv_conv.py: error: argument --order-seed: invalid value '-1' (expected a whole number >= 0)"),
])
def test_runner_bad_list(args, message):
    r = subprocess.run(_runner("--input", "8x8x4", "--kernel", 3, *args), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == message
