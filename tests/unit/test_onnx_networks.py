"""examples/onnx_networks.py: ResNet-50, VGG-16, AlexNet and MobileNetV2 as ONNX graphs (random weights, no
download), read back by cltrace network's model reader; at width 1 ResNet-50's conv shapes are conv_bench's."""
import importlib.util
import os
import subprocess

import pytest

pytest.importorskip("onnx")

from cltrace.network import model as netmodel, plan as netplan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _generator():
    spec = importlib.util.spec_from_file_location("onnx_networks", os.path.join(ROOT, "examples", "onnx_networks.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name, convs, skipped, unique", [("resnet50", 53, 0, 20), ("vgg16", 13, 0, 9),
                                                          ("alexnet", 5, 0, 5), ("mobilenetv2", 52, 17, 18)])
def test_generated_networks_read_back(name, convs, skipped, unique):
    graph = _generator().build(name, width=0.25).graph
    layers = netmodel.conv_layers(graph)
    net = netmodel.Network(name, "onnx", layers)
    assert (len(layers), len(net.skipped), len(netplan.unique_layers(net))) == (convs, skipped, unique)
    if skipped:
        assert {layer.skip for layer in net.skipped} == {"depthwise convolution: conv_bench runs dense "
                                                         "convolutions only"}


def test_full_width_resnet50_has_the_catalogue_shapes():
    bench = os.path.join(ROOT, "examples", "bin", "conv_bench")
    if not os.access(bench, os.X_OK):
        pytest.skip("examples/bin/conv_bench is not built (make -C examples)")
    listing = subprocess.run([bench, "--list-layers"], capture_output=True, text=True, check=True).stdout
    catalogue = netmodel.Network("resnet50", "catalogue", netmodel.parse_catalogue(listing, "resnet50"))
    onnx_net = netmodel.Network("r", "onnx", netmodel.conv_layers(_generator().build("resnet50", width=1).graph))
    assert sorted(layer.shape for layer in onnx_net.layers) == sorted(layer.shape for layer in catalogue.layers)
