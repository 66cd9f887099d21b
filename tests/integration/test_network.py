"""cltrace network + network-map end to end: a tiny ONNX model built here, a real PoCL sweep of 2 layers x 3
distances through conv_bench (tiny sizes, few iterations), the stored plan, --resume, the heatmap and the
per-layer table; bad input refused with one line and an exit code, nothing written."""
import json
import os
import sqlite3

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402
from onnx_models import tiny_model  # noqa: E402




# c2 and c3 share a shape (measured once); dw is depthwise (skipped): 2 unique layers
CONVS = [("c1", 8, 3, 1, 1, 1), ("c2", 8, 3, 1, 1, 1), ("c3", 8, 3, 1, 1, 1), ("dw", 8, 3, 1, 1, 8)]
FAST = ["--iters", "2", "--warmup", "1", "--scale", "1", "--repeat", "2", "--distances", "0:2", "-q"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory, conv_bench):
    from conftest import run_cli
    d = tmp_path_factory.mktemp("network")
    model = tiny_model(d / "tiny.onnx", CONVS)
    p = run_cli("network", model, *FAST, "--conv-bench", conv_bench, "-o", "net.db", cwd=d)
    return d, p


def test_one_sweep_over_the_network(swept):
    d, p = swept
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0] == "cltrace: network tiny.onnx: 4 conv layers, 3 runnable, 2 unique shapes"
    assert "cltrace:   shape 16x16x8 k3 s1 p1 -> 8: c2, shared by c3" in lines
    assert "cltrace:   skipped dw: depthwise convolution: conv_bench runs dense convolutions only" in lines
    assert "cltrace: plan: 6 configurations (2 layers) x 2 repeats = 12 runs" in lines
    db = sqlite3.connect(d / "net.db")
    (plan, status), = db.execute("SELECT plan, status FROM sweeps").fetchall()
    assert status == "complete"
    configs = json.loads(plan)["configurations"]
    assert [(c[0], c[1], c[2]) for c in configs] == [("c1", "8", "0"), ("c1", "7", "1"), ("c1", "6", "2"),
                                                     ("c2", "8", "0"), ("c2", "7", "1"), ("c2", "6", "2")]
    tags = db.execute("SELECT value, COUNT(*) FROM run_tags WHERE key = 'layer' GROUP BY value").fetchall()
    assert sorted(tags) == [("c1", 6), ("c2", 6)]
    assert db.execute("SELECT COUNT(*) FROM runs WHERE status = 'ok'").fetchone()[0] == 12


def test_resume_of_a_complete_network_sweep_runs_nothing(swept, cli):
    d, _ = swept
    p = cli("network", "--resume", "-q", "-o", "net.db", cwd=d)
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 12 runs already done, 0 to go" in p.stderr.splitlines()


def test_network_map_writes_the_heatmap_and_the_table(swept, cli):
    d, _ = swept
    p = cli("network-map", "net.db", "-o", "map.png", "--table", "layers.csv", "--json", "map.json", cwd=d)
    assert p.returncode == 0, p.stderr
    assert (d / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (d / "layers.csv").read_text().splitlines()
    assert table[0] == ("layer,shape,shared,unpruned_channels,unpruned_ms,edges,n_steps,hazards,best_speedup,"
                        "best_channels,best_distance,causes")
    assert [row.split(",")[:4] for row in table[1:]] == [["c1", "16x16x3 k3 s1 p1", "-", "8"],
                                                         ["c2", "16x16x8 k3 s1 p1", "c3", "8"]]
    m = json.loads((d / "map.json").read_text())
    assert sorted((c["layer"], c["distance"]) for c in m["cells"]) == \
        [(layer, dist) for layer in ("c1", "c2") for dist in (0, 1, 2)]
    for c in m["cells"]:
        assert c["status"] in ("same", "edge", "faster", "slower", "hazard", "untested")
        if c["distance"] == 0:
            assert c["speedup"] == 1.0
    assert p.stdout.splitlines()[0].split()[:3] == ["layer", "shape", "shared"]
    assert p.stderr.splitlines()[-1].startswith("cltrace: 2 layers, 6 cells, ")


def _refused(cli, d, args, code, message):
    before = set(os.listdir(d))
    p = cli(*args, cwd=d)
    assert (p.returncode, p.stderr) == (code, f"cltrace: {message}\n")
    assert set(os.listdir(d)) == before            # nothing written


def test_bad_input_one_line_and_nothing_written(tmp_path, cli, conv_bench):
    (tmp_path / "notes.onnx").write_text("this is not an onnx model\n")
    _refused(cli, tmp_path, ["network", "notes.onnx", "--conv-bench", conv_bench], 1,
             "notes.onnx is not an ONNX model (the onnx package cannot parse it)")
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "noconv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(graph), str(tmp_path / "relu.onnx"))
    _refused(cli, tmp_path, ["network", "relu.onnx", "--conv-bench", conv_bench], 1,
             "relu.onnx has no Conv layer to sweep")
    tiny_model(tmp_path / "tiny.onnx", CONVS)
    _refused(cli, tmp_path, ["network", "tiny.onnx", "--distances", "0:8", "--conv-bench", conv_bench], 2,
             "--distances: 8 is beyond layer c1, which has 8 output channels (a distance must leave at least "
             "one channel)")
    _refused(cli, tmp_path, ["network-map", "tiny.onnx", "-o", "map.pdf"], 2,
             "cannot tell the heatmap format of map.pdf: use .png or .svg")
    # --adaptive's budget is checked as cltrace sweep checks it (cli/base.adaptive_budget), after the plan's lines
    for budget, message in ((["--max-runs", "5"], "--max-runs is a budget of --adaptive: give --adaptive too, or "
                                                  "leave --max-runs out"),
                            (["--adaptive", "--max-minutes", "0"], "--max-minutes must be positive, not 0")):
        before = set(os.listdir(tmp_path))
        p = cli("network", "tiny.onnx", *FAST, "--conv-bench", conv_bench, *budget, cwd=tmp_path)
        assert (p.returncode, p.stderr.splitlines()[-1]) == (2, f"cltrace: {message}"), p.stderr
        assert set(os.listdir(tmp_path)) == before


def test_exports_name_the_network_layers(swept, cli):
    d, _ = swept
    p = cli("export", "net.db", "--format", "lookup", cwd=d)
    assert p.returncode == 0, p.stderr
    rows = p.stdout.splitlines()
    assert rows[0] == ("layer,distance,input,kernel,pad,shared,stride,method,channels,median_ms,interval_low_ms,"
                       "interval_high_ms,processes")
    assert [r.split(",")[0] + ":" + r.split(",")[8] for r in rows[1:]] == \
        ["c1:8", "c1:7", "c1:6", "c2:8", "c2:7", "c2:6"]         # by distance
    p = cli("export", "net.db", "--format", "nnmeter", cwd=d)
    assert sorted(json.loads(p.stdout)) == ["c1", "c2"]
    p = cli("export", "net.db", "--format", "paddleslim", cwd=d)
    assert [line.split("\t")[0].split(",")[0] for line in p.stdout.splitlines()] == ["c1"] * 3 + ["c2"] * 3


def test_predicted_latency_of_a_pruning_plan(swept, cli):
    d, _ = swept
    (d / "plan.json").write_text('{"c1": 7, "c3": 6}')
    p = cli("network-predict", "net.db", "plan.json", "--json", "pred.json", cwd=d)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert [line.split(":")[0] for line in out[:3]] == ["c1", "c2", "c3"]      # c3 shares c2's shape: counted
    assert out[2].startswith("c3: 6/8 channels, ") and out[2].endswith(", measured as c2)")
    assert out[3].startswith("predicted: ") and " over 3 layers; unpruned " in out[3]
    pred = json.loads((d / "pred.json").read_text())
    assert pred["total_ms"] == pytest.approx(sum(r["latency_ms"] for r in pred["layers"]))
    assert pred["interval95_ms"][0] < pred["total_ms"] < pred["interval95_ms"][1]
    (d / "csv.csv").write_text("layer,channels\nc2,3\n")
    p = cli("network-predict", "net.db", "csv.csv", cwd=d)
    assert (p.returncode, p.stderr) == (1, "cltrace: layer c2: 3 channels were not swept and lie on no stair of c2 "
                                           "(swept: 6..8)\n")
    (d / "bad.json").write_text('["c1"]')
    p = cli("network-predict", "net.db", "bad.json", cwd=d)
    assert (p.returncode, p.stderr) == (1, 'cltrace: bad.json: a pruning plan is a JSON object {"LAYER": CHANNELS, '
                                           '...} or a CSV with the columns layer,channels\n')


def test_report_json_carries_the_network_section(swept, cli):
    jsonschema = pytest.importorskip("jsonschema")
    from cltrace.report.json_report import load_schema
    d, _ = swept
    p = cli("report", "net.db", "--format", "json", cwd=d)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    jsonschema.validate(doc, load_schema())
    assert doc["staircase"]["param"] == "channels" and doc["staircase"]["by"] == ["layer"]
    assert [r["layer"] for r in doc["network"]["layers"]] == ["c1", "c2"]
    assert doc["network"]["layers"][1]["shared"] == ["c3"]
    assert len(doc["network"]["cells"]) == 6


def test_resume_runs_what_failed_and_adaptive_stays_within_its_layer(tmp_path, cli, conv_bench):
    """A conv_bench that fails at 7 channels while FAIL exists: the sweep records the failures, --resume (MODEL left
    out) runs exactly them; --adaptive re-runs within the budget and groups by layer."""
    wrapper = tmp_path / "bench.sh"
    wrapper.write_text("#!/bin/sh\nprev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = --out-channels ] && [ \"$a\" = 7 ] "
                       f"&& [ -e {tmp_path}/FAIL ]; then exit 3; fi\n  prev=$a\ndone\nexec {conv_bench} \"$@\"\n")
    wrapper.chmod(0o755)
    (tmp_path / "FAIL").write_text("")
    model = tiny_model(tmp_path / "tiny.onnx", CONVS)
    p = cli("network", model, *FAST, "--conv-bench", wrapper, "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 1
    assert "cltrace: 12/12 runs recorded in net.db; 4 failed" in p.stderr.splitlines()
    (tmp_path / "FAIL").unlink()
    p = cli("network", "--resume", "-q", "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 8 runs already done, 4 to go" in p.stderr.splitlines()
    db = sqlite3.connect(tmp_path / "net.db")
    assert db.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
    p = cli("network", model, *FAST, "--conv-bench", wrapper, "-o", "ad.db", "--adaptive", "--max-runs", "14",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert any(line.startswith("cltrace: adaptive: ") for line in p.stderr.splitlines()), p.stderr
    n = sqlite3.connect(tmp_path / "ad.db").execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert 12 <= n <= 14
