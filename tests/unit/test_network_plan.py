"""cltrace network's planning: conv layers from an ONNX model built here with onnx.helper (shapes from shape
inference), identical shapes folded, depthwise/grouped convs skipped with the reason, pruning distances, the
explicit configuration list and its stored plan."""
import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import onnx_models  # noqa: E402

from cltrace.errors import CltraceError, UsageError  # noqa: E402
from cltrace.network import model, plan as netplan  # noqa: E402
from cltrace.sweep import stored  # noqa: E402
from cltrace.sweep.plan import params_of, plan_configs  # noqa: E402


def tiny_model(path, convs, size=16, cin=3):
    """onnx_models.tiny_model with a Relu after the convs: a node the planner must pass over."""
    return onnx_models.tiny_model(path, convs, size, cin, relu=True)


CONVS = [("c1", 8, 3, 1, 1, 1), ("c2", 8, 3, 1, 1, 1), ("c3", 8, 3, 1, 1, 1), ("c4", 12, 1, 2, 0, 1),
         ("dw", 12, 3, 1, 1, 12), ("g2", 12, 3, 1, 1, 2)]


def test_onnx_layers_with_inferred_shapes_and_skip_reasons(tmp_path):
    net = model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS))
    assert [layer.name for layer in net.layers] == ["c1", "c2", "c3", "c4", "dw", "g2"]
    c1, c2, c4 = net.layers[0], net.layers[1], net.layers[3]
    assert (c1.h, c1.w, c1.c, c1.k, c1.s, c1.p, c1.out) == (16, 16, 3, 3, 1, 1, 8)
    assert (c2.h, c2.c) == (16, 8)
    assert (c4.h, c4.c, c4.k, c4.s, c4.out) == (16, 8, 1, 2, 12)
    assert net.layers[4].skip == "depthwise convolution: conv_bench runs dense convolutions only"
    assert net.layers[5].skip == "grouped (2 groups) convolution: conv_bench runs dense convolutions only"
    assert net.layers[5].h == 8                     # after c4's stride 2
    assert [layer.name for layer in net.runnable] == ["c1", "c2", "c3", "c4"]


def test_identical_shapes_are_measured_once(tmp_path):
    net = model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS))
    layers = netplan.unique_layers(net)
    assert [(u.name, u.shared) for u in layers] == [("c1", []), ("c2", ["c3"]), ("c4", [])]


def test_catalogue_rows_parse():
    text = ("# comment\nlayer          input         kernel stride  pad  out description\n"
            "resnet50.L1    224x224x3          7      2    3   64 conv1, 7x7/2\n"
            "vgg16.L1       224x224x3          3      1    1   64 conv1_1\n")
    rows = model.parse_catalogue(text, "resnet50")
    assert [(r.name, r.h, r.c, r.k, r.s, r.p, r.out, r.desc) for r in rows] == \
        [("resnet50.L1", 224, 3, 7, 2, 3, 64, "conv1, 7x7/2")]


def test_default_distances():
    assert netplan.default_distances(8) == list(range(8))
    assert netplan.default_distances(32) == list(range(17))
    assert netplan.default_distances(64) == list(range(17)) + [20, 24, 28, 32]
    d = netplan.default_distances(512)
    assert d[:17] == list(range(17)) and d[-1] <= 256 and all(x % 4 == 0 for x in d[17:])
    assert 12 <= len(d) - 17 <= 24


def test_parse_distances():
    assert netplan.parse_distances("0:3,8,16:24:4") == [0, 1, 2, 3, 8, 16, 20, 24]
    with pytest.raises(UsageError, match=r"each item is a whole number >= 0"):
        netplan.parse_distances("0,-1")
    with pytest.raises(UsageError, match=r"counts from a up to b"):
        netplan.parse_distances("5:2")


def test_distances_beyond_a_layer_are_refused(tmp_path):
    layers = netplan.unique_layers(model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS)))
    with pytest.raises(UsageError) as e:
        netplan.assign_distances(layers, [0, 1, 8])
    assert str(e.value) == ("--distances: 8 is beyond layer c1, which has 8 output channels (a distance must "
                            "leave at least one channel)")


def test_configurations_are_the_plan_and_are_stored_as_such(tmp_path):
    layers = netplan.unique_layers(model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS)))[:2]
    netplan.assign_distances(layers, [1, 2])          # 0 is added: the unpruned reference
    configs = netplan.configurations(layers)
    assert [dict(c)["layer"] + ":" + dict(c)["channels"] for c in configs] == \
        ["c1:8", "c1:7", "c1:6", "c2:8", "c2:7", "c2:6"]
    assert dict(configs[4]) == {"layer": "c2", "channels": "7", "distance": "1", "input": "16x16x8", "kernel": "3",
                                "stride": "1", "pad": "1", "shared": "c3"}
    runs = plan_configs(configs, 2, "shuffle", seed=3)
    assert len(runs) == 12 and sorted(r.config for r in runs[:6]) == sorted(configs)
    params = params_of(configs)
    assert params[0] == ("layer", ["c1", "c2"])
    text = stored.plan_json(params, runs, configs)
    assert [tuple(c) for c in json.loads(text)["configurations"]] == [tuple(v for _, v in c) for c in configs]


def test_template_and_scale_check(tmp_path):
    layers = netplan.unique_layers(model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS)))
    t = netplan.command("/x/conv_bench", "tiled", 0.5, 3, 1)
    assert t[:3] == ["/x/conv_bench", "--input", "{input}"] and t[-6:] == ["--scale", "0.5", "--iters", "3",
                                                                             "--warmup", "1"]
    netplan.check_scale(layers, 0.05)           # 1x1 inputs, but pad 1 fits the 3x3 kernels
    valid = netplan.unique_layers(model.from_onnx(tiny_model(tmp_path / "v.onnx", [("v", 4, 3, 1, 0, 1)])))
    with pytest.raises(UsageError) as e:
        netplan.check_scale(valid, 0.1)
    assert str(e.value) == ("--scale 0.1: layer v (16x16, kernel 3, pad 0) would be 2x2, smaller than its kernel; "
                            "raise --scale")


def test_not_onnx_and_no_conv(tmp_path):
    bad = tmp_path / "notes.onnx"
    bad.write_text("this is not an onnx model\n")
    with pytest.raises(CltraceError) as e:
        model.from_onnx(str(bad))
    assert str(e.value) == f"{bad} is not an ONNX model (the onnx package cannot parse it)"
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "noconv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(CltraceError) as e:
        model.from_onnx(str(path))
    assert str(e.value) == f"{path} has no Conv layer to sweep"


def test_input_shape_fixes_a_model_exported_with_dynamic_sizes(tmp_path):
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c", kernel_shape=[3, 3],
                                                pads=[1, 1, 1, 1])], "dyn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = str(tmp_path / "dyn.onnx")
    onnx.save(helper.make_model(graph), path)
    assert model.from_onnx(path).layers[0].skip == "its input or weight shape is unknown after shape inference"
    layer = model.from_onnx(path, model.parse_shape("1x3x40x48")).layers[0]
    assert (layer.skip, layer.h, layer.w, layer.c, layer.out) == (None, 40, 48, 3, 8)
    with pytest.raises(UsageError) as e:
        model.parse_shape("3x40")
    assert str(e.value) == "--input-shape 3x40: give the input's dims as NxCxHxW, e.g. 1x3x224x224"
