"""Shared plumbing of the benches that sweep a real PoCL workload (bench_aa.py, bench_reproduce.py).

Each sweep is a real `cltrace sweep` of examples/bin/conv_bench (one process per configuration and
repetition, traced into one SQLite file), analysed with the public analysis API:
`cltrace.analysis.staircase.analyse(cltrace.open(db).samples(), param).steps`.

Stabilisers: `cltrace sweep` may pin PoCL's threads itself (POCL_AFFINITY=1 by default, with an opt-out
flag such as --no-stabilise). `Stabiliser` finds out what the installed sweep offers from its --help and
turns "on"/"off" into either that flag or the POCL_AFFINITY variable set/unset by hand.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
try:                        # the installed cltrace (or one on PYTHONPATH, e.g. an older checkout to compare)
    import cltrace  # noqa: F401
except ImportError:
    sys.path.insert(0, ROOT)
EXAMPLES = os.path.join(ROOT, "examples")
BENCH = os.path.join(EXAMPLES, "bin", "conv_bench")
CLI = [sys.executable, "-m", "cltrace.cli.main"]
TILE = 4            # output channels per work-group of conv_bench --method tiled (TILED_VEC)
GEMM_VEC = 4        # output channels per work-item of gemm_v4; the rest goes to the gemm_tail dispatch


def base_env():
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    return env


def rel(path):
    """Path as printed in reproduce commands: relative to the checkout when inside it."""
    r = os.path.relpath(path, ROOT)
    return path if r.startswith("..") else r


def ensure_bench():
    """Build examples/bin/conv_bench (a no-op when up to date); exit with the reason when that fails."""
    p = subprocess.run(["make", "-s", "-C", EXAMPLES], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(BENCH):
        sys.exit(f"cannot build {BENCH}:\n{p.stdout}{p.stderr}")
    return BENCH


def compute_units():
    """CL_DEVICE_MAX_COMPUTE_UNITS of the device conv_bench uses, as its tiled plan reports it."""
    p = subprocess.run([BENCH, "--input", "4x4x1", "--kernel", "1", "--out-channels", "1", "--method", "tiled",
                        "--iters", "1", "--warmup", "0"], capture_output=True, text=True, env=base_env())
    m = re.search(r"(\d+) compute units?", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit(f"cannot read the compute-unit count from conv_bench --method tiled:\n{p.stdout}{p.stderr}")
    return int(m.group(1))


def wave_range(cu):
    """Channels of the wave workload: the last tile count of round 1 and the first of round 2,
    4*CU-3 .. 4*CU+4, whose only mechanical step is 4*CU -> 4*CU+1 (whether PoCL's threads get
    CU cores, one round per CU tiles, or share one, one round per tile: CU -> CU+1 tiles either way)."""
    return max(1, TILE * cu - (TILE - 1)), TILE * cu + TILE


class Stabiliser:
    """How to run a sweep with or without PoCL thread pinning, given what `cltrace sweep` offers."""

    FLAG_RE = re.compile(r"(--no-stabili[sz]e)\b")

    def __init__(self):
        p = subprocess.run(CLI + ["sweep", "--help"], capture_output=True, text=True, env=base_env(),
                           cwd=tempfile.gettempdir())
        m = self.FLAG_RE.search(p.stdout)
        self.flag = m.group(1) if m else None

    def describe(self):
        if self.flag:
            return f"cltrace sweep stabilises by default; off = {self.flag}"
        return "cltrace sweep has no stabiliser flag: on = POCL_AFFINITY=1 set here, off = POCL_AFFINITY unset"

    def apply(self, mode, env, sweep_args):
        """mode 'on'/'off' -> (env, extra sweep args, shell prefix for the reproduce line)."""
        env = dict(env)
        if self.flag:
            env.pop("POCL_AFFINITY", None)
            if mode == "off":
                return env, [self.flag], "env -u POCL_AFFINITY "
            return env, [], "env -u POCL_AFFINITY "
        if mode == "on":
            env["POCL_AFFINITY"] = "1"
            return env, [], "POCL_AFFINITY=1 "
        env.pop("POCL_AFFINITY", None)
        return env, [], "env -u POCL_AFFINITY "


def origin():
    """Where the cltrace that sweeps and analyses comes from (and its version)."""
    import cltrace
    return f"{os.path.dirname(os.path.abspath(cltrace.__file__))} (version {getattr(cltrace, '__version__', '?')})"


def loadavg():
    """'1-min load average / CPUs' now, e.g. '1.42 on 2 CPUs' (other work on the machine is part of the noise)."""
    try:
        return f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    except OSError:
        return "unknown"


def modes(choice):
    return ["on", "off"] if choice == "both" else [choice]


class Sweeper:
    """Runs `cltrace sweep` into temporary trace files and analyses them."""

    def __init__(self, keep=None, order=None, sweep_args=()):
        self.order = order          # None: the sweep's default --order; "shuffle": a new --seed per sweep
        self.sweep_args = list(sweep_args)      # more `cltrace sweep` options (e.g. --block K)
        self.dir = keep or tempfile.mkdtemp(prefix="cltrace-bench-")
        os.makedirs(self.dir, exist_ok=True)
        self.keep = keep is not None
        self.stabiliser = Stabiliser()
        self.n = 0

    def command(self, params, repeat, program, mode, db="sweep.db"):
        """-> (env, argv, printable shell line) of one sweep."""
        env, extra, prefix = self.stabiliser.apply(mode, base_env(), [])
        args = ["sweep", "-q", "-f", "-o", db]
        for p in params:
            args += ["-p", p]
        args += ["--repeat", str(repeat), *extra, *self.sweep_args]
        if self.order:
            args += ["--order", self.order] + (["--seed", str(self.n)] if self.order == "shuffle" else [])
        args += ["--", *program]
        line = prefix + "cltrace " + " ".join(shlex.quote(rel(a) if a == BENCH else a) for a in args)
        return env, CLI + args, line

    def run(self, params, repeat, program, mode, param, tag):
        """One sweep + analysis -> dict(steps=DataFrame, wall_s, analyse_s, runs, failed, db)."""
        import cltrace
        from cltrace.analysis.staircase import analyse

        self.n += 1
        db = os.path.join(self.dir, f"{tag}-{self.n:03d}.db")
        env, argv, _ = self.command(params, repeat, program, mode, db)
        t0 = time.perf_counter()
        # cwd outside the checkout: `python -m` puts the cwd first on sys.path, which would shadow a
        # cltrace given on PYTHONPATH
        p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=self.dir)
        wall = time.perf_counter() - t0
        if p.returncode not in (0, 1) or not os.path.exists(db):
            sys.exit(f"cltrace sweep failed (exit {p.returncode}):\n{p.stdout}{p.stderr}")
        with cltrace.open(db) as t:
            runs = t.runs
            samples = t.samples()
        t0 = time.perf_counter()
        res = analyse(samples, param)
        ana = time.perf_counter() - t0
        failed = int((runs["status"] != "ok").sum())
        if not self.keep:
            os.remove(db)
        return dict(steps=res.steps, wall_s=wall, analyse_s=ana, runs=len(runs), failed=failed, db=db)

    def cleanup(self):
        if not self.keep:
            try:
                os.rmdir(self.dir)
            except OSError:
                pass


def step_set(steps):
    """{(group_label, from_value, to_value)} of an analyse() steps table."""
    if steps is None or len(steps) == 0:
        return frozenset()
    return frozenset((str(g), _num(f), _num(t)) for g, f, t in
                     zip(steps["group_label"], steps["from_value"], steps["to_value"]))


def agree(a, b):
    """True when two steps tables claim the same steps up to where each may lie: they match one to one,
    each pair in the same group and direction with overlapping [location_from, location_to] intervals."""
    def rows(t):
        if t is None or len(t) == 0:
            return []
        lo = t["location_from"] if "location_from" in t.columns else t["from_value"]
        hi = t["location_to"] if "location_to" in t.columns else t["to_value"]
        return [(str(g), float(x), float(y), float(r) > 1) for g, x, y, r in zip(t["group_label"], lo, hi, t["ratio"])]
    ra, rb = rows(a), rows(b)
    if len(ra) != len(rb):
        return False
    left = list(rb)
    for g, lo, hi, up in ra:
        hit = next((k for k, (g2, lo2, hi2, up2) in enumerate(left) if g2 == g and up2 == up
                    and lo2 < hi and lo < hi2), None)
        if hit is None:
            return False
        left.pop(hit)
    return True


def _num(v):
    v = float(v)
    return int(v) if v.is_integer() else v


def fmt_steps(steps):
    """'label a->b x1.23 (conf 0.99); ...' or 'none'."""
    if steps is None or len(steps) == 0:
        return "none"
    out = []
    for r in steps.to_dict("records"):
        conf = r.get("confidence")
        conf = "" if conf is None or conf != conf else f" conf {float(conf):.3f}"
        out.append(f"{r['group_label']} {_num(r['from_value'])}->{_num(r['to_value'])} "
                   f"x{float(r['ratio']):.2f}{conf}")
    return "; ".join(out)


def covers(steps, true_from, true_to, group=None, up=None):
    """True when a found step spans the true one: from_value <= true_from and to_value >= true_to
    (in `group` when given; with up=True/False only steps going up/down count)."""
    if steps is None or len(steps) == 0:
        return False
    for r in steps.to_dict("records"):
        if group is not None and str(r["group_label"]) != group:
            continue
        if up is not None and (float(r["ratio"]) > 1.0) != up:
            continue
        if float(r["from_value"]) <= true_from and float(r["to_value"]) >= true_to:
            return True
    return False


def header(sweeper, script, argv):
    """The lines every sweep bench prints first (stabiliser, which cltrace, the command that reproduces);
    returns the load average at the start."""
    print(f"stabiliser: {sweeper.stabiliser.describe()}")
    print(f"cltrace:    {origin()}")
    load0 = loadavg()
    print(f"reproduce:  {argv_line(script, argv)}")
    return load0


def argv_line(script, argv):
    return "python " + rel(script) + (" " + " ".join(shlex.quote(a) for a in argv) if argv else "")
