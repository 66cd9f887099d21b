"""The report's JSON (and text) on many trace shapes, to compare two versions of cltrace field by field.

    python bench/compare_report_json.py dump DIR OUT.json     # make the traces in DIR (once), write the reports
    python bench/compare_report_json.py diff A.json B.json    # every field that differs, exit 1 if any

Run `dump` once with each version on the same DIR (e.g. the old one with PYTHONPATH pointing at a checkout of
it, its native libraries built), then `diff`. The traces are tests/unit/report_traces.py's: sweeps with
regions, without regions (periodic and single-sample processes), failed and in-progress sweeps, more than
20 runs, untimed launches, several processes and threads, and regions longer than LONG_SIGNATURE launches.
Each trace is reported whole, per run (--run 1), with a budget (--budget-ms), without the staircase, and
as text."""
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.append(os.path.join(ROOT, "tests", "unit"))


def dump(d, out):
    import cltrace
    from cltrace.report.render import render
    from cltrace.report.trace_report import build_report
    from report_traces import make_traces
    marker = os.path.join(d, "names.json")
    if os.path.exists(marker):
        with open(marker) as f:
            traces = json.load(f)
    else:
        traces = make_traces(d)
        with open(marker, "w") as f:
            json.dump(traces, f)
    result = {}
    for name, path in sorted(traces.items()):
        for label, kw in (("all", {}), ("run1", {"run": 1}), ("budget", {"budget_ms": 0.2}),
                          ("no-staircase", {"staircase": False})):
            with cltrace.open(path) as t:
                doc = build_report(t, **kw)
                buf = io.StringIO()
                render(doc, "json", buf)
                js = json.loads(buf.getvalue())
                js.pop("cltrace_version", None)
                txt = io.StringIO()
                render(doc, "text", txt)
            result[f"{name}/{label}"] = {"json": js, "text": txt.getvalue()}
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print(f"{len(result)} reports of {len(traces)} traces -> {out}")


def _diff(a, b, path, out):
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        out.append(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'B' if k not in a else 'A'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b and not (a != a and b != b):
        out.append(f"{path}: {a!r} != {b!r}")


def diff(pa, pb):
    with open(pa) as f:
        a = json.load(f)
    with open(pb) as f:
        b = json.load(f)
    out = []
    _diff(a, b, "", out)
    for line in out[:200]:
        print(line)
    n_fields = len(json.dumps(a))
    print(f"{len(a)} reports compared ({n_fields:,} characters of JSON and text): "
          + ("identical" if not out else f"{len(out)} difference(s)"))
    return 1 if out else 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "dump" and len(sys.argv) == 4:
        dump(sys.argv[2], sys.argv[3])
    elif cmd == "diff" and len(sys.argv) == 4:
        sys.exit(diff(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
