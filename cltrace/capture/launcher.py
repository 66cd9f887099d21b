"""Run one program under the shim and collect what it leaves behind."""
import datetime as _dt
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from ..errors import CltraceError
from . import emulation, layer_notes
from .modes import resolve_mode, shim_environment

# Only these variables of the traced program's environment are ever recorded.
RECORDED_ENV_PREFIXES = ("CLTRACE_", "OCL_ICD_", "POCL_", "OPENCL_", "QEMU_")


@dataclass
class ChildResult:
    argv: List[str]
    mode: str
    capture_dir: str
    started_at: str
    ended_at: str = ""
    wall_s: float = 0.0
    exit_status: int = 0
    signal: Optional[int] = None
    status: str = "ok"            # ok | failed | not-found | not-executable | interrupted
    env: Dict[str, str] = field(default_factory=dict)
    emulation: Optional[dict] = None   # the `emulation` note when a foreign-architecture program ran under qemu

    def cleanup(self) -> None:
        shutil.rmtree(self.capture_dir, ignore_errors=True)


def recorded_env(env: Mapping[str, str]) -> Dict[str, str]:
    return {k: v for k, v in sorted(env.items()) if k.startswith(RECORDED_ENV_PREFIXES)}


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _die_with_parent():
    """A preexec_fn: the child gets SIGTERM when cltrace dies (even by SIGKILL), instead of running on as an
    orphan into an abandoned capture directory (Linux prctl PR_SET_PDEATHSIG; elsewhere nothing)."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def _set():
        prctl(1, signal.SIGTERM, 0, 0, 0)       # PR_SET_PDEATHSIG
        if os.getppid() != parent:              # cltrace died before that took effect
            os.kill(os.getpid(), signal.SIGTERM)
    return _set


def make_capture_dir(parent: Optional[str] = None) -> str:
    """A private (0700, unpredictable name) directory for the shim's capture files."""
    return tempfile.mkdtemp(prefix="cltrace-", dir=parent)


def run_traced(argv: Sequence[str], mode: str = "auto", settings: Optional[Mapping[str, str]] = None,
               env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
               stdout=None, stderr=None, capture_dir: Optional[str] = None) -> ChildResult:
    """Start argv with the shim switched on, wait for it, and report how it ended.

    The child's exit status is reported as a shell would: its exit code, or 128+N when
    killed by signal N. Ctrl-C reaches the child through the terminal; cltrace itself
    waits for it to end so that everything it recorded can still be ingested.
    """
    if not argv:
        raise CltraceError("no command given")
    base_env = env if env is not None else os.environ
    emu = emulation.detect(argv, base_env)
    if emu:
        argv = emu.argv
        mode = resolve_mode(mode, emu.loader if emu.loader.path else None)
    else:
        mode = resolve_mode(mode)
    capture_dir = capture_dir or make_capture_dir()
    guest = {"loader": emu.loader, "native_dir": emu.shim_dir} if emu else {}     # the guest's own shim and loader
    child_env = shim_environment(mode, capture_dir, settings or {}, base_env, **guest)
    # a layer below cltrace (OPENCL_LAYERS) may say what it did there (capture/layer_notes.py)
    child_env[layer_notes.LAYER_NOTES_ENV] = layer_notes.prepare(capture_dir)
    result = ChildResult(list(argv), mode, capture_dir, _now_iso(), env=recorded_env(child_env),
                         emulation=emu.note(child_env) if emu else None)
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(list(argv), env=child_env, cwd=cwd, stdout=stdout, stderr=stderr,
                                preexec_fn=_die_with_parent())
    except FileNotFoundError:
        result.status, result.exit_status = "not-found", 127
        result.ended_at = _now_iso()
        return result
    except PermissionError:
        result.status, result.exit_status = "not-executable", 126
        result.ended_at = _now_iso()
        return result
    interrupted = False
    old_int = signal.getsignal(signal.SIGINT)
    old_term = signal.getsignal(signal.SIGTERM)

    def _forward(signum, _frame):
        nonlocal interrupted
        interrupted = True
        # A terminal's Ctrl-C reaches the child by itself; a signal sent to cltrace alone must be passed on.
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGINT, _forward)
    signal.signal(signal.SIGTERM, _forward)
    try:
        rc = proc.wait()
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    result.wall_s = time.monotonic() - t0
    result.ended_at = _now_iso()
    if rc < 0:
        result.signal = -rc
        result.exit_status = 128 - rc
    else:
        result.exit_status = rc
    if interrupted:
        result.status = "interrupted"
    elif result.exit_status != 0:
        result.status = "failed"
    return result
