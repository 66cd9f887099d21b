"""Throughput of one sweep run locally and through a local Dask farm of 2 simulated boards (docs/farm.md).

    python bench/bench_farm.py [--runs-per-config 3] [--channels 4,8,12,16] [--iters 20] [--input 32x32x16]

Starts a scheduler and two workers (board:a, board:b) on this machine, runs the same plan (-p board=a,b
--allow-unused-param locally, --board a --board b on the farm) and prints wall time and runs per minute of each.
On one machine both boards share its CPUs, so this measures the farm's overhead and what overlap the machine
allows, not the gain of real boards (which do not share anything but the network).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

PY = sys.executable


def spawn(argv, root, name):
    log = open(os.path.join(root, name + ".log"), "wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-per-config", type=int, default=3)
    ap.add_argument("--channels", default="4,8,12,16")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--input", default="32x32x16")
    ap.add_argument("--sleep", type=float, metavar="S",
                    help="run a program that sleeps S seconds instead of conv_bench (a board that does the work "
                         "while this machine's CPUs are free: what separate boards look like)")
    a = ap.parse_args()
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "bin", "conv_bench")
    cmd = ["--", bench, "--input", a.input, "--kernel", "3", "--pad", "1", "--out-channels", "{channels}",
           "--method", "direct", "--iters", str(a.iters), "--warmup", "2"]
    if a.sleep is not None:
        cmd = ["--", PY, "-c", "import sys, time; time.sleep(float(sys.argv[1]))", str(a.sleep), "{channels}"]
    common = ["sweep", "-q", "-p", f"channels={a.channels}", "--repeat", str(a.runs_per_config)]
    n = len(a.channels.split(",")) * 2 * a.runs_per_config
    with tempfile.TemporaryDirectory() as root:
        sched = os.path.join(root, "scheduler.json")
        procs = [spawn([PY, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", sched, "--port", "0",
                        "--dashboard-address", ":0", "--no-show"], root, "scheduler")]
        while not (os.path.exists(sched) and os.path.getsize(sched)):
            time.sleep(0.1)
        for b in "ab":
            procs.append(spawn([PY, "-m", "distributed.cli.dask_worker", "--scheduler-file", sched, "--nthreads", "1",
                                "--no-nanny", "--no-dashboard", "--name", f"board-{b}", "--resources", f"board:{b}=1"],
                               root, f"worker-{b}"))
        try:
            time.sleep(3)
            cltrace = [PY, "-m", "cltrace.cli.main"]
            t0 = time.monotonic()
            subprocess.run(cltrace + common + ["-p", "board=a,b", "--allow-unused-param", "-o",
                                               os.path.join(root, "local.db")] + cmd, check=True)
            t_local = time.monotonic() - t0
            t0 = time.monotonic()
            subprocess.run(cltrace + common + ["--cluster", sched, "--board", "a", "--board", "b", "-o",
                                               os.path.join(root, "farm.db")] + cmd, check=True)
            t_farm = time.monotonic() - t0
            what = f"sleep {a.sleep} s" if a.sleep is not None else f"{a.input}, {a.iters} iterations each"
            print(f"{n} runs ({what}, channels {a.channels})")
            print(f"local sweep:            {t_local:6.2f} s  {n / t_local * 60:6.1f} runs/min")
            print(f"farm sweep, 2 workers:  {t_farm:6.2f} s  {n / t_farm * 60:6.1f} runs/min  "
                  f"({t_local / t_farm:.2f}x)", flush=True)
        finally:
            for p in reversed(procs):           # workers first: without a scheduler they retry for ever
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


if __name__ == "__main__":
    main()
