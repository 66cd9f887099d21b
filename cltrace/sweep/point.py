"""One sweep point on a board, in a process of its own: `python -m cltrace.sweep.point REQUEST RESULT`.

A Dask worker runs its tasks in threads, and a traced program must be run from a main thread (run_traced
passes SIGINT/SIGTERM on to the program), so the worker's task (task.py) starts this module. It applies the
board's noise stabilisers around the run, runs the program under the shim into the capture directory of the
request, and writes what the client records: the run's fields (host = this board's host), the provenance and
stabiliser notes, the stderr tail. The capture files stay in the directory for the task to return.
"""
import json
import os
import sys

from ..capture.launcher import run_traced
from ..record.session import run_fields
from .stabilise import RunMeter, Stabilisers, System, provenance_json
from .engine import stderr_tail


def run_point(request: dict) -> dict:
    out = {}
    warnings = []
    err_path = os.path.join(request["capture_dir"], "..", os.path.basename(request["capture_dir"]) + ".stderr")
    cwd = request.get("cwd")
    if not cwd or not os.path.isdir(cwd):
        cwd = os.getcwd()               # the client's directory does not exist on this board
    with Stabilisers(request["stabilise"], os.environ, System(), warn=warnings.append) as stab:
        meter = RunMeter(stab.system).start()
        with open(err_path, "wb") as err_file, open(os.devnull, "wb") as null:
            child = run_traced(request["argv"], mode=request["mode"], settings=request["settings"],
                               env=stab.child_env, cwd=cwd, stdout=None if request["show_output"] else null,
                               stderr=err_file, capture_dir=request["capture_dir"])
        measured = meter.stop()
        out["provenance"] = provenance_json(stab, measured)
        out["stabilisers"] = [[s.describe(), int(s.applied)] for s in stab.settings]
    out["fields"] = run_fields(child, cwd, request["sweep_index"], request["repeat_index"])
    out["emulation"] = child.emulation
    out["status"], out["exit_status"] = child.status, child.exit_status
    ended_badly = child.status not in ("ok", "interrupted")
    out["stderr_tail"] = stderr_tail(err_path) if ended_badly else ""
    out["warnings"] = warnings
    try:
        os.unlink(err_path)
    except OSError:
        pass
    return out


def main(argv) -> int:
    request_path, result_path = argv
    with open(request_path) as f:
        request = json.load(f)
    parent = os.getppid()
    result = run_point(request)
    if os.getppid() != parent:          # the worker died meanwhile: nobody will fetch the captures
        import shutil
        shutil.rmtree(os.path.dirname(request["capture_dir"]), ignore_errors=True)   # task.py's work directory
        return 1
    tmp = result_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
