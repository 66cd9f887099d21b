"""What the benchmarks share: building bench/programs/overhead.c and reading its OVERHEAD line, how to call
the cltrace CLI of this interpreter, and printing their tables."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS_DIR = os.path.join(HERE, "programs")
DRIVER = os.path.join(PROGRAMS_DIR, "bin", "overhead")
LINE = re.compile(r"^OVERHEAD (.*)$", re.M)


def cltrace_cli():
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


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def print_table(hdr, widths, rows):
    print(fmt_row(hdr, widths))
    print(fmt_row(["-" * w for w in widths], widths))
    for r in rows:
        print(fmt_row(r, widths))
