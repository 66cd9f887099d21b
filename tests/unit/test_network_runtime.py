"""cltrace network's runtimes: the OpenCV DNN runner's command template, telling a stored template's runtime
(--resume), the skip reasons naming the runner, --layers choosing a subset of a network's unique shapes."""
import pytest

pytest.importorskip("onnx")

from cltrace.errors import UsageError
from cltrace.network import model, plan as netplan
from cltrace.sweep.plan import render_command
from test_network_plan import CONVS, tiny_model


def test_opencv_template_renders_each_configuration(tmp_path):
    layers = netplan.unique_layers(model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS)))
    netplan.assign_distances(layers, [0, 2])
    configs = netplan.configurations(layers)
    t = netplan.opencv_command("/py", "/r/opencv_conv.py", 0.5, 4, 1)
    assert render_command(t, dict(configs[1])) == [
        "/py", "/r/opencv_conv.py", "--input", "16x16x3", "--kernel", "3", "--stride", "1", "--pad", "1",
        "--out-channels", "6", "--scale", "0.5", "--iters", "4", "--warmup", "1", "--name", "c1"]
    assert netplan.runtime_of(t) == "opencv"
    assert netplan.runtime_of(netplan.command("/cb", "gemm", 0.5, 4, 1)) == "conv_bench"
    acl = netplan.acl_command("/a64/acl_conv_bench", "direct", "Mali-T628", 0.5, 4, 1)
    assert acl[-4:] == ["--warmup", "1", "--device-name", "Mali-T628"] and "direct" in acl
    assert netplan.runtime_of(acl) == "acl"


def test_acl_guest_environment_puts_the_compat_layer_first_once():
    from cltrace.network import acl
    env = acl.guest_environment({"CLTRACE_ACL_DIR": "/x", "OPENCL_LAYERS": "/mine.so"})
    assert env == {"QEMU_LD_PREFIX": "/x/sysroot", "OCL_ICD_VENDORS": "/x/vendors",
                   "OPENCL_LAYERS": acl.COMPAT + ":/mine.so"}
    assert acl.guest_environment({"CLTRACE_ACL_DIR": "/x", **env})["OPENCL_LAYERS"] == env["OPENCL_LAYERS"]


def test_skip_reasons_name_the_runner(tmp_path):
    net = model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS), runner="the opencv runner")
    assert net.layers[4].skip == "depthwise convolution: the opencv runner runs dense convolutions only"


def test_layers_choose_unique_shapes_by_any_of_their_layers(tmp_path):
    net = model.from_onnx(tiny_model(tmp_path / "m.onnx", CONVS))
    layers = netplan.unique_layers(net)
    assert [u.name for u in netplan.select_layers(layers, "c4, c3", net)] == ["c2", "c4"]    # plan order
    assert [u.name for u in netplan.select_layers(layers, "c2,c3", net)] == ["c2"]
    with pytest.raises(UsageError, match=r"^--layers: m.onnx has no conv layer c9 \(its layers: c1, c2, c3, c4, "
                                         r"dw, g2\)$"):
        netplan.select_layers(layers, "c1,c9", net)
    with pytest.raises(UsageError, match=r"^--layers: g2 is skipped \(grouped \(2 groups\) convolution: "):
        netplan.select_layers(layers, "g2", net)
    with pytest.raises(UsageError, match=r"^--layers: give layer names, comma-separated$"):
        netplan.select_layers(layers, " , ", net)
