"""A ResNet-50 pruning map with `cltrace network`, timed: runs, runs/min and the wall time (issue 24's target:
the whole map in <= 15 minutes on the 2-core machine).

    python bench/bench_network_map.py [--layers N] [--distances 0:16] [--repeat 3] [--scale 0.25]
                                      [--method gemm] [--iters 5] [--warmup 2] [--no-calibrate] [--keep DIR]

The map of the issue: conv_bench's catalogue resnet50 (every unique conv shape: 20 of its 53 layers), pruning
distances 0..16 (`--distances 0:16`), `--repeat 3`, reduced spatial scale (`--scale 0.25`, the default of
`cltrace network`): 20 x 17 x 3 = 1020 runs, one traced process each, run as

    cltrace network resnet50 --distances 0:16 --repeat 3 --scale 0.25 --method gemm -q -f -o DB

--layers N measures a part: N of the unique shapes, spread evenly over the network's execution order (first and
last included, so early 56x56 layers and late 7x7 ones both count), written as a small ONNX model (one
independent Conv per shape, named as in the catalogue; shapes from onnx.shape_inference as for any model) and
swept by the same command. The whole map's time is then extrapolated two ways:
  runs/min   the part's runs per minute applied to the whole plan's runs;
  weighted   each unique shape's own cost measured first (--no-calibrate skips it): one untraced conv_bench
             run of every shape at distance 0, timed; the whole map = the part's measured wall x (sum over all
             shapes of runs x that shape's calibration wall) / (the same sum over the part's shapes). This
             corrects for the part's shapes being cheaper or dearer than the average one.
Every figure is printed with the load average before and after (the machine is shared: say it with the time).
The trace is checked: every planned run recorded, status ok.
"""
import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
try:                        # the installed cltrace, or one on PYTHONPATH
    import cltrace  # noqa: F401
except ImportError:
    sys.path.insert(0, ROOT)

from _sweep_bench import BENCH, CLI, base_env, ensure_bench, loadavg  # noqa: E402

NETWORK = "resnet50"
TARGET_MIN = 15.0


def unique_shapes(conv_bench):
    from cltrace.network import model as netmodel
    from cltrace.network import plan as netplan
    return netplan.unique_layers(netmodel.load(NETWORK, conv_bench))


def spread(n_total, n):
    """n indices of range(n_total), evenly spread, first and last included."""
    if n >= n_total:
        return list(range(n_total))
    if n == 1:
        return [n_total // 2]
    return sorted({round(i * (n_total - 1) / (n - 1)) for i in range(n)})


def write_part_model(layers, path):
    """An ONNX model with one independent Conv per layer: input and weight as graph inputs of fixed shape (no
    weight data), the node named as the catalogue's layer, so that `cltrace network` plans exactly these shapes."""
    import onnx
    from onnx import TensorProto, helper
    inputs, outputs, nodes = [], [], []
    for i, u in enumerate(layers):
        L = u.layer
        x, w, y = f"x{i}", f"w{i}", f"y{i}"
        inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, L.c, L.h, L.w]))
        inputs.append(helper.make_tensor_value_info(w, TensorProto.FLOAT, [L.out, L.c, L.k, L.k]))
        ho = (L.h + 2 * L.p - L.k) // L.s + 1
        wo = (L.w + 2 * L.p - L.k) // L.s + 1
        outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, L.out, ho, wo]))
        nodes.append(helper.make_node("Conv", [x, w], [y], name=u.name, kernel_shape=[L.k, L.k],
                                      strides=[L.s, L.s], pads=[L.p] * 4))
    graph = helper.make_graph(nodes, f"{NETWORK}-part", inputs, outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def calibrate(layers, args, env):
    """{layer name: wall s} of one untraced conv_bench run per shape at distance 0 (median of 2, after one
    unmeasured run of each that fills PoCL's kernel cache)."""
    from cltrace.network import plan as netplan
    template = netplan.command(BENCH, args.method, args.scale, args.iters, args.warmup)
    out = {}
    for rep in range(3):
        for u in layers:
            L = u.layer
            values = {"input": f"{L.h}x{L.w}x{L.c}", "kernel": str(L.k), "stride": str(L.s), "pad": str(L.p),
                      "channels": str(L.out)}
            argv = [re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], a) for a in template]
            t = time.perf_counter()
            p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            wall = time.perf_counter() - t
            if p.returncode != 0:
                sys.exit(f"calibration run failed (rc {p.returncode}): {' '.join(argv)}\n{p.stderr.decode()[-500:]}")
            if rep:
                out.setdefault(u.name, []).append(wall)
    return {k: statistics.median(v) for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=0, metavar="N",
                    help="measure N of the unique shapes, spread over the network (default: all: the whole map)")
    ap.add_argument("--distances", default="0:16", help="pruning distances (default 0:16, the issue's map)")
    ap.add_argument("--repeat", type=int, default=3, help="processes per configuration (default 3)")
    ap.add_argument("--scale", type=float, default=0.25, help="spatial scale (default 0.25)")
    ap.add_argument("--method", default="gemm", help="conv_bench method (default gemm)")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--no-calibrate", action="store_true", help="skip the per-shape calibration runs")
    ap.add_argument("--keep", metavar="DIR", help="keep the trace (and the part's model) here")
    args = ap.parse_args()

    ensure_bench()
    env = base_env()
    from cltrace.network import plan as netplan
    distances = netplan.parse_distances(args.distances)
    shapes = unique_shapes(BENCH)
    netplan.assign_distances(shapes, distances)
    whole_runs = sum(len(u.distances) for u in shapes) * args.repeat
    part = shapes if args.layers <= 0 else [shapes[i] for i in spread(len(shapes), args.layers)]
    part_runs = sum(len(u.distances) for u in part) * args.repeat
    tmp = args.keep or tempfile.mkdtemp(prefix="cltrace-netbench-")
    os.makedirs(tmp, exist_ok=True)
    print(f"{NETWORK}: {len(shapes)} unique conv shapes; whole map: {whole_runs} runs "
          f"(distances {args.distances}, --repeat {args.repeat}, --scale {args.scale:g}, --method {args.method}, "
          f"--iters {args.iters} --warmup {args.warmup})")
    print(f"measured: {len(part)} shapes ({', '.join(u.name for u in part)}), {part_runs} runs; "
          f"cpus {os.cpu_count()}, load avg {loadavg()}")
    try:
        cal = None
        if not args.no_calibrate and len(part) < len(shapes):
            t = time.perf_counter()
            cal = calibrate(shapes, args, env)
            print(f"calibration: one untraced run per shape, {time.perf_counter() - t:.1f} s; per-shape wall (s): "
                  + ", ".join(f"{k.split('.')[-1]} {v:.3f}" for k, v in cal.items()))
        if len(part) < len(shapes):
            model = os.path.join(tmp, f"{NETWORK}-part.onnx")
            write_part_model(part, model)
        else:
            model = NETWORK
        db = os.path.join(tmp, "map.db")
        cmd = CLI + ["network", model, "--distances", args.distances, "--repeat", str(args.repeat),
                     "--scale", f"{args.scale:g}", "--method", args.method, "--iters", str(args.iters),
                     "--warmup", str(args.warmup), "--conv-bench", BENCH, "-q", "-f", "-o", db]
        print("$ cltrace " + " ".join(cmd[len(CLI):]), flush=True)
        load0 = loadavg()
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           cwd=tempfile.gettempdir())
        wall = time.perf_counter() - t
        load1 = loadavg()
        if p.returncode != 0:
            sys.exit(f"cltrace network failed (rc {p.returncode}):\n{p.stderr[-3000:]}")
        conn = sqlite3.connect(db)
        try:
            runs, ok = conn.execute("SELECT COUNT(*), SUM(status = 'ok') FROM runs").fetchone()
            own = conn.execute("SELECT SUM(wall_s) FROM runs").fetchone()[0] or 0.0
        finally:
            conn.close()
        rate = runs / wall * 60
        print()
        print(f"runs: {runs} ({ok} ok, {part_runs} planned)   wall: {wall:.1f} s ({wall / 60:.2f} min)   "
              f"runs/min: {rate:.1f}   per run: {wall / runs * 1e3:.0f} ms "
              f"(the programs' own wall {own / runs * 1e3:.0f} ms, "
              f"cltrace around them {(wall - own) / runs * 1e3:.0f} ms)")
        print(f"load avg: {load0} before, {load1} after")
        if runs != part_runs or ok != runs:
            print(f"TRACE CHECK FAILED: {runs} runs recorded, {ok} ok, {part_runs} planned")
            return 1
        if len(part) == len(shapes):
            whole_min = wall / 60
            print(f"whole map: {whole_min:.2f} min measured")
        else:
            whole_min = whole_runs / rate
            print(f"whole map ({whole_runs} runs), extrapolated by runs/min: {whole_min:.2f} min")
            if cal:
                cost = {u.name: len(u.distances) * args.repeat * cal[u.name] for u in shapes}
                ratio = sum(cost.values()) / sum(cost[u.name] for u in part)
                weighted = wall * ratio / 60
                print(f"whole map, extrapolated by per-shape cost (x{ratio:.2f} the part's wall): {weighted:.2f} min")
                whole_min = max(whole_min, weighted)
        verdict = "PASS" if whole_min <= TARGET_MIN else "FAIL"
        print(f"TARGET whole ResNet-50 map <= {TARGET_MIN:.0f} min: {verdict} ({whole_min:.2f} min"
              + (", the larger extrapolation" if len(part) < len(shapes) else "") + f"; load avg {load1})")
        return 0 if verdict == "PASS" else 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
