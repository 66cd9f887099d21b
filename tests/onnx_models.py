"""Tiny ONNX models built in the tests (onnx.helper, random weights made here), for the unit tests of network
planning and the integration tests of `cltrace network`. Importers skip first when onnx is missing
(pytest.importorskip("onnx"))."""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_model(path, convs, size=16, cin=3, relu=False):
    """A chain of Conv nodes: convs = [(name, out, k, stride, pad, group)], weights random; relu: a Relu after
    the last conv (a node that is not a conv)."""
    nodes, inits, c, x = [], [], cin, "x"
    rng = np.random.default_rng(0)
    for name, out, k, s, p, g in convs:
        w = numpy_helper.from_array(rng.random((out, c // g, k, k), dtype=np.float32), name + "_w")
        nodes.append(helper.make_node("Conv", [x, w.name], [name + "_y"], name=name, kernel_shape=[k, k],
                                      strides=[s, s], pads=[p] * 4, group=g))
        inits.append(w)
        x, c = name + "_y", out
    if relu:
        nodes.append(helper.make_node("Relu", [x], ["y"]))
        x = "y"
    graph = helper.make_graph(nodes, "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, size, size])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph), str(path))
    return str(path)


def failing_lists(tmp_path, conv_bench, count: int = 7):
    """A conv_bench wrapper that exits 3 for any --out-channels list holding `count` while tmp_path/FAIL exists
    (created here; delete it to let the blocks pass): every blocked process of a layer holding that count fails."""
    wrapper = tmp_path / "bench.sh"
    wrapper.write_text("#!/bin/sh\nprev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = --out-channels ] && [ -e "
                       f"{tmp_path}/FAIL ]; then case \",$a,\" in *,{count},*) exit 3;; esac; fi\n  prev=$a\ndone\n"
                       f"exec {conv_bench} \"$@\"\n")
    wrapper.chmod(0o755)
    (tmp_path / "FAIL").write_text("")
    return wrapper
