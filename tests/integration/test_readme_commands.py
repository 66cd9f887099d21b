"""The README's command block runs top to bottom as written (issue 26: its sweep once stopped halfway because the
`cltrace run` before it had written the same file).

The block is read from README.md (the fenced `sh` block that starts with `cltrace devices`), continuation lines
joined, and run in order by bash in a scratch directory where `examples` links to the repository's examples, with
`cltrace` and `python` on PATH meaning this checkout's cltrace and this interpreter (paths only). Sizes are made
smaller by SIZES, each of which must match the README once (so the test notices when the README changes):
fewer channel counts (still holding the 92 and 93 that `cltrace diff` compares), fewer processes, a quarter-scale
layer. Every command must exit 0 and leave the files it names (-o, >, and `cltrace run`'s trace.db)."""
import json
import os
import re
import shlex
import subprocess
import sys


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SIZES = [("-p channels=64:128", "-p channels=91:94"),       # 4 counts, not 65
         ("--repeat 3", "--repeat 2"),                       # 2 processes per configuration, the least for a verdict
         ("--scale 0.5", "--scale 0.25")]                    # the sweep's layer at a quarter of its size


def readme_commands(text):
    """The commands of README.md's usage block, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    block = next(b for b in blocks if b.startswith("cltrace devices"))
    return [c.strip() for c in block.replace("\\\n", " ").splitlines() if c.strip()]


def outputs(command):
    """The files a command says it writes: -o FILE, > FILE, and trace.db for `cltrace run` without -o."""
    words = shlex.split(command, comments=True)
    out = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-o", ">")]
    if words[:2] == ["cltrace", "run"] and "-o" not in words[:words.index("--")]:
        out.append("trace.db")
    return out


def test_readme_block_parses_into_the_commands_it_shows():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        cmds = readme_commands(fh.read())
    assert [c.split()[1] for c in cmds] == ["devices", "run", "run", "report", "sweep", "report", "plot", "diff",
                                             "export", "report"]
    assert [outputs(c) for c in cmds] == [[], ["trace.db"], ["py92.db"], [], ["l16.db"], [], ["staircase.png"], [],
                                          ["trace.json"], ["report.json"]]
    for old, _ in SIZES:
        assert sum(old in c for c in cmds) == 1, old
    for c in cmds:             # every program the block runs is a real file of this repository
        for w in shlex.split(c, comments=True):
            if w.startswith(("./", "examples/")):
                assert os.path.exists(os.path.join(ROOT, w)), w


def test_readme_commands_run_in_order(tmp_path, conv_bench):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        cmds = readme_commands(fh.read())
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, args in (("cltrace", ' -m cltrace.cli.main "$@"'), ("python", ' "$@"')):   # scripts: a symlink
        (bindir / name).write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)}{args}\n")  # loses the venv
        (bindir / name).chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(os.path.join(ROOT, "examples"))
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    env.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
    for command in cmds:
        for old, new in SIZES:
            command = command.replace(old, new)
        p = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                           timeout=600)
        assert p.returncode == 0, (command, p.stdout[-2000:], p.stderr[-2000:])
        assert "Traceback" not in p.stderr, (command, p.stderr)
        for f in outputs(command):
            assert (work / f).is_file() and (work / f).stat().st_size > 0, (command, f)
    report = json.loads((work / "report.json").read_text())
    assert len(report["runs"]) == 4 * 2 * 2 and all(r["status"] == "ok" for r in report["runs"])
    assert report["staircase"]["param"] == "channels"
