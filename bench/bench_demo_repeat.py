"""Does `./dev demo` tell the same story every time? Issue 23's demo target, measured.

    python bench/bench_demo_repeat.py [--runs 10] [--out DIR] [--quick]
    python bench/bench_demo_repeat.py --compare DIR/run*/demo.db      # only compare traces made before

Runs examples/demo.py --runs times, one after the other, each into DIR/runN (demo.db, report.json, the
demo's own output), then compares the step verdicts of every run with every other: two runs agree on a group
(tiled, clblast) when they name the same number of steps, in the same directions, and each step's `within`
interval (location_from..location_to) overlaps the other run's. Printed: each run's steps per group, the load
average around it, whether its report claims an unfinished sweep, and the counts of agreeing pairs.
Exit 1 when any pair disagrees or any run claims to be unfinished.
"""
import argparse
import glob
import itertools
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def load1() -> float:
    return os.getloadavg()[0]


def report_json(db: str) -> dict:
    p = subprocess.run([PY, "-m", "cltrace", "report", db, "--format", "json"], capture_output=True, text=True,
                       cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"cltrace report {db} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)


def steps_by_group(doc: dict) -> dict:
    out: dict = {}
    for s in (doc.get("staircase") or {}).get("steps", []):
        method = (s.get("group") or {}).get("method", s.get("group_label"))
        out.setdefault(method, []).append((s["direction"], s["location_from"], s["location_to"], s["ratio"]))
    return {k: sorted(v, key=lambda t: t[1]) for k, v in out.items()}


def unfinished(doc: dict) -> bool:
    """A progress section (written only for a sweep with runs missing) or a stored sweep not complete."""
    sweeps = (doc.get("sweeps") or {}).get("sweeps", [])
    return bool(doc.get("progress")) or any(s.get("status") != "complete" for s in sweeps)


def agree(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    return all(x[0] == y[0] and x[1] <= y[2] and y[1] <= x[2] for x, y in zip(a, b))


def describe(steps: list) -> str:
    if not steps:
        return "none"
    return ", ".join(f"{'up' if d == 'up' else 'down'} {lo}..{hi} x{r:.2f}" if lo != hi - 1 else
                     f"{'up' if d == 'up' else 'down'} {lo}->{hi} x{r:.2f}" for d, lo, hi, r in steps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10, help="consecutive demo runs (default 10)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "demo-repeat"), help="directory for the runs")
    ap.add_argument("--quick", action="store_true", help="pass --quick to the demo")
    ap.add_argument("--compare", nargs="+", metavar="DB", help="compare these demo traces instead of running")
    a = ap.parse_args()

    rows = []
    if a.compare:
        for db in a.compare:
            rows.append((db, report_json(db), None, None, None))
    else:
        for i in range(1, a.runs + 1):
            d = os.path.join(a.out, f"run{i}")
            os.makedirs(d, exist_ok=True)
            for f in glob.glob(os.path.join(d, "*")):
                os.remove(f)
            l0, t0 = load1(), time.monotonic()
            cmd = [PY, os.path.join(ROOT, "examples", "demo.py"), "--out", d] + (["--quick"] if a.quick else [])
            with open(os.path.join(d, "demo.log"), "w") as log:
                rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode
            wall, l1 = time.monotonic() - t0, load1()
            if rc != 0:
                print(f"run {i}: demo exited {rc}; see {d}/demo.log")
                return 1
            doc = report_json(os.path.join(d, "demo.db"))
            with open(os.path.join(d, "report.json"), "w") as f:
                json.dump(doc, f)
            rows.append((d, doc, wall, l0, l1))
            print(f"run {i}: {wall:.0f} s, load {l0:.1f} -> {l1:.1f}", flush=True)

    groups = sorted({g for _, doc, *_ in rows for g in steps_by_group(doc)})
    for i, (name, doc, wall, l0, l1) in enumerate(rows, 1):
        st = steps_by_group(doc)
        extra = f" ({wall:.0f} s, load {l0:.1f}->{l1:.1f})" if wall is not None else ""
        print(f"run {i} {name}{extra}{'  UNFINISHED CLAIM' if unfinished(doc) else ''}")
        for g in groups:
            print(f"    {g}: {describe(st.get(g, []))}")
    bad = 0
    pairs = list(itertools.combinations(range(len(rows)), 2))
    for g in groups:
        ok = sum(agree(steps_by_group(rows[i][1]).get(g, []), steps_by_group(rows[j][1]).get(g, []))
                 for i, j in pairs)
        bad += len(pairs) - ok
        print(f"{g}: {ok}/{len(pairs)} pairs of runs agree (same steps, overlapping intervals)")
    n_unf = sum(unfinished(doc) for _, doc, *_ in rows)
    print(f"unfinished claims: {n_unf}/{len(rows)}")
    return 1 if bad or n_unf else 0


if __name__ == "__main__":
    sys.exit(main())
