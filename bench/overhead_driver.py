"""What the benchmarks share: building bench/programs/overhead.c and reading its OVERHEAD line, how to call
the cltrace CLI of this interpreter (or of another build's shim libraries), reading callgrind profiles,
and printing their tables."""
import collections
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS_DIR = os.path.join(HERE, "programs")
DRIVER = os.path.join(PROGRAMS_DIR, "bin", "overhead")
LINE = re.compile(r"^OVERHEAD (.*)$", re.M)


def cltrace_cli(native_dir=None):
    """The cltrace command; with native_dir, one that injects the shim libraries found there (a copy of
    another build's cltrace/_native/, for before/after comparisons) instead of this installation's."""
    if native_dir:
        code = ("import sys, cltrace.native as n; n.NATIVE_DIR = sys.argv.pop(1); "
                "from cltrace.cli.main import main; sys.exit(main())")
        return [sys.executable, "-c", code, os.path.abspath(native_dir)]
    exe = os.path.join(os.path.dirname(sys.executable), "cltrace")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "cltrace.cli.main"]


def build():
    r = subprocess.run(["make", "-s", "-C", PROGRAMS_DIR], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(DRIVER):
        sys.exit(f"building {DRIVER} failed:\n{r.stdout}{r.stderr}")


def parse(stdout):
    """The driver's `OVERHEAD k=v ...` line as a dict (numbers as floats), or None."""
    m = LINE.search(stdout)
    if not m:
        return None
    out = {}
    for kv in m.group(1).split():
        k, v = kv.split("=", 1)
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def callgrind_costs(path):
    """Instructions (Ir) in one callgrind output file (one thread's part): (self Ir per (object, function),
    inclusive Ir per ((caller object, function), (callee object, function)) call arc)."""
    names = {"ob": {}, "fn": {}, "fl": {}}

    def name(kind, tok):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", tok)     # name compression: "(id) name" once, "(id)" after
        if not m:
            return tok
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), tok)

    ob = fn = cob = cfn = None
    in_call = False
    self_ir, call_ir = collections.Counter(), collections.Counter()
    with open(path) as f:
        for line in f:
            key, _, val = line.rstrip("\n").partition("=")
            if key == "ob":
                ob, cob = name("ob", val), None
            elif key == "fn":
                fn, cob = (ob, name("fn", val)), None
            elif key == "cob":
                cob = name("ob", val)
            elif key == "cfn":
                cfn = name("fn", val)
            elif key in ("fl", "fi", "fe", "cfi", "cfl"):
                name("fl", val)
            elif key == "calls":
                in_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if in_call:       # the line after calls=: the call's inclusive cost
                    call_ir[(fn, (cob or fn[0], cfn))] += ir
                    in_call, cob = False, None
                elif fn:
                    self_ir[fn] += ir
    return self_ir, call_ir


def callgrind_split(path, shim_tag="libcltrace"):
    """(total Ir, shim-own Ir, Ir of OpenCL calls made by the shim) of one callgrind thread file. Shim-own:
    self Ir of the shim library's functions plus what they call outside OpenCL (libc, vDSO, ld.so)."""
    self_ir, call_ir = callgrind_costs(path)
    own = lambda o: bool(o) and shim_tag in o                                      # noqa: E731
    ocl = lambda o: bool(o) and ("libOpenCL" in o or "pocl" in o)                  # noqa: E731
    total = sum(self_ir.values())
    shim = sum(v for (o, _f), v in self_ir.items() if own(o))
    shim += sum(v for ((o, _f), (co, _cf)), v in call_ir.items() if own(o) and not own(co) and not ocl(co))
    ocl_by_shim = sum(v for ((o, _f), (co, _cf)), v in call_ir.items() if own(o) and ocl(co))
    return total, shim, ocl_by_shim


def callgrind_total(path):
    """Instructions (Ir) of one callgrind output file, from its summary line (cheap: no parsing of the arcs)."""
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise ValueError(f"{path}: no summary line")


def median_diff_ci(a, b, draws=4000, level=0.95, seed=0):
    """median(a) - median(b) and its percentile bootstrap interval, resampling the processes of a and of b
    independently (the process is the unit of replication: a process's loop time is one observation)."""
    import numpy as np
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    da = np.median(a[rng.integers(0, len(a), (draws, len(a)))], axis=1)
    db = np.median(b[rng.integers(0, len(b), (draws, len(b)))], axis=1)
    lo, hi = np.quantile(da - db, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(a) - np.median(b)), float(lo), float(hi)


def fmt_ci(est, lo, hi, digits=2):
    return f"{est:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]"


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def print_table(hdr, widths, rows):
    print(fmt_row(hdr, widths))
    print(fmt_row(["-" * w for w in widths], widths))
    for r in rows:
        print(fmt_row(r, widths))
