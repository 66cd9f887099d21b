"""cltrace network + network-map end to end: a tiny ONNX model built here, a real PoCL sweep of 2 layers x 3
distances through conv_bench (tiny sizes, few iterations), the stored plan, --resume, the heatmap and the
per-layer table; bad input refused with one line and an exit code, nothing written."""
import json
import os
import sqlite3

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402
from onnx_models import failing_lists, tiny_model  # noqa: E402




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


def _blocks_of(db):
    """Of each ok blocked run: run_id -> (the run's layer tag, the (layer, channels, distance) of the plan
    positions its block note lists, the channel counts its regions are tagged with)."""
    plan = json.loads(db.execute("SELECT plan FROM sweeps").fetchone()[0])
    configs, order = plan["configurations"], plan["runs"]
    out = {}
    for run_id, note in db.execute("SELECT n.run_id, n.message FROM notes n JOIN runs r ON r.run_id = n.run_id "
                                   "WHERE n.kind = 'block' AND r.status = 'ok' ORDER BY n.run_id"):
        layer, = db.execute("SELECT value FROM run_tags WHERE run_id = ? AND key = 'layer'", (run_id,)).fetchone()
        measured = [tuple(configs[order[i][0]][:3]) for i in json.loads(note)]
        tagged = {json.loads(t)["channels"] for t, in db.execute("SELECT tags FROM regions WHERE run_id = ?",
                                                                  (run_id,))}
        out[run_id] = (layer, measured, tagged)
    return out


def test_blocked_network_sweep_measures_distances_of_one_layer_per_process(tmp_path, cli, conv_bench):
    """--block 3: each process measures the 3 distances of one layer (conv_bench --out-channels 8,7,6 in a random
    order), every count in a region tagged with it; the map and --resume read the blocks."""
    model = tiny_model(tmp_path / "tiny.onnx", CONVS)
    args = ["network", model, *FAST, "--conv-bench", conv_bench, "--block", "3", "--seed", "5"]
    p = cli(*args, "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: --block 3: 4 processes, each measuring up to 3 distances of one layer" in p.stderr.splitlines()
    lines = p.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    for line in lines:
        counts = line.split("--out-channels ")[1].split()[0]
        assert sorted(counts.split(",")) == ["6", "7", "8"], line
    assert os.listdir(tmp_path) == ["tiny.onnx"]           # a dry run writes nothing
    p = cli(*args, "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: 12/12 runs recorded in net.db" in p.stderr.splitlines()
    db = sqlite3.connect(tmp_path / "net.db")
    assert json.loads(db.execute("SELECT plan FROM sweeps").fetchone()[0])["block"] == 3
    assert db.execute("SELECT COUNT(*), SUM(status = 'ok') FROM runs").fetchone() == (4, 4)
    blocks = _blocks_of(db)
    assert len(blocks) == 4
    for layer, measured, tagged in blocks.values():
        assert {m[0] for m in measured} == {layer}                         # one layer per process
        assert sorted(int(m[2]) for m in measured) == [0, 1, 2]            # its 3 distances
        assert tagged == {m[1] for m in measured} == {"8", "7", "6"}       # each count in its own tagged region
    assert sorted(b[0] for b in blocks.values()) == ["c1", "c1", "c2", "c2"]    # 2 repeats of each layer
    p = cli("network", "--resume", "-q", "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 12 runs already done, 0 to go" in p.stderr.splitlines()
    p = cli("network", "--resume", "--block", "2", "-o", "net.db", cwd=tmp_path)
    assert (p.returncode, p.stderr.splitlines()[-1]) == (2, "cltrace: --resume completes sweep 1, which ran "
                                                            "--block 3: leave out --block 2")
    p = cli("network-map", "net.db", "-o", "map.png", "--json", "map.json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = json.loads((tmp_path / "map.json").read_text())
    assert sorted((c["layer"], c["distance"]) for c in m["cells"]) == \
        [(layer, dist) for layer in ("c1", "c2") for dist in (0, 1, 2)]


def test_resume_of_a_blocked_network_sweep_reruns_its_failed_blocks(tmp_path, cli, conv_bench):
    """A conv_bench that fails on any list holding 7 while FAIL exists: every block fails (each holds its layer's
    7 channels); --resume (MODEL left out) re-forms the stored blocks and runs them."""
    wrapper = failing_lists(tmp_path, conv_bench)
    model = tiny_model(tmp_path / "tiny.onnx", CONVS)
    p = cli("network", model, *FAST, "--conv-bench", wrapper, "--block", "3", "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 1
    assert "cltrace: 12/12 runs recorded in net.db; 12 failed" in p.stderr.splitlines(), p.stderr
    (tmp_path / "FAIL").unlink()
    p = cli("network", "--resume", "-q", "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 0 runs already done, 12 to go" in p.stderr.splitlines()
    db = sqlite3.connect(tmp_path / "net.db")
    assert db.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
    assert db.execute("SELECT COUNT(*), SUM(status = 'ok') FROM runs").fetchone() == (8, 4)   # 4 failed, 4 re-run
    blocks = _blocks_of(db)
    assert len(blocks) == 4 and all(len(b[1]) == 3 and {m[0] for m in b[1]} == {b[0]} for b in blocks.values())


def test_blocked_network_dry_run_on_a_cluster_lists_blocks_of_one_layer_on_one_board(tmp_path, cli, conv_bench):
    """--block 3 --cluster with two boards: 8 processes (2 layers x 2 repeats x 2 boards), each measuring the 3
    distances of one layer, named with its board; each board gets the blocks of each layer twice."""
    model = tiny_model(tmp_path / "tiny.onnx", CONVS)
    p = cli("network", model, *FAST, "--conv-bench", conv_bench, "--block", "3", "--seed", "5", "--cluster",
            "127.0.0.1:1", "--board", "a", "--board", "b", "--dry-run", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: --block 3: 8 processes, each measuring up to 3 distances of one layer on one board" in \
        p.stderr.splitlines()
    lines = p.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [f"[{i}/8]" for i in range(1, 9)]
    boards = []
    for line in lines:
        assert sorted(line.split("--out-channels ")[1].split()[0].split(",")) == ["6", "7", "8"], line
        assert line.endswith((" (on board a)", " (on board b)")), line
        boards.append(line[-2])
    assert sorted(boards) == ["a"] * 4 + ["b"] * 4
    assert os.listdir(tmp_path) == ["tiny.onnx"]


@pytest.mark.parametrize("extra, message", [
    (["--block", "0"], "--block 0: a block is the number of configurations one process measures (at least 1; 1 is "
                       "one process per configuration)"),
    (["--block", "4"], "--block 4 is larger than the 3 distances of the largest layer (c1): a process measures "
                       "distances of one layer, each at most once, so give --block 3 or less"),
    (["--block", "2", "--runtime", "acl"], "--block: --runtime acl runs acl_conv_bench, which measures one channel "
                                           "count per process: leave out --block"),
    (["--block", "2", "--adaptive"], "--block 2 with --adaptive: a network's adaptive rounds re-run one distance "
                                     "per process; leave out one of them"),
    (["--block", "4", "--cluster", "127.0.0.1:1", "--board", "a", "--board", "b"],       # K against one board's
     "--block 4 is larger than the 3 distances of the largest layer (c1): a process measures distances of one "
     "layer, each at most once, so give --block 3 or less"),
])
def test_bad_block_one_line_and_nothing_written(tmp_path, cli, conv_bench, extra, message):
    tiny_model(tmp_path / "tiny.onnx", CONVS)
    p = cli("network", "tiny.onnx", *FAST, "--conv-bench", conv_bench, *extra, cwd=tmp_path)
    assert (p.returncode, p.stderr.splitlines()[-1]) == (2, f"cltrace: {message}"), p.stderr
    assert os.listdir(tmp_path) == ["tiny.onnx"]
