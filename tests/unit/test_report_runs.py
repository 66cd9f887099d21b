"""A short sweep's report gives each run one line (a compact table) instead of a 16-line block per run; --run N
prints that run in full; the JSON keeps every field of every run."""
import io
import json

from trace_factory import sweep_trace

import cltrace
from cltrace.cli.main import main
from cltrace.report.render import render, to_text
from cltrace.report.trace_report import build_report


def _trace(tmp_path):
    # 4 counts x 2 repeats = 8 runs; channels 3 fails: a failed run has a line too
    return sweep_trace(str(tmp_path / "t.db"), str(tmp_path), channels=(1, 2, 3, 4), repeats=2, fail=(3,))


def test_a_few_runs_get_one_line_each(tmp_path):
    path = _trace(tmp_path)
    buf = io.StringIO()
    with cltrace.open(path) as t:
        to_text(build_report(t), buf, width=200)
    lines = buf.getvalue().splitlines()
    assert not any(ln.startswith("== Run ") for ln in lines)              # no block per run
    at = lines.index("== Runs (8; one in full with --run N) ==")
    assert lines[at + 1] == "run | status | exit | tags       | procs | launches | untimed | device_ms | wall_s"
    rows = lines[at + 3:at + 11]
    assert [r.split("|")[0].strip() for r in rows] == [str(i) for i in range(1, 9)]
    assert rows[0].split("|")[1:5] == [" ok     ", "    0 ", " channels=1 ", "     1 "]
    assert rows[2].split("|")[1:7] == [" failed ", "    2 ", " channels=3 ", "     0 ", "        0 ", "       0 "]
    assert lines[at + 11] == ("  command: ./app --channels {channels}; one line per run (--run N prints one run in "
                              "full): status and exit = how the program ended; tags = the run's tags (sweep "
                              "parameters); procs = processes traced;")
    assert lines[at + 12].startswith("  launches = kernel launches")
    assert lines[at + 13:at + 15] == ["", "== Sweep progress =="]           # the runs took 13 lines in all


def test_run_n_prints_that_run_in_full(tmp_path, capsys):
    path = _trace(tmp_path)
    assert main(["report", path, "--run", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("== Run 2 ==")
    assert out[at + 1] == "  command            ./app --channels 2"
    assert [ln.split()[0] for ln in out[at + 1:at + 12]] == [
        "command", "status", "exit_status", "devices", "tags", "processes", "launches", "untimed_launches",
        "kernels", "device_time_ms", "device_span_ms"]
    assert not any(ln.startswith("== Runs (") for ln in out)


def test_json_keeps_every_field_of_every_run(tmp_path):
    path = _trace(tmp_path)
    buf = io.StringIO()
    with cltrace.open(path) as t:
        render(build_report(t), "json", buf)
    runs = json.loads(buf.getvalue())["runs"]
    assert len(runs) == 8
    assert {"run_id", "command", "argv", "status", "exit_status", "tags", "launches", "device_time_ms",
            "device_span_ms"} <= set(runs[0])
