"""How a sweep's trace and analysis grow with the number of runs (docs/scale.md).

    python bench/bench_runs_scale.py [--runs 500,2000,8000] [--iterations 4]

Builds synthetic sweep traces (tests/unit/trace_factory.sweep_trace: one process per run, `iterations` region
samples of one kernel launch each, channels 1..C x 8 repeats) and prints, per size: seconds to ingest the runs
one transaction each (as a sweep does), trace bytes per run, then the seconds of Trace.samples(), of analyse()
and of the lookup export, with the peak RSS of this process.
"""
import argparse
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "tests", "unit")]

from trace_factory import sweep_trace  # noqa: E402

import cltrace  # noqa: E402
from cltrace.analysis.lookup import latency_lookup  # noqa: E402
from cltrace.analysis.staircase import analyse  # noqa: E402

REPEATS = 8


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="500,2000,8000")
    ap.add_argument("--iterations", type=int, default=4)
    a = ap.parse_args()
    print(f"{'runs':>6} {'launches':>9} {'ingest s':>9} {'s/1k runs':>9} {'MB':>7} {'KB/run':>7} "
          f"{'samples s':>9} {'analyse s':>9} {'lookup s':>8} {'peak MB':>8}")
    for n in (int(x) for x in a.runs.split(",")):
        channels = tuple(range(1, n // REPEATS + 1))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.db")
            t0 = time.perf_counter()
            sweep_trace(path, d, channels=channels, repeats=REPEATS, iterations=a.iterations,
                        step_at=len(channels) // 2)
            t_ingest = time.perf_counter() - t0
            size = os.path.getsize(path) + sum(os.path.getsize(path + s) for s in ("-wal",) if os.path.exists(path + s))
            t = cltrace.open(path)
            t0 = time.perf_counter()
            s = t.samples()
            t_samples = time.perf_counter() - t0
            t0 = time.perf_counter()
            analyse(s)
            t_analyse = time.perf_counter() - t0
            t0 = time.perf_counter()
            latency_lookup(s)
            t_lookup = time.perf_counter() - t0
            launches = len(t.launches)
            t.close() if hasattr(t, "close") else None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        runs = len(channels) * REPEATS
        print(f"{runs:>6} {launches:>9} {t_ingest:>9.2f} {t_ingest / runs * 1000:>9.2f} {size / 1e6:>7.1f} "
              f"{size / runs / 1e3:>7.1f} {t_samples:>9.2f} {t_analyse:>9.2f} {t_lookup:>8.2f} {peak:>8.0f}",
              flush=True)


if __name__ == "__main__":
    main()
