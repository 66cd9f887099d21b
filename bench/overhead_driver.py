"""What the benchmarks share about bench/programs/overhead.c: building it, reading its OVERHEAD line,
and how to call the cltrace CLI of this interpreter."""
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
