"""Sweeps as records: the report's sweep line and progress come from the stored plans (the demo's layout: a tiled
sweep and an appended clblast sweep over another range), never from the cartesian product of all tag values."""
import json

import jsonschema

import cltrace
from cltrace.analysis.sweep_labels import sweep_label
from cltrace.report.json_report import load_schema, report_json
from cltrace.report.trace_report import gather
from cltrace.store.db import create_db, insert_run, set_run_tags
from cltrace.sweep import stored
from cltrace.sweep.plan import plan

TEMPLATE = ["./conv_bench", "--out-channels", "{channels}", "--method", "{method}"]


def _sweep(conn, channels, method, repeat, status_of=lambda r: "ok", stop_after=None, end=True, interrupted=False):
    params = [("channels", channels), ("method", [method])]
    runs = plan(params, repeat, "interleave")
    sid = stored.create(conn, TEMPLATE, params, runs, repeat, "interleave", 0, {}, "auto", {}, True)
    with conn:
        for r in runs[:stop_after]:
            rid = insert_run(conn, command="x", status=status_of(r), sweep_index=r.index, repeat_index=r.repeat,
                             sweep_id=sid)
            set_run_tags(conn, rid, r.params)
    if end:
        stored.finish(conn, sid, interrupted)
    return sid


def _report(path):
    with cltrace.open(path) as t:
        data = gather(t, staircase=False)
    doc = json.loads(json.dumps(report_json(data)))
    jsonschema.validate(doc, load_schema())
    return data, doc


def test_two_complete_sweeps_over_different_ranges_are_complete(tmp_path):
    path = str(tmp_path / "demo.db")
    conn = create_db(path)
    _sweep(conn, [str(c) for c in range(5, 21)], "tiled", 6)
    _sweep(conn, [str(c) for c in range(197, 203)], "clblast", 4)
    assert conn.execute("SELECT status FROM sweeps").fetchall() == [("complete",), ("complete",)]
    conn.close()
    data, doc = _report(path)
    assert data.progress is None and doc["progress"] is None         # no "looks unfinished": 264 of 264 are there
    assert data.sweeps_text == "2 sweeps: tiled 5..20 x6, complete; clblast 197..202 x4, complete"
    assert doc["sweeps"]["text"] == data.sweeps_text
    assert [(s["sweep_id"], s["runs_planned"], s["ok_runs"], s["status"]) for s in doc["sweeps"]["sweeps"]] == [
        (1, 96, 96, "complete"), (2, 24, 24, "complete")]
    assert doc["sweeps"]["sweeps"][1]["params"] == {"channels": ["197", "198", "199", "200", "201", "202"],
                                                    "method": ["clblast"]}


def test_interrupted_failed_and_running_sweeps_each_say_their_state(tmp_path):
    path = str(tmp_path / "t.db")
    conn = create_db(path)
    _sweep(conn, ["1", "2", "3"], "a", 2, stop_after=4, interrupted=True)                   # 2 of 6 to go
    _sweep(conn, ["1", "2"], "b", 1, status_of=lambda r: "failed" if r.params["channels"] == "2" else "ok")
    _sweep(conn, ["4", "5"], "c", 1, stop_after=1, end=False)                               # killed, or running
    conn.close()
    data, doc = _report(path)
    assert data.sweeps_text == ("3 sweeps: a 1..3 x2, interrupted (2 of 6 planned runs to go); b 1,2 x1, 1 failed "
                                "run (1 of 2 planned runs to go); c 4,5 x1, running or stopped (1 of 2 planned runs "
                                "to go)")
    p = doc["progress"]
    assert p["inferred"] is False and p["sweep_ids"] == [1, 2, 3] and p["missing_runs"] == 4
    assert p["incomplete"][0] == {"tags": {"channels": 2, "method": "a"}, "ok_runs": 1, "sweep_id": 1}
    assert data.progress["text"] == (
        "sweep 1 (a 1..3 x2) is unfinished: 2 of 6 planned runs are missing or failed (2 of 3 configurations have "
        "fewer than 2 successful runs: channels=2,method=a (1), channels=3,method=a (1)). It was interrupted: the "
        f"verdicts below may change. Complete it with cltrace sweep --resume 1 -o {path}. "
        "sweep 2 (b 1,2 x1) is unfinished: 1 of 2 planned runs are missing or failed (1 of 2 configurations have "
        "fewer than 1 successful runs, 1 none yet: channels=2,method=b (0)). Runs failed: the verdicts below lack "
        f"them. Fix them, then run them again with cltrace sweep --resume 2 -o {path}. "
        "sweep 3 (c 4,5 x1) is unfinished: 1 of 2 planned runs are missing or failed (1 of 2 configurations have "
        "fewer than 1 successful runs, 1 none yet: channels=5,method=c (0)). It is still running, or cltrace was "
        "stopped before it could record its end: the verdicts below may change. Report again when it ends, or "
        f"complete it with cltrace sweep --resume 3 -o {path}.")


def test_adaptive_runs_past_the_plan_do_not_complete_it(tmp_path):
    path = str(tmp_path / "t.db")
    conn = create_db(path)
    sid = _sweep(conn, ["1", "2"], "a", 1, stop_after=1, interrupted=True)
    with conn:                      # an extra run of channels=2 at a position past the plan
        rid = insert_run(conn, command="x", status="ok", sweep_index=2, repeat_index=1, sweep_id=sid)
        set_run_tags(conn, rid, {"channels": "2", "method": "a"})
    conn.close()
    data, doc = _report(path)
    s = doc["sweeps"]["sweeps"][0]
    assert (s["ok_runs"], s["missing_runs"], s["adaptive_runs"], s["status"]) == (1, 1, 1, "interrupted")
    assert doc["progress"]["missing_runs"] == 1


def test_label_shapes():
    assert sweep_label([("channels", ["64", "68", "72"]), ("method", ["gemm"])], 3) == "gemm 64..72 step 4 x3"
    assert sweep_label([("c", ["3", "2", "1"])], 1) == "3..1 x1"
    assert sweep_label([("m", ["a", "b", "c", "d", "e"])], 2) == "a,b,c,... (5 values) x2"
