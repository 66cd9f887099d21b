"""The OpenCV DNN runtime of `cltrace network` (--runtime opencv): examples/opencv_conv.py runs each configuration
as a one-Conv ONNX model with cv2.dnn on DNN_BACKEND_OPENCV + DNN_TARGET_OPENCL, each measured forward a region
named after the layer.

Before anything runs, the runner's own --probe checks, with the interpreter that will run it, that OpenCV is
there (a 4.x: OpenCV 5's new DNN engine has no OpenCL target) and that it will run DNN on an OpenCL device
(otherwise OpenCV falls back to its CPU code silently and every run would trace no launch)."""
from __future__ import annotations

import os
import subprocess
from typing import List

from ..errors import CltraceError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(ROOT, "examples", "opencv_conv.py")
PROBE_TIMEOUT_S = 120


def probe(python: str, runner: str, env=None) -> str:
    """The runner's --probe line (OpenCV's version and device); CltraceError with the runner's reason when
    OpenCV is missing, too new, or would not use OpenCL."""
    if not os.path.isfile(runner):
        raise CltraceError(f"--runtime opencv: {runner} not found (the OpenCV DNN runner of the source tree's "
                           f"examples/)")
    try:
        p = subprocess.run([python, runner, "--probe"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                           env=env)
    except (OSError, subprocess.SubprocessError) as e:
        raise CltraceError(f"--runtime opencv: cannot run {python} {runner} --probe: {e}") from None
    if p.returncode != 0:
        raise CltraceError(f"--runtime opencv: {_reason(p.stderr, os.path.basename(runner))}")
    return p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "opencv"


def _reason(stderr: str, prog: str) -> str:
    """The runner's own one-line message (OpenCV's log lines around it left out)."""
    lines: List[str] = [line for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(prog + ": "):
            return line[len(prog) + 2:]
    return lines[-1] if lines else "the OpenCV DNN probe failed"
