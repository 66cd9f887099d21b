"""Traces of many shapes for comparing `cltrace report` outputs (tests/unit/test_report_chunks.py and
bench/compare_report_json.py): sweeps with regions, sweeps without regions (periodic and single-sample
processes), failed and in-progress sweeps, more than 20 runs, untimed launches, several processes and
threads, and a region longer than signatures.LONG_SIGNATURE launches."""
import os

import numpy as np
from capture_factory import CaptureBuilder, bulk_capture
from trace_factory import sweep_trace

from cltrace.store.db import create_db, insert_run, set_run_tags
from cltrace.store.ingest import ingest_capture_dir


def _record(conn, work, name, builders, tags, status="ok"):
    cap = os.path.join(work, name)
    os.makedirs(cap)
    for i, b in enumerate(builders):
        b.write(os.path.join(cap, f"p{i}.clt"))
    with conn:
        run_id = insert_run(conn, command="./app", argv=["./app"], status=status, exit_status=0)
        set_run_tags(conn, run_id, tags)
        ingest_capture_dir(conn, run_id, cap)
    return run_id


def periodic_trace(path, work, channels=(4, 5, 6, 7, 8), repeats=2, untimed_every=0):
    """Runs without regions: each process launches the same 3-kernel iteration 6 times (split at the
    period), the 8-channel runs once (one sample each, cold); some launches untimed."""
    conn = create_db(path)
    rng = np.random.default_rng(7)
    try:
        k = 0
        for rep in range(repeats):
            for ch in channels:
                k += 1
                b = CaptureBuilder(pid=2000 + k)
                b.process(["./app"])
                b.device(0xD0)
                b.queue(0x10, 0xD0)
                b.program(0x30)
                for h, name in ((0x20, "gemm_mm"), (0x21, "im2col"), (0x22, "gemm_tail")):
                    b.kernel(h, name)
                iters = 1 if ch == 8 else 6
                for it in range(iters):
                    for h, g in ((0x21, (64 * ch,)), (0x20, (16 * -(-ch // 4), 56)), (0x22, (ch % 4 + 1,))):
                        s = b.launch(0x10, h, g, (4,) if h == 0x20 else None)
                        if untimed_every and (s % untimed_every) == 0:
                            continue
                        t0 = 10_000 + s * 10_000
                        b.times(s, t0, t0 + 3000 * (1 + (ch > 5)) + int(rng.integers(0, 500)))
                b.exit_note()
                _record(conn, work, f"cap{k}", [b], {"channels": ch, "repeat": rep})
    finally:
        conn.close()
    return path


def threads_trace(path, work, channels=(1, 2, 3)):
    """Runs with regions on two threads and two processes each, durations with repeats and odd counts."""
    conn = create_db(path)
    rng = np.random.default_rng(11)
    try:
        k = 0
        for ch in channels:
            procs = []
            for p in range(2):
                k += 1
                b = CaptureBuilder(pid=3000 + k)
                b.process(["./app"])
                b.device(0xD0)
                b.queue(0x10, 0xD0)
                b.queue(0x11, 0xD0)
                b.program(0x30)
                b.kernel(0x20, "conv")
                b.kernel(0x21, "relu")
                rid = 0
                for it in range(5):
                    for tid, q in ((100, 0x10), (101, 0x11)):
                        rid += 1
                        b.region_begin(rid, "layer", f"channels={ch}", tid=tid)
                        for h in (0x20, 0x21, 0x20):
                            s = b.launch(q, h, (32 * ch,), (8,), tid=tid)
                            t0 = 5000 + s * 2000
                            b.times(s, t0, t0 + int(rng.choice([700, 800, 800, 900])) * ch, tid=tid)
                        b.region_end(rid, tid=tid)
                b.launch(0x10, 0x21, (8,), (8,))        # outside any region
                b.exit_note()
                procs.append(b)
            _record(conn, work, f"cap{k}", procs, {"channels": ch})
    finally:
        conn.close()
    return path


def long_region_trace(path, work, launches=70_000):
    """One run per count, two regions each of `launches` launches cycling over 4 kernels (a signature
    longer than LONG_SIGNATURE that repeats a period), the 3-count run with a fifth kernel per cycle."""
    conn = create_db(path)
    try:
        for j, ch in enumerate((2, 3)):
            b, handles = bulk_capture(n_kernels=5, pid=4000 + j)
            use = handles[:4] if ch == 2 else handles
            for r in range(2):
                b.region_begin(r + 1, "layer", f"channels={ch}", tid=2000)
                b.bulk_launches(launches - launches % len(use), 0x10, use, tid=2000, duration_ns=1000 + 500 * ch)
                b.region_end(r + 1, tid=2000)
            b.exit_note()
            _record(conn, work, f"cap{j}", [b], {"channels": ch})
    finally:
        conn.close()
    return path


def make_traces(d):
    """{name: path} of every trace shape, made in directory d."""
    d = str(d)

    def sw(name, **kw):
        return sweep_trace(os.path.join(d, f"{name}.db"), os.path.join(d, name), **kw)

    os.makedirs(d, exist_ok=True)
    out = {"sweep": sw("sweep", repeats=3, extra_tags={"method": "gemm"}),
           "in_progress": sw("in_progress", repeats=3, skip={(3, 2), (4, 2), (4, 1)}),
           "failed": sw("failed", repeats=2, fail={1}),
           "one_process": sw("one_process", repeats=1, slow={2}),
           "many_runs": sw("many_runs", channels=(1, 2, 3, 4, 5, 6), repeats=2,
                           variants=({"method": "a"}, {"method": "b"})),
           }
    for name, fn in (("periodic", periodic_trace), ("threads", threads_trace), ("long_region", long_region_trace)):
        os.makedirs(os.path.join(d, name))
        out[name] = fn(os.path.join(d, f"{name}.db"), os.path.join(d, name))
    os.makedirs(os.path.join(d, "untimed"))
    out["untimed"] = periodic_trace(os.path.join(d, "untimed.db"), os.path.join(d, "untimed"), untimed_every=7)
    return out
