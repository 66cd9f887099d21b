"""A whole network's pruning map (`cltrace network`, `cltrace network-map`).

- model.py: the conv layers of an ONNX model (onnx.shape_inference) or of conv_bench's catalogue
- plan.py: unique shapes, pruning distances, the explicit configuration list and the runtime's command (conv_bench or
  examples/opencv_conv.py, OpenCV DNN)
- pruning_map.py: the per-layer staircase verdicts as a layers x distance map, the per-layer table, the heatmap
- opencv.py: the OpenCV DNN runtime's checks (cv2 importable, a 4.x with the OpenCL target)
- acl.py: ACL under qemu as a runtime (examples/acl_conv_bench; dispatch facts only, the timings are the emulator's)
- predict.py: a pruning plan's latency from a network sweep

Below the report (which shows the map of a network sweep) and beside cltrace.trace, above the analysis
(docs/architecture.md): it plans configurations and reads analysis results, and never runs a sweep itself
(cli/network.py hands the plan to the sweep engine).
"""
