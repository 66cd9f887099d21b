"""Arranges the window between a traced program's exit and cltrace reaping it, for the interrupt tests.

late_signal_hook(signum, run_no, when) wraps capture.launcher.spawn so that run_traced's wait() of the
run_no-th program first waits until the program is a zombie (it exited, nobody reaped it: "ended"), or until
it runs its own code ("running"), then sends signum to cltrace itself and only then reaps it. A signal that
lands in that window is deterministic this way: the reaper is held until the signal has been handled.

Imported by the unit tests, and by a sweep subprocess through HOOK (python -c HOOK ... cltrace args)."""
import os
import time

from cltrace.capture import launcher


def state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(") ", 1)[1].split()[0]


def _ready(proc, when: str, program: str) -> bool:
    if when == "ended":
        return state(proc.pid) == "Z"
    try:      # the program itself runs (cltrace-exec has exec'd it) and is not yet a zombie
        return os.path.basename(os.readlink(f"/proc/{proc.pid}/exe")) == program and state(proc.pid) != "Z"
    except OSError:
        return False


def late_signal_hook(signum: int, run_no: int = 1, when: str = "ended") -> None:
    real_spawn = launcher.spawn
    count = {"n": 0}

    def spawn(argv, *a, **k):
        proc = real_spawn(argv, *a, **k)
        count["n"] += 1
        if count["n"] != run_no:
            return proc
        real_wait = proc.wait

        def wait(timeout=None):
            deadline = time.monotonic() + 30
            while not _ready(proc, when, os.path.basename(argv[0])):
                if time.monotonic() > deadline:
                    raise AssertionError(f"the program never got {when}: {state(proc.pid)}")
                time.sleep(0.001)
            os.kill(os.getpid(), signum)
            return real_wait(timeout)

        proc.wait = wait
        return proc

    launcher.spawn = spawn


HOOK = ("import signal, sys; sys.path.insert(0, {tests!r}); from interrupt_window import late_signal_hook; "
        "late_signal_hook(signal.{sig}, {run_no}); from cltrace.cli.main import main; sys.exit(main(sys.argv[1:]))")
