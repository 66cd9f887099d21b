"""The demo ends as docs/quickstart.md says it does (issue 26: the docs gave it "about a minute", the demo's own
docstring "1.5-2 minutes", neither measured): the quickstart quotes its last three lines, and no duration.

The demo runs here with smaller sizes (3 tiled counts around the 8 -> 9 wave, the two clblast counts around its
kernel switch, --quick) and its output directory in tmp_path: `/path/to/out` of the doc is that directory, `N`
any number of seconds."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def doc_demo_end():
    text = open(os.path.join(ROOT, "docs", "quickstart.md"), encoding="utf-8").read()
    m = re.search(r"<!-- demo-end:[^>]*-->\n```\n(.*?)```", text, re.S)
    assert m, "docs/quickstart.md quotes the demo's last lines after a demo-end mark"
    return m.group(1).splitlines()


def test_no_unmeasured_duration_is_claimed():
    quick = open(os.path.join(ROOT, "docs", "quickstart.md"), encoding="utf-8").read()
    demo = open(os.path.join(ROOT, "examples", "demo.py"), encoding="utf-8").read()
    assert "about a minute" not in quick and "1.5-2 minutes" not in demo
    assert not re.search(r"\bminutes?\b", demo.split('"""')[1])
    assert doc_demo_end() == [
        "staircase plot: /path/to/out/staircase.png",
        "trace: /path/to/out/demo.db  (try: cltrace diff /path/to/out/demo.db channels=199,method=clblast "
        "channels=200,method=clblast)",
        "demo wall time N s"]


def test_the_demo_ends_as_the_quickstart_says(tmp_path, conv_bench):
    out = tmp_path / "out"
    env = dict(os.environ)
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py"), "--channels", "7:9",
                        "--clblast-channels", "199:200", "--quick", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    patterns = [re.escape(line).replace(re.escape("/path/to/out"), re.escape(str(out))).replace("N", r"\d+")
                for line in doc_demo_end()]
    last = p.stdout.splitlines()[-3:]
    assert all(re.fullmatch(pat, line) for pat, line in zip(patterns, last)), (patterns, last)
    assert (out / "staircase.png").is_file() and (out / "demo.db").is_file()
