"""Small real trace databases for report/CLI tests, written in-process (capture files -> ingest), no OpenCL.

`sweep_trace(path, work, ...)` makes a sweep-shaped trace: one run per (channels, repeat), tagged like
`cltrace sweep` tags them (repeat_index set), each a process with a few regions of timed launches whose
device time steps up past `step_at` channels.
"""
import os

from capture_factory import CaptureBuilder

from cltrace.store.db import create_db, insert_run, set_run_tags
from cltrace.store.ingest import ingest_capture_dir


def sweep_trace(path, work, channels=(1, 2, 3, 4), repeats=2, kernel="conv", extra_tags=None, step_at=2,
                fail=(), skip=(), command="./app", iterations=4, slow=None, variants=({},), local=(8,)):
    """A trace of runs (variants x channels) x repeats, interleaved as `cltrace sweep` runs them. Counts above
    `step_at` (or those in `slow`, when given) take twice as long. `variants`: more tags (e.g. [{"method":
    "a"}, {"method": "b"}]); `fail`: channel counts whose runs fail without launches; `skip`: (channels,
    repeat) pairs not recorded (a sweep still in progress); `local`: the launches' local size (None: NULL, the
    driver chooses)."""
    conn = create_db(path)
    n = 0
    try:
        for rep, variant, ch in ((r, v, c) for r in range(repeats) for v in variants for c in channels):
            if (ch, rep) in skip:
                continue
            n += 1
            tags = {"channels": ch, **variant, **(extra_tags or {})}
            argv = [command, "--channels", str(ch)]
            if ch in fail:
                with conn:
                    run_id = insert_run(conn, command=" ".join(argv), argv=argv, status="failed", exit_status=2,
                                        repeat_index=rep, sweep_index=n - 1)
                    set_run_tags(conn, run_id, tags)
                continue
            cap = os.path.join(work, f"cap{n}")
            os.makedirs(cap)
            b = CaptureBuilder(pid=1000 + n)
            b.process(argv)
            b.device(0xD0)
            b.queue(0x10, 0xD0)
            b.program(0x30)
            b.kernel(0x20, kernel)
            factor = 2 if (ch in slow if slow is not None else ch > step_at) else 1
            for i in range(iterations):
                b.region_begin(1 + i, "layer", f"channels={ch}")
                s = b.launch(0x10, 0x20, (64 * ch,), local)
                t0 = 10_000 + i * 100_000 + s * 1000
                b.times(s, t0, t0 + 50_000 * factor + 97 * ((n * 7 + i) % 5))
                b.region_end(1 + i)
            b.exit_note()
            b.write(os.path.join(cap, "p.clt"))
            with conn:
                run_id = insert_run(conn, command=" ".join(argv), argv=argv, status="ok", exit_status=0,
                                    repeat_index=rep, sweep_index=n - 1)
                set_run_tags(conn, run_id, tags)
                ingest_capture_dir(conn, run_id, cap)
    finally:
        conn.close()
    return path
