"""Run one program under the shim and collect what it leaves behind."""
import datetime as _dt
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from .. import native
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
    # SIGINT/SIGTERM that reached cltrace after the program had ended (before or after cltrace reaped it): no
    # program was left to pass it on to, so it is cltrace's own interrupt; the caller stops once the run is stored
    late_signal: Optional[int] = None

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


EXEC_HELPER = "cltrace-exec"       # native/spawn.c, built next to the shim


def _exec_helper() -> Optional[str]:
    """cltrace-exec when it is built and this is Linux (the death signal is Linux's), else None."""
    path = os.path.join(native.NATIVE_DIR, EXEC_HELPER)
    return path if sys.platform.startswith("linux") and os.access(path, os.X_OK) else None


def spawn(argv: Sequence[str], env: Mapping[str, str], cwd: Optional[str] = None, stdout=None,
          stderr=None, wait_for_exec: bool = True) -> subprocess.Popen:
    """subprocess.Popen(argv) whose program gets SIGTERM when cltrace dies (PR_SET_PDEATHSIG).

    Through cltrace-exec (native/spawn.c) Python starts the helper with vfork and the helper sets the death
    signal and execs the program: one small exec, where a preexec_fn would fork() the whole interpreter (30-40
    ms per run with numpy and pandas loaded, docs/scale.md). The program's pid, descriptors (0, 1, 2 as given
    here) and environment are those a plain Popen gives it. Raises FileNotFoundError, PermissionError (or
    another OSError) when the program cannot be executed, as Popen does; with wait_for_exec=False it returns
    at once (no wait for the helper's exec: one wake-up less per run on a loaded machine) and exec_error(proc),
    after proc.wait(), says whether the program ever started."""
    helper = _exec_helper()
    if helper is None:
        try:
            proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=stdout, stderr=stderr,
                                    preexec_fn=_die_with_parent())
        except OSError as e:
            if wait_for_exec:
                raise
            proc = _NotStarted(list(argv), e)
        return proc
    rfd, wfd = os.pipe()            # both close-on-exec; pass_fds makes wfd the helper's, which closes it at exec
    try:
        proc = subprocess.Popen([helper, str(os.getpid()), str(wfd), *argv], env=env, cwd=cwd,
                                stdout=stdout, stderr=stderr, pass_fds=(wfd,))
    except BaseException:
        os.close(rfd)
        raise
    finally:
        os.close(wfd)
    proc.args = list(argv)
    proc._cltrace_exec_pipe = rfd
    if wait_for_exec:
        err = exec_error(proc)
        if err is not None:
            proc.wait()
            raise err
    return proc


class _NotStarted:
    """What spawn(wait_for_exec=False) returns when Popen itself could not start the program."""

    def __init__(self, argv, error: OSError):
        self.args, self.error, self.returncode = argv, error, 127

    def wait(self, timeout=None) -> int:
        return self.returncode

    def send_signal(self, signum) -> None:
        raise ProcessLookupError


def exec_error(proc) -> Optional[OSError]:
    """None when spawn's program was exec'd; else the OSError of its exec (FileNotFoundError, PermissionError,
    ...). Blocks until the helper has exec'd the program or given up (at once, after proc.wait())."""
    if isinstance(proc, _NotStarted):
        return proc.error
    rfd = getattr(proc, "_cltrace_exec_pipe", None)
    if rfd is None:
        return None
    proc._cltrace_exec_pipe = None
    with os.fdopen(rfd, "rb") as f:
        err = f.read()
    if not err:
        return None
    code = int.from_bytes(err[:4], sys.byteorder, signed=True)
    return OSError(code, os.strerror(code), proc.args[0])    # the subclass of the errno: FileNotFoundError, ...


def make_capture_dir(parent: Optional[str] = None) -> str:
    """A private (0700, unpredictable name) directory for the shim's capture files."""
    return tempfile.mkdtemp(prefix="cltrace-", dir=parent)


def _entries(capture_dir: str) -> List[str]:
    """What a run left in its capture directory: its files, and those of its .layer-notes directory."""
    notes = layer_notes.notes_dir(capture_dir)
    out = []
    for base in (notes, capture_dir):
        try:
            with os.scandir(base) as it:
                out.extend(e.path for e in it if not (base == capture_dir and e.path == notes and
                                                      e.is_dir(follow_symlinks=False)))
        except FileNotFoundError:
            pass
    return out


def clear_capture_dir(capture_dir: str) -> bool:
    """Delete what a recorded run left in its capture directory (capture files, marker, layer notes), keeping
    the directory for the next run of the same sweep. True when it is empty again (is_clear)."""
    try:
        for path in _entries(capture_dir):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    except OSError:
        return False
    return is_clear(capture_dir)


def is_clear(capture_dir: str) -> bool:
    """The directory holds nothing but an empty .layer-notes directory: a run's captures can go in."""
    notes = layer_notes.notes_dir(capture_dir)
    try:
        names = os.listdir(capture_dir)
        return names == [] or (names == [layer_notes.LAYER_NOTES_SUBDIR] and os.listdir(notes) == [])
    except OSError:
        return False


class CaptureDirs:
    """One capture directory for a whole sweep, emptied after each recorded run instead of being removed and
    made again (an rmdir + mkdtemp cost 2-5 ms per run on ext4 here, docs/scale.md).

    take() hands the directory out only when it is empty, else makes a new one: a run never ingests another
    run's files. clear(dir), once the run is committed, renames what the run left into a trash directory on
    the same filesystem (0.04 ms) and a background thread unlinks it there: unlinking a capture file whose
    chunks the shim reserved with posix_fallocate costs 4-20 ms of journal work on ext4. close() waits for
    those unlinks and removes both directories. A sweep killed between two runs leaves the capture directory
    empty and without a marker (nothing to recover), and at most the last runs' recorded files in the trash."""

    def __init__(self, parent: Optional[str] = None):
        self.parent = parent
        self.current: Optional[str] = None
        self._trash: Optional[str] = None
        self._queue: "queue.SimpleQueue" = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._n = 0

    def take(self) -> str:
        if self.current is None or not is_clear(self.current):
            self.current = make_capture_dir(self.parent)
        return self.current

    def clear(self, capture_dir: str) -> bool:
        """After the run of capture_dir is recorded: empty it for the next run (see the class)."""
        try:
            if self._trash is None:
                self._trash = tempfile.mkdtemp(prefix="cltrace-trash-", dir=self.parent)
            moved = []
            for path in _entries(capture_dir):
                self._n += 1
                dest = os.path.join(self._trash, f"{self._n}-{os.path.basename(path)}")
                os.rename(path, dest)
                moved.append(dest)
        except OSError:
            return clear_capture_dir(capture_dir)
        if self._thread is None:
            self._thread = threading.Thread(target=self._unlinker, name="cltrace-capture-unlink", daemon=True)
            self._thread.start()
        if moved:
            self._queue.put(moved)      # one put per run: one wake-up of the unlinker, not one per file
        return is_clear(capture_dir)

    def _unlinker(self) -> None:
        while True:
            paths = self._queue.get()
            if paths is None:
                return
            for path in paths:
                try:
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        os.unlink(path)
                except OSError:
                    pass

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._trash is not None:
            shutil.rmtree(self._trash, ignore_errors=True)
            self._trash = None
        if self.current is not None and is_clear(self.current):
            shutil.rmtree(self.current, ignore_errors=True)
        self.current = None

    def __enter__(self) -> "CaptureDirs":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


def has_ended(proc) -> bool:
    """Whether proc's program has ended: reaped, or a zombie cltrace has not reaped yet (waitid WNOWAIT looks
    without reaping, so Popen's own wait still collects its status)."""
    if proc.returncode is not None:
        return True
    if not hasattr(os, "waitid") or not hasattr(os, "WNOWAIT"):     # no look without reaping: as before
        return False
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:      # reaped already
        return True


def _not_started(result: ChildResult, err: OSError) -> ChildResult:
    """The program could not be executed: not-found (127), not-executable (126); any other error is raised."""
    if isinstance(err, FileNotFoundError):
        result.status, result.exit_status = "not-found", 127
    elif isinstance(err, PermissionError):
        result.status, result.exit_status = "not-executable", 126
    else:
        raise err
    result.wall_s = 0.0
    result.ended_at = _now_iso()
    return result


def run_traced(argv: Sequence[str], mode: str = "auto", settings: Optional[Mapping[str, str]] = None,
               env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
               stdout=None, stderr=None, capture_dir: Optional[str] = None) -> ChildResult:
    """Start argv with the shim switched on, wait for it, and report how it ended.

    The child's exit status is reported as a shell would: its exit code, or 128+N when
    killed by signal N. Ctrl-C reaches the child through the terminal; cltrace itself
    waits for it to end so that everything it recorded can still be ingested. SIGINT or SIGTERM
    while the child runs is passed on to it (status 'interrupted'); one that comes after the child
    ended, before or after cltrace reaped it, sets late_signal (the run is otherwise what it was).
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
        proc = spawn(argv, child_env, cwd=cwd, stdout=stdout, stderr=stderr, wait_for_exec=False)
    except OSError as e:
        proc = _NotStarted(list(argv), e)
    if isinstance(proc, _NotStarted):
        return _not_started(result, proc.error)
    interrupted = False
    late: Optional[int] = None
    old_int = signal.getsignal(signal.SIGINT)
    old_term = signal.getsignal(signal.SIGTERM)

    def _forward(signum, _frame):
        nonlocal interrupted, late
        interrupted = True
        if has_ended(proc):
            # The program has exited and waits to be reaped (or was): a signal passed on to it now is lost.
            # It is cltrace's own interrupt: the run is recorded as the program ended, then the caller stops.
            late = late or signum
            return
        # A terminal's Ctrl-C reaches the child by itself; a signal sent to cltrace alone must be passed on.
        # (A program that exits in the microseconds between has_ended() and this kill still loses it, and the
        # run reads 'interrupted' as before: no check can close that gap, only make it this small.)
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
    err = exec_error(proc)
    if err is not None:
        return _not_started(result, err)
    result.ended_at = _now_iso()
    if rc < 0:
        result.signal = -rc
        result.exit_status = 128 - rc
    else:
        result.exit_status = rc
    result.late_signal = late
    # A program that ended cleanly before the signal came was not interrupted; one that ended otherwise may have
    # been, by the same Ctrl-C reaching it from the terminal, and stays 'interrupted'.
    if interrupted and not (late is not None and result.exit_status == 0):
        result.status = "interrupted"
    elif result.exit_status != 0:
        result.status = "failed"
    return result
