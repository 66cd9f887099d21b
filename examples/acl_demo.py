"""Real Arm Compute Library launches over channel counts (`./dev acl`): ACL 20.08 (Debian's arm64 build) runs
resnet50.L15 (3x3, 28x28x128) under qemu-user on PoCL, traced by cltrace; prints the report, the kernels ACL
chose per channel count, and the difference between a Midgard and a Bifrost device name.

ACL picks its kernels, tile sizes and work-groups from the device name: --devices names the GPUs it is told it
runs on (Mali-T628: Odroid XU4, Midgard; Mali-G72: HiKey 970, Bifrost; the seed paper's two boards), through
the acl_compat layer (examples/acl_compat, docs/acl.md). Timings are the emulator's, not a Mali's: the run is
marked emulated in the trace, and what this shows are ACL's own dispatch decisions.

Needs `scripts/acl_sysroot.sh` (.acl/) and `make -C examples acl-aarch64`; ./dev acl does both.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ACL_DIR = os.environ.get("CLTRACE_ACL_DIR", os.path.join(ROOT, ".acl"))
BENCH = os.path.join(HERE, "bin", "aarch64", "acl_conv_bench")
COMPAT = os.path.join(HERE, "bin", "aarch64", "libacl_compat_layer.so")


def guest_environment(acl_dir: str = ACL_DIR, base=None) -> dict:
    """The environment that runs the aarch64 bench on the sysroot's PoCL with the compatibility layer.

    The compat layer goes first in OPENCL_LAYERS (nearest the driver); cltrace adds its own layer last (nearest
    ACL), so the trace records the launches ACL asked for and only acl_compat changes what PoCL receives.
    """
    env = dict(os.environ if base is None else base)
    env["QEMU_LD_PREFIX"] = os.path.join(acl_dir, "sysroot")
    env["OCL_ICD_VENDORS"] = os.path.join(acl_dir, "vendors")
    env["OPENCL_LAYERS"] = COMPAT + (":" + env["OPENCL_LAYERS"] if env.get("OPENCL_LAYERS") else "")
    return env


def cltrace(args, env, **kw):
    print("$ cltrace " + " ".join(args), flush=True)
    return subprocess.call([sys.executable, "-m", "cltrace.cli.main", *args], env=env, **kw)


def _sizes(r, prefix, dims):
    vals = [getattr(r, f"{prefix}{i}") for i in range(dims)]
    return "x".join(str(int(v)) for v in vals)


def dispatch_table(db: str, out_md: str) -> str:
    """Markdown: per channel count, the kernels each (device, method) dispatched, in order, global / local."""
    from cltrace import Trace
    with Trace(db) as t:
        d = t.dispatches
        params = t.params
    if d.empty:
        return "(no launches)"
    rows = {}
    for run_id, g in d.sort_values("dispatch_id").groupby("run_id", sort=True):
        p = params.loc[run_id]
        cells = []
        for r in g.itertuples():
            dims = int(r.work_dim)
            local = "driver" if int(r.driver_local) else _sizes(r, "local", dims)
            cells.append(f"`{r.kernel_name}` {_sizes(r, 'global', dims)} / {local}")
        rows.setdefault(int(p["channels"]), {})[(str(p["device"]), str(p["method"]))] = "<br>".join(cells)
    cols = sorted({k for v in rows.values() for k in v}, key=lambda k: (k[1], k[0]))
    lines = ["| channels | " + " | ".join(f"{m} on {dev}" for dev, m in cols) + " |",
             "|---:|" + "---|" * len(cols)]
    for c in sorted(rows):
        lines.append(f"| {c} | " + " | ".join(rows[c].get(k, "") for k in cols) + " |")
    text = "\n".join(lines) + "\n"
    with open(out_md, "w") as f:
        f.write("Kernels ACL dispatched per channel count, in order (`kernel` global / local; `driver`: ACL passed "
                "NULL and the driver chose)\n\n" + text)
    return text


SEED_WHAT_IF = ["--target", "mali-g72-mp12", "--what-if-local", "gemm_mm_floating_point_f32_bifrost=4"]


def seed_case(db, env):
    """The seed paper's extra gemm_mm job (its Tables I-IV): ACL 19.02 asked for local 4 where 20.08 asks for 8x8;
    the 20.08 trace's sizes with 19.02's hint, on the HiKey 970's Mali-G72, which runs a remainder as a job of
    its own: the diff of 92 and 93 channels with the jobs column, and the counts that run without an extra job."""
    import json
    print("\n== The seed's case: ACL 19.02's local hint (4) on a Mali-G72 MP12, from this 20.08 trace ==", flush=True)
    cltrace(["diff", db, "channels=92,method=gemm,device=Mali-G72", "channels=93,method=gemm,device=Mali-G72",
             *SEED_WHAT_IF], env)
    out = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "report", db, "--format", "json", *SEED_WHAT_IF],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        return
    from cltrace.ranges import ranges_text
    for g in json.loads(out.stdout)["staircase"]["jobs"]["groups"]:
        if "gemm" in g["group_label"] and "Mali-G72" in g["group_label"]:
            print(f"[{g['group_label']}] one job per launch (no remainder job) at channels="
                  f"{ranges_text(g['fast_values'])}; extra jobs at channels={ranges_text(g['extra_job_values'])} "
                  f"(cltrace report {' '.join(SEED_WHAT_IF)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer", default="resnet50.L15", help="layer (default resnet50.L15: 3x3, 28x28x128)")
    ap.add_argument("--channels", default="88:100",
                    help="output channels a:b (default 88:100, the seed paper's 89-100)")
    ap.add_argument("--methods", default="gemm,direct", help="gemm and/or direct (default both)")
    ap.add_argument("--devices", default="Mali-T628,Mali-G72",
                    help="device names ACL is told (default Mali-T628 (Midgard),Mali-G72 (Bifrost))")
    ap.add_argument("--repeat", type=int, default=1,
                    help="processes per configuration (default 1: dispatch decisions are deterministic; "
                         "emulated timings say nothing about a Mali)")
    ap.add_argument("--iters", type=int, default=1, help="measured iterations per process (default 1)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out"), help="output directory (default ./out)")
    ap.add_argument("--resume", action="store_true",
                    help="continue the last sweep in --out (re-runs failed or missing configurations only)")
    a = ap.parse_args()
    acl_lib = os.path.join(ACL_DIR, "sysroot", "usr/lib/aarch64-linux-gnu/libarm_compute.so.20")
    missing = [p for p in (BENCH, COMPAT, acl_lib)
               if not os.path.exists(p)]
    if missing:
        sys.exit(f"acl_demo: {missing[0]} is missing: run ./dev acl (it builds the sysroot and the bench)")
    os.makedirs(a.out, exist_ok=True)
    db = os.path.join(a.out, "acl.db")
    env = guest_environment()
    t0 = time.perf_counter()
    rc = cltrace(["sweep", "-o", db, "--resume" if a.resume else "-f", "--repeat", str(a.repeat),
                  "-p", f"channels={a.channels}",
                  "-p", f"method={a.methods}", "-p", f"device={a.devices}", "--",
                  BENCH, "--layer", a.layer, "--out-channels", "{channels}", "--method", "{method}",
                  "--device-name", "{device}", "--iters", str(a.iters), "--warmup", "0"], env)
    sweep_s = time.perf_counter() - t0
    if not os.path.exists(db):
        return rc or 1
    cltrace(["report", db], env)
    cltrace(["plot", db, "-o", os.path.join(a.out, "acl-stairs.png")], env)
    devices = [d for d in a.devices.split(",") if d]
    first = a.channels.split(":")[0].split(",")[0]
    if len(devices) >= 2:
        for m in a.methods.split(","):
            cltrace(["diff", db, f"channels={first},method={m},device={devices[0]}",
                     f"channels={first},method={m},device={devices[1]}"], env)
    counts = [int(c) for c in a.channels.split(":")] if ":" in a.channels else []
    if "Mali-G72" in devices and "gemm" in a.methods.split(",") and counts and counts[0] <= 92 < counts[-1]:
        seed_case(db, env)
    md = os.path.join(a.out, "acl-dispatch.md")
    print("\n== Kernels ACL dispatched per channel count ==")
    print(dispatch_table(db, md))
    print(f"acl_demo: sweep took {sweep_s:.0f} s; trace {db}, plot {os.path.join(a.out, 'acl-stairs.png')}, "
          f"dispatch table {md}")
    if rc != 0:
        print("acl_demo: some runs failed (listed above); `./dev acl --resume` runs them again", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
