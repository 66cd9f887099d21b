"""Are driver-job changes named at every neighbour pair where they happen? (issue 22's first target)

    python bench/bench_job_changes.py [TRACE] [--channels 88:100] [--device Mali-G72] [--target NAME]
                                      [--what-if-local GLOB=L]

Without TRACE it first sweeps real ACL 20.08 (Debian arm64, under qemu, examples/acl_demo.py's environment:
run ./dev acl once to set it up) over the channel range with --method gemm, one run per count, and traces it.
Then it computes, from the trace's own recorded global and local sizes and without cltrace.analysis, the number
of uniform regions of every launch (per dimension: a bulk region when global >= local, a remainder when local
does not divide global), lists the neighbour pairs where that changes, and compares them with the pairs
`cltrace report --format json` names as `extra-job` / `job-removed`. Printed: expected, named, missed, extra.
With --what-if-local the expected regions use that local size too (the first matching glob, as the report).
"""
import argparse
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))


def sweep(path, channels, device):
    import acl_demo
    cmd = [sys.executable, "-m", "cltrace.cli.main", "sweep", "-q", "-f", "-o", path, "--repeat", "1",
           "-p", f"channels={channels}", "-p", f"device={device}", "--", acl_demo.BENCH, "--layer", "resnet50.L15",
           "--out-channels", "{channels}", "--method", "gemm", "--device-name", "{device}", "--iters", "1",
           "--warmup", "0"]
    t = time.time()
    subprocess.run(cmd, env=acl_demo.guest_environment(), check=True)
    print(f"swept {channels} on {device} in {time.time() - t:.0f} s: {path}")


def regions(g, loc):
    n = 1
    for gd, ld in zip(g, loc):
        n *= (gd >= ld) + (gd % ld != 0)
    return n


def expected_pairs(path, what_if):
    import cltrace
    with cltrace.open(path) as t:
        d = t.dispatches.sort_values("dispatch_id")
        params = t.params
    per = {}
    for run_id, g in d.groupby("run_id"):
        jobs = []
        for r in g.itertuples():
            if int(r.driver_local):
                continue
            dims = int(r.work_dim)
            glob = tuple(int(getattr(r, f"global{i}")) for i in range(dims))
            loc = tuple(int(getattr(r, f"local{i}")) for i in range(dims))
            for pat, size in what_if:
                if fnmatch.fnmatchcase(r.kernel_name, pat):
                    loc = (size + (1, 1, 1))[:dims]
                    break
            jobs.append(regions(glob, loc))
        per[float(params.loc[run_id, "channels"])] = jobs
    vals = sorted(per)
    return {(a, b) for a, b in zip(vals, vals[1:]) if per[a] != per[b]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace", nargs="?")
    ap.add_argument("--channels", default="88:100")
    ap.add_argument("--device", default="Mali-G72")
    ap.add_argument("--target")
    ap.add_argument("--what-if-local", action="append", default=[])
    a = ap.parse_args()
    path = a.trace or os.path.join(tempfile.mkdtemp(prefix="bench-jobs-"), "acl.db")
    if not a.trace:
        sweep(path, a.channels, a.device)
    what_if = [(s.split("=")[0], tuple(int(v) for v in s.split("=")[1].split("x"))) for s in a.what_if_local]
    want = expected_pairs(path, what_if)
    cmd = [sys.executable, "-m", "cltrace.cli.main", "report", path, "--format", "json"]
    cmd += ["--target", a.target] if a.target else []
    for s in a.what_if_local:
        cmd += ["--what-if-local", s]
    st = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)["staircase"]
    named = {(float(c["from_value"]), float(c["to_value"])) for c in st["dispatch_changes"]
             if c["kind"] in ("extra-job", "job-removed")}

    def fmt(s):
        return ", ".join(f"{x:g}->{y:g}" for x, y in sorted(s)) or "none"
    print(f"policy: {', '.join(g['described'] for g in st['jobs']['groups'])}")
    print(f"pairs whose job count changes (from the recorded sizes): {len(want)}: {fmt(want)}")
    print(f"pairs the report names as job changes: {len(named)}: {fmt(named)}")
    print(f"missed: {fmt(want - named)}; named without a change: {fmt(named - want)}")
    print(f"named in {len(want & named)}/{len(want)} of the pairs where they happen")
    return 0 if want == named else 1


if __name__ == "__main__":
    sys.exit(main())
