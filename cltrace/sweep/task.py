"""The Dask task of one sweep point, run by a worker: start point.py, return the result and capture bytes.

Only the standard library and cltrace are used here, so a worker needs nothing beyond `cltrace[cluster]`."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import zlib

CAPTURE_SUFFIX = ".clt"
# Capture files are written into preallocated space (17 MB for a program of 20 launches, nearly all zeros):
# zlib at its fastest level ships that as ~80 KB in ~30 ms; record.py inflates it.
COMPRESSION = "zlib"


def _die_with_worker():
    """preexec_fn: point.py gets SIGTERM when the worker dies (even by SIGKILL); it passes it to the program."""
    from ..capture.launcher import _die_with_parent
    return _die_with_parent()


def run_on_board(request: dict) -> dict:
    """Run one planned run on this worker's board. Returns point.py's result plus `files` (name -> zlib-compressed
    bytes of every capture file), `worker` (this worker's name and address) and `host`."""
    work = tempfile.mkdtemp(prefix="cltrace-point-")
    try:
        capture_dir = os.path.join(work, "captures")
        os.mkdir(capture_dir, 0o700)
        req_path, res_path = os.path.join(work, "request.json"), os.path.join(work, "result.json")
        with open(req_path, "w") as f:
            json.dump(dict(request, capture_dir=capture_dir), f)
        proc = subprocess.Popen([sys.executable, "-m", "cltrace.sweep.point", req_path, res_path],
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_worker())
        try:
            _, err = proc.communicate()
        except BaseException:
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
        if proc.returncode != 0 or not os.path.exists(res_path):
            tail = (err or b"").decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"cltrace on {socket.gethostname()} could not run the point "
                               f"(exit {proc.returncode}): {' | '.join(tail)}")
        with open(res_path) as f:
            result = json.load(f)
        files = {}
        for name in sorted(os.listdir(capture_dir)):
            path = os.path.join(capture_dir, name)
            if name.endswith(CAPTURE_SUFFIX) and os.path.isfile(path):
                with open(path, "rb") as f:
                    files[name] = zlib.compress(f.read(), 1)
        result["files"], result["compression"] = files, COMPRESSION
        result["host"] = socket.gethostname()
        result["worker"] = _worker_name()
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _worker_name() -> str:
    try:
        from distributed import get_worker
        w = get_worker()
        return f"{w.name} ({w.address})"
    except (ImportError, ValueError):
        return socket.gethostname()
