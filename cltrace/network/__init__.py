"""A whole network's pruning map (`cltrace network`, `cltrace network-map`).

- model.py: the conv layers of an ONNX model (onnx.shape_inference) or of conv_bench's catalogue
- plan.py: unique shapes, pruning distances, the explicit configuration list and the runtime's command (conv_bench or
  examples/opencv_conv.py, OpenCV DNN)
- pruning_map.py: the per-layer staircase verdicts as a layers x distance map, the per-layer table, the heatmap
- opencv.py: the OpenCV DNN runtime's checks (cv2 importable, a 4.x with the OpenCL target)
"""
