"""cltrace network: a whole network's conv layers swept at pruning distances, as one sweep (cltrace/network).

This module parses and checks the arguments; the model and the plan are cltrace/network, the runs are the sweep
engine's (cltrace/sweep/engine.py): progress over the whole plan, --resume, --repeat, --adaptive and the
stabilisers work as in `cltrace sweep`."""
import os
import shlex
import sys

from ..errors import CltraceError, UsageError
from ..network import acl as netacl
from ..network import opencv as netopencv
from ..network import plan as netplan
from ..printable import info, printable
from ..store import db as store_db
from ..store.writer_lock import open_locked
from ..sweep import stored
from ..sweep.blocks import block_command, blocks_to_run, check_block
from ..sweep.cluster import BOARD_PARAM, add_cluster_options, cluster_plan
from ..sweep.engine import (ADAPTIVE_MODULE, BUDGET_FACTOR, Adaptive, SweepContext, order_line,
                            resume_runs)
from ..sweep.executor import execute
from ..sweep.plan import ORDERS, params_of, plan_configs, render_command, resume_or_plan
from .base import EXIT_OK, Command, adaptive_budget, launch_samples, open_trace
from .block_options import add_block_argument, stored_block
from .outputs import open_output
from .shim_options import add_shim_options, requested_mode, shim_settings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CONV_BENCH = os.path.join(ROOT, "examples", "bin", "conv_bench")
BLOCK_BY = ("layer",)          # --block: a process measures distances of one layer (every other parameter the same)


class NetworkCommand(Command):
    name = "network"
    help = "sweep every conv layer of a network (ONNX model or resnet50/vgg16/alexnet) at pruning distances"
    description = (
        "Reads the conv layers of MODEL (an .onnx file, shapes from ONNX shape inference, or a built-in network of "
        "conv_bench --list-layers: resnet50, vgg16, alexnet), folds layers of identical shape into one (and says "
        "which share it), lists depthwise and grouped convolutions as skipped with the reason, and runs each unique "
        "layer at its pruning distances (output channels = unpruned - distance) with the runtime (--runtime: "
        "conv_bench's methods, or OpenCV DNN on its OpenCL target) as ONE sweep: "
        "every run traced and tagged layer, channels, distance (and the shape), progress over the whole plan, "
        "--resume and the noise stabilisers as in cltrace sweep. cltrace network-map draws the result.")

    def add_arguments(self, p):
        p.add_argument("model", nargs="?", metavar="MODEL",
                       help="an .onnx file or resnet50 | vgg16 | alexnet (may be left out with --resume)")
        p.add_argument("--distances", metavar="LIST",
                       help="pruning distances (channels removed) for every layer: a,b,c and a:b[:step] items, "
                            "e.g. 0:16 or 0,1,2,4,8 (0, the unpruned reference, is always swept); default per "
                            "layer: 0..16 one by one, then a coarser step (a multiple of 4) up to half its channels")
        p.add_argument("--layers", metavar="NAMES",
                       help="sweep only these layers (comma-separated; a layer stands for every layer of its "
                            "shape), e.g. conv2_1,conv4_1 for a subset of a large network")
        p.add_argument("--input-shape", metavar="NxCxHxW",
                       help="the dims of an ONNX model's first input, for a model exported with dynamic sizes "
                            "(e.g. 1x3x224x224); its layers' shapes then follow by shape inference")
        p.add_argument("--runtime", choices=netplan.RUNTIMES, default="conv_bench",
                       help="what runs each layer: conv_bench (default; --method), opencv: OpenCV DNN "
                            "(cv2.dnn, DNN_TARGET_OPENCL) on a one-Conv ONNX model per configuration "
                            "(examples/opencv_conv.py; needs opencv-python-headless 4.x), or acl: Arm Compute "
                            "Library under qemu-user on PoCL (./dev acl sets it up; ACL's dispatches, the "
                            "emulator's timings)")
        p.add_argument("--method", choices=netplan.METHODS, default=None,
                       help="conv_bench's method (default gemm), or ACL's (gemm or direct; default gemm)")
        p.add_argument("--acl-device", default=netacl.DEVICE, metavar="NAME",
                       help=f"--runtime acl: the Mali GPU ACL is told it runs on and tunes for (default "
                            f"{netacl.DEVICE}; e.g. Mali-T628)")
        p.add_argument("--scale", type=float, default=0.25, metavar="F",
                       help="multiply every layer's input H and W by F (conv_bench --scale; default 0.25, "
                            "reduced spatial scale for CPUs)")
        p.add_argument("--iters", type=int, default=5, metavar="N", help="measured iterations per run (default 5)")
        p.add_argument("--warmup", type=int, default=2, metavar="N", help="unmeasured iterations first (default 2)")
        p.add_argument("--repeat", type=int, default=None, metavar="N",
                       help="runs (processes) per configuration (default: 3)")
        p.add_argument("--order", choices=ORDERS, default="shuffle",
                       help="shuffle (default): each pass over the whole plan in a random order; interleave: in "
                            "plan order; sequential: all repeats of a configuration back to back")
        add_block_argument(p, "Here a block is K pruning distances of ONE layer (--out-channels of the runner "
                              "becomes their channel counts joined by commas, in a random order; each count's "
                              "launches a region tagged with it): each repetition of a layer's distances is cut "
                              "into blocks of at most K (with --cluster, per board: a block runs on one board). "
                              "conv_bench and opencv runtimes; not with --adaptive")
        p.add_argument("--seed", type=int, default=None,
                       help="seed of --order shuffle and of the blocks of --block (default: a new one, printed)")
        p.add_argument("-o", "--output", default="network.db", metavar="PATH",
                       help="trace file (default: network.db)")
        p.add_argument("-f", "--force", action="store_true", help="overwrite the trace file if it exists")
        p.add_argument("--resume", action="store_true",
                       help="continue the trace's last network sweep: run the planned runs that have no successful "
                            "run yet (MODEL and the options may be left out; given, they must plan the same sweep)")
        p.add_argument("--conv-bench", default=DEFAULT_CONV_BENCH, metavar="PATH",
                       help="the conv_bench binary (default: examples/bin/conv_bench; make -C examples builds it; "
                            "it also lists the built-in networks' layers)")
        p.add_argument("--acl-bench", default=netacl.BENCH, metavar="PATH",
                       help="the aarch64 acl_conv_bench of --runtime acl (default: examples/bin/aarch64/"
                            "acl_conv_bench; make -C examples acl-aarch64 builds it)")
        p.add_argument("--opencv-runner", default=netopencv.RUNNER, metavar="PATH",
                       help="the OpenCV DNN runner of --runtime opencv, run with this Python (default: "
                            "examples/opencv_conv.py)")
        p.add_argument("--fail-fast", action="store_true", help="stop at the first failing run")
        p.add_argument("--show-output", action="store_true",
                       help="let the runner's stdout through (conv_bench's or opencv_conv.py's)")
        p.add_argument("--dry-run", action="store_true", help="print the plan and the commands, and exit")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress")
        p.add_argument("--no-stabilise", dest="stabilise", action="store_false", default=True,
                       help="Turn off (on by default): the noise stabilisers of cltrace sweep (docs/noise.md)")
        g = p.add_argument_group("adaptive sweeps")
        g.add_argument("--adaptive", action="store_true",
                       help="after the planned runs, re-run configurations whose step verdict against a "
                            "neighbouring channel count of their layer is still undecided (as cltrace sweep)")
        g.add_argument("--max-runs", type=int, metavar="N",
                       help=f"budget of --adaptive (default: {BUDGET_FACTOR} x the first pass)")
        g.add_argument("--max-minutes", type=float, metavar="M", help="time budget of --adaptive")
        add_shim_options(p)
        add_cluster_options(p)          # --cluster, --board: every configuration on every board (docs/farm.md)

    # -- planning ----------------------------------------------------------------------------------------------
    def _plan(self, args):
        """(template, configurations) from MODEL and the options; prints the network's layers."""
        from ..network import model as netmodel
        opencv, acl = args.runtime == "opencv", args.runtime == "acl"
        if opencv and args.method is not None:
            raise UsageError(f"--method {args.method} is a conv_bench method: --runtime opencv runs OpenCV DNN's own "
                             f"kernels (leave --method out)")
        if acl and args.method not in (None,) + netacl.METHODS:
            raise UsageError(f"--method {args.method}: ACL's methods are {' and '.join(netacl.METHODS)}")
        if args.acl_device != netacl.DEVICE and not acl:
            raise UsageError("--acl-device names the device of --runtime acl: give --runtime acl too")
        if args.runtime == "conv_bench" and not os.access(args.conv_bench, os.X_OK):
            raise CltraceError(f"{args.conv_bench}: conv_bench not found (build it: make -C examples)")
        for flag, v in (("--iters", args.iters), ("--warmup", args.warmup)):
            if v < (1 if flag == "--iters" else 0):
                raise UsageError(f"{flag} must be at least {1 if flag == '--iters' else 0}, not {v}")
        distances = netplan.parse_distances(args.distances) if args.distances is not None else None
        shape = netmodel.parse_shape(args.input_shape) if args.input_shape else None
        runner = {"opencv": "the opencv runner", "acl": "acl_conv_bench"}.get(args.runtime, "conv_bench")
        network = netmodel.load(args.model, args.conv_bench, shape, runner)
        if not network.runnable:
            raise CltraceError(f"{args.model}: none of its {len(network.layers)} Conv layers can run in {runner} "
                               f"({network.layers[0].name}: {network.layers[0].skip})")
        layers = netplan.unique_layers(network)
        n_unique = len(layers)
        if args.layers is not None:
            layers = netplan.select_layers(layers, args.layers, network)
        netplan.assign_distances(layers, distances)
        netplan.check_scale(layers, args.scale)
        chosen = f", {len(layers)} chosen by --layers" if args.layers is not None else ""
        info(f"network {network.name}: {len(network.layers)} conv layers, {len(network.runnable)} runnable, "
             f"{n_unique} unique shapes{chosen}")
        for u in layers:
            if u.shared:
                info(f"  shape {u.layer.shape_text()}: {u.name}, shared by {', '.join(u.shared)}")
        for s in network.skipped:
            info(f"  skipped {s.name}: {s.skip}")
        if acl:
            template = netplan.acl_command(os.path.abspath(args.acl_bench), args.method or "gemm", args.acl_device,
                                           args.scale, args.iters, args.warmup)
        elif opencv:
            template = netplan.opencv_command(sys.executable, os.path.abspath(args.opencv_runner), args.scale,
                                              args.iters, args.warmup)
        else:
            template = netplan.command(os.path.abspath(args.conv_bench), args.method or "gemm", args.scale,
                                       args.iters, args.warmup)
        return template, netplan.configurations(layers)

    def run(self, args) -> int:
        previous = self._previous(args) if args.resume else None
        if args.model is None and previous is None:
            raise UsageError("give MODEL: an .onnx file or resnet50 | vgg16 | alexnet")
        if args.model is not None:
            template, configs = self._plan(args)
        else:
            template = list(previous.template)
            configs = list(dict.fromkeys(tuple((k, v) for k, v in c if k != BOARD_PARAM) for c in previous.configs))
        cluster = cluster_plan(args, params_of(configs), [n for n, _ in params_of(configs)], {})
        if cluster is not None:         # every configuration on every --board, the board tagged like a parameter
            configs = [c + ((BOARD_PARAM, b),) for c in configs for b in cluster.boards]
            cluster.params, cluster.names = params_of(configs), [n for n, _ in params_of(configs)]
        if previous is not None:
            if bool(previous.cluster) != (cluster is not None):
                where = "on a cluster (--cluster ADDRESS --board ...)" if previous.cluster else "on this machine"
                raise UsageError(f"--resume: the stored network sweep ran {where}: resume it the same way")
            if list(template) != list(previous.template) or list(configs) != list(previous.configs):
                raise UsageError(f"--resume completes the stored network sweep of {args.output} exactly, and this "
                                 f"command line plans another one (a different model, --distances, --method, "
                                 f"--scale, --iters, --warmup or --board); leave MODEL out to resume it as stored")
        repeat = args.repeat if args.repeat is not None else previous.repeat if previous is not None else 3
        if previous is not None and repeat != previous.repeat:
            raise UsageError(f"--resume: the stored sweep runs --repeat {previous.repeat}, not {repeat}")
        args.order, args.seed, runs = resume_or_plan(previous, args.order, args.seed,
                                                     lambda order, seed: plan_configs(configs, repeat, order, seed))
        params = params_of(configs)
        adaptive = self._adaptive(args, len(runs))
        block = self._block(args, previous, template, configs, adaptive, cluster)
        n_layers = len({dict(c)["layer"] for c in configs})
        boards = f" on {len(cluster.boards)} boards" if cluster is not None else ""
        info(f"plan: {len(configs)} configurations ({n_layers} layers{boards}) x {repeat} repeats = {len(runs)} runs")
        # a block keeps one layer, and on a farm one board (sweep/blocks.py split_of: the same cut as the sweep's)
        split = BLOCK_BY + ((BOARD_PARAM,) if cluster is not None else ())
        if block > 1:
            n_blocks = len(blocks_to_run(runs, runs, block, args.seed, split))
            one = " on one board" if cluster is not None else ""
            info(f"--block {block}: {n_blocks} processes, each measuring up to {block} distances of one layer{one}")
        if args.dry_run:
            if args.order == "shuffle":
                info(order_line(args.seed))
            if block > 1:
                todo = blocks_to_run(runs, runs, block, args.seed, split)
                for i, b in enumerate(todo):
                    on = f" (on board {b[0].params[BOARD_PARAM]})" if cluster is not None else ""
                    print(f"[{i + 1}/{len(todo)}] {printable(shlex.join(block_command(template, b)))}{on}")
                return EXIT_OK
            for i, r in enumerate(runs):
                on = f" (on board {r.params[BOARD_PARAM]})" if cluster is not None else ""
                print(f"[{i + 1}/{len(runs)}] {printable(shlex.join(render_command(template, r.params)))}{on}")
            return EXIT_OK
        runtime = netplan.runtime_of(template)
        if runtime == "acl" and cluster is not None:
            raise UsageError("--runtime acl runs ACL here under qemu: not with --cluster (on an arm64 board, sweep "
                             "acl_conv_bench natively: docs/acl.md)")
        if runtime == "opencv" and cluster is None:
            # OpenCV missing, 5.x, or about to fall back to its CPU code: say so before the trace is touched
            info(f"runtime: {netopencv.probe(template[0], template[1])}")
        if runtime == "acl":
            netacl.check(template[0])
            os.environ.update(netacl.guest_environment())       # every run of the sweep inherits it
            info(f"runtime: ACL under qemu-user on PoCL, told it runs on {template[-1]}: ACL's own dispatches, the "
                 f"emulator's timings (each run is marked emulated)")
        settings, mode = shim_settings(args), requested_mode(args)
        if previous is not None and not settings and mode == "auto":
            settings, mode = dict(previous.settings or {}), previous.mode or mode
        if cluster is not None:
            cluster.connect()           # the scheduler and a worker of every --board, before the trace is touched
        conn, lock = open_locked(args.output, lambda: open_output(args.output, args.force, args.resume))
        try:
            planned = runs
            if previous is not None:
                runs = resume_runs(conn, previous)
            ctx = SweepContext(conn=conn, output=args.output, template=template, names=[n for n, _ in params],
                               configs=configs, extra_tags={}, settings=settings, mode=mode, order=args.order,
                               seed=args.seed, fail_fast=args.fail_fast, show_output=args.show_output,
                               stabilise=args.stabilise, quiet=args.quiet, params=params, repeat=repeat,
                               cluster=cluster,
                               planned_runs=planned, sweep_id=previous.sweep_id if previous is not None else None,
                               block=block, block_by=BLOCK_BY, block_keys=["channels"],
                               label_names=["layer", "channels", "distance", BOARD_PARAM])
            code = execute(ctx, runs, adaptive)
        finally:
            conn.close()
            lock.release()
        if code == EXIT_OK:
            info(f"map it: cltrace network-map {args.output} -o network-map.png")
        return code

    @staticmethod
    def _previous(args):
        if args.force:
            raise UsageError("--resume continues the trace and -f overwrites it: give one of them")
        if not os.path.exists(args.output):
            raise CltraceError(f"--resume: {args.output} does not exist")
        conn = store_db.open_db(args.output)
        try:
            sweep_id = stored.choose(conn, args.output, None)
            if sweep_id is None:
                raise CltraceError(f"--resume: {args.output} holds no stored sweep")
            previous = stored.load(conn, sweep_id)
        finally:
            conn.close()
        if "layer" not in previous.names or "distance" not in previous.names:
            raise CltraceError(f"--resume: sweep {sweep_id} of {args.output} is not a network sweep "
                               f"(continue it with cltrace sweep --resume)")
        return previous

    @staticmethod
    def _block(args, previous, template, configs, adaptive, cluster) -> int:
        """--block K: K distances of one layer per process (sweep/blocks.py, the layer kept whole by BLOCK_BY);
        --resume keeps the stored sweep's K."""
        k = stored_block(args, previous)
        if k is None:
            k = args.block if args.block is not None else 1
        if args.block is None and k <= 1:
            return 1
        runtime = netplan.runtime_of(template)
        if runtime == "acl":
            raise UsageError("--block: --runtime acl runs acl_conv_bench, which measures one channel count per "
                             "process: leave out --block")
        if adaptive is not None and k > 1:
            raise UsageError(f"--block {k} with --adaptive: a network's adaptive rounds re-run one distance per "
                             f"process; leave out one of them")
        per_layer = {}
        for c in dict.fromkeys(tuple(kv for kv in c if kv[0] != BOARD_PARAM) for c in configs):   # one board's
            layer = dict(c)["layer"]
            per_layer[layer] = per_layer.get(layer, 0) + 1
        if k < 1:
            check_block(k, 1)       # sweep/blocks.py's message
        layer, most = max(per_layer.items(), key=lambda kv: kv[1])
        if k > most:
            raise UsageError(f"--block {k} is larger than the {most} distance{'' if most == 1 else 's'} of the "
                             f"largest layer ({layer}): a process measures distances of one layer, each at most "
                             f"once, so give --block {most} or less")
        return k

    @staticmethod
    def _adaptive(args, first_pass: int):
        if not adaptive_budget(args, first_pass):
            return None
        import importlib
        module = importlib.import_module(ADAPTIVE_MODULE)
        return Adaptive("channels", args.max_runs if args.max_runs is not None else BUDGET_FACTOR * first_pass,
                        args.max_minutes, module, by=["layer"])


def network_samples(trace, path: str, board=None):
    """The samples of a network trace, of one board where it ran on several (--board)."""
    samples = launch_samples(trace)
    boards = sorted(str(b) for b in samples[BOARD_PARAM].dropna().unique()) if BOARD_PARAM in samples.columns else []
    if board is not None:
        if board not in boards:
            raise CltraceError(f"--board {board}: {path} has no runs on that board"
                               + (f" (its boards: {', '.join(boards)})" if boards else ""))
        samples = samples[samples[BOARD_PARAM].astype(str) == board]
    elif len(boards) > 1:
        raise UsageError(f"{path} ran on {len(boards)} boards ({', '.join(boards)}): choose one with --board KIND")
    return samples


class NetworkMapCommand(Command):
    name = "network-map"
    help = "draw a network sweep as a heatmap (layers x pruning distance) and a per-layer table"
    description = (
        "Analyses a trace of cltrace network per layer along its channel count (the staircase analysis of cltrace "
        "report, grouped by layer) and draws the seed paper's map: layers x pruning distance, colour = speedup "
        "against the unpruned layer taken from the levels of the stairs (segments between significant steps), so "
        "a cell differs from 1x only across a significant step; hazards (significant slowdowns) are crossed out, "
        "stair edges (channel counts worth keeping) dotted, configurations with fewer than 2 processes hatched. "
        "Prints the per-layer table (stair edges, hazards, best speedup, step causes); --table and --json write it.")

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE")
        p.add_argument("-o", "--output", default="network-map.png", metavar="PATH",
                       help="the heatmap, .png or .svg (default: network-map.png)")
        p.add_argument("--table", metavar="PATH", help="also write the per-layer table as CSV")
        p.add_argument("--json", metavar="PATH", help="also write the map (layers and cells) as JSON")
        p.add_argument("--title", default="", help="the heatmap's title")
        p.add_argument("--board", metavar="KIND", help="the board to map, where the sweep ran on several (--cluster)")

    def run(self, args) -> int:
        import json
        from ..network.pruning_map import build, layer_table, plan_order, plot_heatmap
        from .outputs import check_output_file, write_error
        ext = os.path.splitext(args.output)[1].lower()
        if ext not in (".png", ".svg"):
            raise UsageError(f"cannot tell the heatmap format of {args.output}: use .png or .svg")
        for path in (args.output, args.table, args.json):
            if path:
                check_output_file(path)
        trace = open_trace(args.trace)
        samples = network_samples(trace, args.trace, args.board)
        try:
            m = build(samples, order=plan_order(trace.db))
        except ValueError as e:
            raise CltraceError(f"{args.trace}: {e}") from None
        if m.layers.empty:
            raise CltraceError(f"{args.trace}: no layer has a usable sample")
        table = layer_table(m)
        try:
            plot_heatmap(m, args.output, args.title)
            if args.table:
                table.to_csv(args.table, index=False, lineterminator="\n")
            if args.json:
                with open(args.json, "w", encoding="utf-8") as f:
                    json.dump(m.to_dict(), f, indent=1)
        except OSError as e:
            raise write_error(args.output, e) from None
        with __import__("pandas").option_context("display.max_colwidth", 60, "display.width", 200):
            for line in table.drop(columns=["causes"]).to_string(index=False).splitlines():
                print(printable(line))
        for r in m.layers.to_dict("records"):
            if r["causes"]:
                print(printable(f"steps of {r['layer']}: {r['causes']}"))
        n_haz = sum(len(x) for x in m.layers["hazards"])
        info(f"{len(m.layers)} layers, {len(m.cells)} cells, {n_haz} hazards; heatmap: {os.path.abspath(args.output)}")
        return EXIT_OK


class NetworkPredictCommand(Command):
    name = "network-predict"
    help = "predict a pruning plan's latency (a channel count per layer) from a network sweep, with its uncertainty"
    description = (
        "PLAN names a channel count per layer: a JSON object {\"LAYER\": CHANNELS, ...} (or {\"layers\": {...}}) or "
        "a CSV with the columns layer,channels; a layer is named by itself or by any layer sharing its shape, and "
        "layers left out stay unpruned. Each layer's latency is the level of the stair its count lies on (the "
        "per-process medians of the stair's configurations, pooled), a count that was not swept is placed on the "
        "stair whose swept range holds it; the sum over the network's layers (each layer of a shared shape counted) "
        "is printed with its standard error and 95% interval, against the unpruned network (docs/network.md).")

    def add_arguments(self, p):
        p.add_argument("trace", metavar="TRACE", help="a trace of cltrace network")
        p.add_argument("plan", metavar="PLAN", help="the pruning plan, .json or .csv")
        p.add_argument("--json", metavar="PATH", help="also write the prediction as JSON")
        p.add_argument("--board", metavar="KIND", help="the board to predict for, where the sweep ran on several")

    def run(self, args) -> int:
        import json
        import math
        from ..analysis.staircase import analyse
        from ..network.predict import Z95, predict, read_plan
        from .outputs import check_output_file, write_error
        if args.json:
            check_output_file(args.json)
        plan = read_plan(args.plan)
        trace = open_trace(args.trace)
        samples = network_samples(trace, args.trace, args.board)
        if "layer" not in samples.columns or "channels" not in samples.columns:
            raise CltraceError(f"{args.trace}: the trace's runs carry no 'layer' and 'channels' tags: it is not a "
                               f"network sweep (make one with cltrace network)")
        pred = predict(analyse(samples, "channels", by=["layer"]), samples, plan)
        t = pred.layers
        for r in t.to_dict("records"):
            se = "" if math.isnan(r["se_ms"]) else f" +- {r['se_ms']:.4f}"
            print(printable(f"{r['layer']}: {r['channels']}/{r['unpruned_channels']} channels, "
                            f"{r['latency_ms']:.4f}{se} ms (unpruned {r['unpruned_ms']:.4f} ms; {r['how']}"
                            + (f", measured as {r['measured_as']}" if r["measured_as"] != r["layer"] else "") + ")"))
        lo, hi = pred.total_ms - Z95 * pred.se_ms, pred.total_ms + Z95 * pred.se_ms
        print(f"predicted: {pred.total_ms:.4f} ms +- {pred.se_ms:.4f} (95%: {lo:.4f}..{hi:.4f}) over {len(t)} layers; "
              f"unpruned {pred.unpruned_ms:.4f} ms, speedup {pred.unpruned_ms / pred.total_ms:.2f}x")
        if args.json:
            try:
                with open(args.json, "w", encoding="utf-8") as f:
                    json.dump(pred.to_dict(), f, indent=1)
            except OSError as e:
                raise write_error(args.json, e) from None
        return EXIT_OK
