"""Run the threaded test programs under a sanitized shim, as C processes (no Python in the traced process).

    python scripts/sanitize_run.py NATIVE_DIR BIN_DIR LOG_DIR [RUNTIME_TO_PRELOAD] [--canary]

NATIVE_DIR: the sanitized libraries (scripts/sanitize_build.py); BIN_DIR: tests/programs built for the
sanitizer (TSan needs its runtime linked into the executable: a libtsan only LD_PRELOADed into an
uninstrumented program crashes in its __tls_get_addr interceptor with GCC 12) or the ordinary ones plus
RUNTIME_TO_PRELOAD (libasan: it must come first among the loaded libraries). Each program runs in both
capture modes with the environment `cltrace run` would give it (cltrace.capture.modes.shim_environment);
its captures are then ingested by this (unsanitized) process and every launch must be there with its device
times read, as in the integration tests. The sanitizers write their reports under LOG_DIR; the caller
(scripts/sanitize.sh) fails on any. --canary: the CANARY runs instead (for a deliberately broken shim, whose
race they must show). Exit status: 0 when every run passed, 1 otherwise.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from cltrace.capture.modes import shim_environment  # noqa: E402  (the repository's cltrace, not an installed one)
from cltrace.store.db import create_db, insert_run  # noqa: E402
from cltrace.store.ingest import ingest_capture_dir  # noqa: E402

# (program argv, its launches, what it exercises in the shim: pending.c's rings, claims across threads, the
# harvest at a wait); every launch must come back with its device times ('ok'), as the integration tests hold
SMALL = {"CLTRACE_CHUNK_KB": "4", "CLTRACE_MAX_PENDING": "16"}    # the smallest each option takes
RUNS = [
    (["threads", "8", "1000"], {}, 8000, "8 threads on one shared in-order queue (a pending ring each)"),
    (["threads", "8", "1000"], SMALL, 8000, "the same, rings of 16: polls, ring growth, the driver's "
                                            "completion callbacks beyond 64; 4 KiB chunks copied out"),
    (["threads", "4", "500", "own", "ooo"], {}, 2000, "4 threads, a queue each, out of order"),
    (["threads", "16", "200", "shared", "ooo"], SMALL, 3200, "16 threads on one out-of-order queue, small rings"),
    (["linked", "40", "null", "app"], {}, 40, "the app waits on each of its own events"),
    (["loop", "1", "40"], {}, 40, "clFinish after every launch"),
]
# One thread's clFinish walks the other threads' rings while they may still write them. TSan reports a race only
# when nothing else orders the two accesses, and PoCL's own locks often do: here a run shows the canary's race
# about one time in two (more launches make it rarer, not likelier), so it runs 3 times per mode.
CANARY = [(["threads", "4", "500", "own", "ooo"], {}, 2000, "4 threads, a queue each, claims across rings")] * 3


def check(argv, settings, want, mode, native_dir, bin_dir, log_dir, runtime):
    with tempfile.TemporaryDirectory(prefix="clt-sanitize-") as tmp:
        cap = os.path.join(tmp, "cap")
        os.makedirs(cap)
        env = shim_environment(mode, cap, settings, os.environ, native_dir=native_dir)
        if runtime:
            env["LD_PRELOAD"] = runtime + (":" + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
        for var, opts in (("ASAN_OPTIONS", "detect_leaks=0:verify_asan_link_order=0"),
                          ("UBSAN_OPTIONS", "print_stacktrace=1"), ("TSAN_OPTIONS", "second_deadlock_stack=1")):
            kind = var.split("_")[0].lower()
            env[var] = ":".join(x for x in (os.environ.get(var, opts),
                                            f"log_path={os.path.join(log_dir, kind)}") if x)
        p = subprocess.run([os.path.join(bin_dir, argv[0])] + argv[1:], env=env, capture_output=True, text=True,
                           timeout=600)
        if p.returncode != 0:
            return f"exit {p.returncode}: {p.stderr.strip()[-500:]}"
        db = os.path.join(tmp, "t.db")
        conn = create_db(db)
        run_id = insert_run(conn, command=" ".join(argv), status="ok")
        ingest_capture_dir(conn, run_id, cap)
        conn.commit()
        n, timed = conn.execute("SELECT count(*), coalesce(sum(times_status = 'ok'), 0) FROM launches").fetchone()
        conn.close()
        if n != want or timed != want:
            return f"{n} launches captured ({timed} with device times), the program made {want}"
    return None


def main():
    args = [a for a in sys.argv[1:] if a != "--canary"]
    if len(args) not in (3, 4):
        sys.exit("usage: " + __doc__.strip().splitlines()[2].strip())
    native_dir, bin_dir, log_dir = (os.path.abspath(a) for a in args[:3])
    runtime = args[3] if len(args) == 4 else ""
    failed = 0
    for argv, settings, want, what in (CANARY if "--canary" in sys.argv else RUNS):
        for mode in ("layer", "preload"):
            err = check(argv, settings, want, mode, native_dir, bin_dir, log_dir, runtime)
            print(f"  {'FAIL' if err else 'ok  '} {mode:7} {' '.join(argv):26} {what}" + (f": {err}" if err else ""),
                  flush=True)
            failed += err is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
