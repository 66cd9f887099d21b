"""Throughput of one sweep run locally and through a local Dask farm of 2 simulated boards (docs/farm.md).

    python bench/bench_farm.py [--runs-per-config 3] [--channels 4,8,12,16] [--iters 20] [--input 32x32x16]
                               [--sleep S] [--readme] [--plaintext]

Starts a farm on this machine, everything on 127.0.0.1: by default as docs/farm.md says, `cltrace farm` (a
TLS-only scheduler with its certificates) and two workers with the worker certificate; --plaintext: a plain
`dask scheduler --host 127.0.0.1` (the farm before issue 27). Then runs the same plan locally and on the
farm and prints wall time and runs per minute of each.
  default:   -p board=a,b --allow-unused-param locally, --board a --board b on the farm (workers board:a,
             board:b), a 32x32x16 direct convolution (--iters) or a program that sleeps (--sleep S);
  --readme:  the README's sweep, `-p channels=64:128 -p method=gemm,direct --repeat 3` of conv_bench
             --layer resnet50.L15 --scale 0.5 (390 runs), on one board kind served by both workers (a pool);
             --channels A:B[:STEP] and --runs-per-config scale it down.
On one machine both boards share its CPUs, so this measures the farm's overhead and what overlap the machine
allows, not the gain of real boards (which do not share anything but the network).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PY = sys.executable
CLTRACE = [PY, "-m", "cltrace.cli.main"]


def spawn(argv, root, name):
    log = open(os.path.join(root, name + ".log"), "wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)


def start_farm(root, plaintext, boards):
    """(scheduler address, extra sweep options, processes) of a farm on 127.0.0.1 with a worker per board."""
    sched = os.path.join(root, "scheduler.json")
    certs = os.path.join(root, "certs")
    if plaintext:
        procs = [spawn([PY, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", sched, "--host", "127.0.0.1",
                        "--port", "0", "--dashboard-address", "127.0.0.1:0"], root, "scheduler")]
    else:
        procs = [spawn(CLTRACE + ["farm", "--dir", certs, "--port", "0", "--scheduler-file", sched], root, "farm")]
    while not (os.path.exists(sched) and os.path.getsize(sched)):
        time.sleep(0.1)
    time.sleep(0.2)
    with open(sched) as f:
        address = json.load(f)["address"]
    tls = [] if plaintext else ["--tls-ca-file", os.path.join(certs, "ca.pem"), "--tls-cert",
                                os.path.join(certs, "worker.pem"), "--tls-key", os.path.join(certs, "worker-key.pem")]
    for i, b in enumerate(boards):
        procs.append(spawn([PY, "-m", "distributed.cli.dask_worker", address] + tls + [
            "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address",
            "127.0.0.1:0", "--name", f"board-{b}-{i}", "--resources", f"board:{b}=1"], root, f"worker-{i}"))
    return address, ([] if plaintext else ["--cluster-tls", certs]), procs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-per-config", type=int, default=3)
    ap.add_argument("--channels", help="default: 4,8,12,16; with --readme 64:128")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--input", default="32x32x16")
    ap.add_argument("--sleep", type=float, metavar="S",
                    help="run a program that sleeps S seconds instead of conv_bench (a board that does the work "
                         "while this machine's CPUs are free: what separate boards look like)")
    ap.add_argument("--readme", action="store_true", help="the README's 390-run sweep (see above)")
    ap.add_argument("--plaintext", action="store_true", help="a plain tcp:// scheduler on 127.0.0.1, not TLS")
    a = ap.parse_args()
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "bin", "conv_bench")
    if a.readme:
        channels = a.channels or "64:128"
        cmd = ["--", bench, "--layer", "resnet50.L15", "--scale", "0.5", "--out-channels", "{channels}", "--method",
               "{method}"]
        common = ["sweep", "-q", "-p", f"channels={channels}", "-p", "method=gemm,direct", "--repeat",
                  str(a.runs_per_config)]
        local_extra, boards, farm_boards = [], ["cpu", "cpu"], ["--board", "cpu"]
        lo, hi, *step = (int(x) for x in channels.split(":"))
        n = len(range(lo, hi + 1, step[0] if step else 1)) * 2 * a.runs_per_config
        what = f"README sweep: conv_bench resnet50.L15 --scale 0.5, channels {channels}, gemm and direct"
    else:
        channels = a.channels or "4,8,12,16"
        cmd = ["--", bench, "--input", a.input, "--kernel", "3", "--pad", "1", "--out-channels", "{channels}",
               "--method", "direct", "--iters", str(a.iters), "--warmup", "2"]
        if a.sleep is not None:
            cmd = ["--", PY, "-c", "import sys, time; time.sleep(float(sys.argv[1]))", str(a.sleep), "{channels}"]
        common = ["sweep", "-q", "-p", f"channels={channels}", "--repeat", str(a.runs_per_config)]
        local_extra, boards, farm_boards = ["-p", "board=a,b", "--allow-unused-param"], ["a", "b"], \
            ["--board", "a", "--board", "b"]
        n = len(channels.split(",")) * 2 * a.runs_per_config
        what = f"sleep {a.sleep} s" if a.sleep is not None else f"{a.input}, {a.iters} iterations each"
    with tempfile.TemporaryDirectory() as root:
        address, tls, procs = start_farm(root, a.plaintext, boards)
        try:
            time.sleep(3)
            t0 = time.monotonic()
            subprocess.run(CLTRACE + common + local_extra + ["-o", os.path.join(root, "local.db")] + cmd, check=True)
            t_local = time.monotonic() - t0
            t0 = time.monotonic()
            subprocess.run(CLTRACE + common + ["--cluster", address] + tls + farm_boards +
                           ["-o", os.path.join(root, "farm.db")] + cmd, check=True)
            t_farm = time.monotonic() - t0
            print(f"{n} runs ({what}); farm: {'plaintext' if a.plaintext else 'TLS'} on {address}, "
                  f"{len(boards)} workers; load average {os.getloadavg()[0]:.2f}")
            print(f"local sweep:            {t_local:6.2f} s  {n / t_local * 60:6.1f} runs/min")
            print(f"farm sweep, {len(boards)} workers:  {t_farm:6.2f} s  {n / t_farm * 60:6.1f} runs/min  "
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
