"""`cltrace report --format json` follows its shipped JSON Schema; the report's staircase wording: sweeps in
progress, failed runs without a phantom group, hazard candidates, best counts."""
import io
import json

import jsonschema
import pandas as pd
import pytest
from trace_factory import sweep_trace

import cltrace
from cltrace.analysis.staircase import analyse
from cltrace.analysis.synthetic import paper_example
from cltrace.cli.main import main
from cltrace.report.json_report import SCHEMA_VERSION, load_schema, report_json
from cltrace.report.render import render
from cltrace.report.staircase_json import staircase_dict
from cltrace.report.trace_report import ReportData, build_report

VALIDATOR = jsonschema.Draft202012Validator(load_schema())


def _json(path, *args):
    buf = io.StringIO()
    with cltrace.open(path) as t:
        render(build_report(t, *args), "json", buf)
    return json.loads(buf.getvalue())


def _sections(path):
    with cltrace.open(path) as t:
        return {s.key: s for s in build_report(t).sections}


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("reports")

    def make(name, **kw):
        return sweep_trace(str(d / f"{name}.db"), str(d / name), **kw)
    return {"sweep": make("sweep", repeats=3, extra_tags={"method": "gemm"}),
            "in_progress": make("in_progress", repeats=3, skip={(3, 2), (4, 2), (4, 1)}),
            "failed": make("failed", repeats=2, fail={1}),
            "one_process": make("one_process", repeats=1, slow={2})}


def test_the_schema_itself_is_valid():
    jsonschema.Draft202012Validator.check_schema(load_schema())


@pytest.mark.parametrize("name", ["sweep", "in_progress", "failed", "one_process"])
def test_report_json_follows_the_schema(traces, name):
    doc = _json(traces[name])
    VALIDATOR.validate(doc)
    assert doc["schema"] == "cltrace-report" and doc["schema_version"] == SCHEMA_VERSION == 2
    assert "sections" not in doc and doc["staircase"]["param"] == "channels"


def test_report_json_records_are_typed_and_named_as_to_dict(traces):
    doc = _json(traces["sweep"], None, True, None, 0.08)
    run = doc["runs"][0]
    assert run["tags"] == {"channels": 1, "method": "gemm"} and run["argv"] == ["./app", "--channels", "1"]
    assert doc["kernels"][0]["run_id"] == 1 and isinstance(doc["kernels"][0]["median_ms"], float)
    st = doc["staircase"]
    with cltrace.open(traces["sweep"]) as t:
        expected = staircase_dict(analyse(t.samples(), compute_units=t.compute_units_by_run()))
    assert set(st) == set(expected) | {"best"}
    assert [(s["from_value"], s["to_value"]) for s in st["steps"]] == [(2, 3)]
    assert st["configs"][0]["params"] == {"channels": 1} and st["configs"][0]["group"] == {}
    assert st["best"] == {"budget_ms": 0.08, "min_value": None, "configs": [
        {"group": {}, "group_label": "all", "value": 2, "config_id": 1, "latency_ns": pytest.approx(50190, rel=0.01),
         "speedup": pytest.approx(2.0, rel=0.01), "reason": "most channels within the latency budget"}]}
    assert {"kind": "analysis", "text": "sweep parameter chosen automatically: channels"} in doc["notes"]


def test_synthetic_result_with_every_table_follows_the_schema():
    """paper_example: steps with causes, hazards, dispatch changes, groups; one process: undecided ranges."""
    for samples in (paper_example().samples, paper_example(processes=1, n=3).samples):
        result = analyse(samples, compute_units=2)
        data = ReportData(path="x.db", run=None, summaries=[], kernels=pd.DataFrame(), result=result,
                          budget_ms=15.0, notes=[("analysis", n) for n in result.notes])
        doc = json.loads(json.dumps(report_json(data), allow_nan=False))
        VALIDATOR.validate(doc)
        assert doc["staircase"]["steps"] or doc["staircase"]["undecided"]


def test_sweep_in_progress_says_so(traces):
    hint = ("this sweep looks unfinished (inferred from its runs' tags: the trace was written before cltrace stored "
            "sweep plans): 3 of 12 planned runs are missing or failed (2 of 4 configurations have "
            "fewer than 3 successful runs: channels=3 (2), channels=4 (1)). It is still running, stopped early, or "
            "runs failed: the verdicts below may change. Report again when it ends, or complete it with cltrace "
            "sweep --resume and the same options.")
    assert _sections(traces["in_progress"])["progress"].lines == [hint]
    doc = _json(traces["in_progress"])
    assert doc["progress"]["missing_runs"] == 3 and doc["progress"]["incomplete"] == [
        {"tags": {"channels": 3}, "ok_runs": 2, "sweep_id": None},
        {"tags": {"channels": 4}, "ok_runs": 1, "sweep_id": None}]
    assert doc["progress"]["inferred"] is True and doc["sweeps"] is None     # runs without a stored sweep
    assert "progress" not in _sections(traces["sweep"]) and _json(traces["sweep"])["progress"] is None


def test_failed_runs_make_no_phantom_group(traces, capsys):
    sec = _sections(traces["failed"])
    cfg = sec["configs"].table
    assert "group" not in cfg.columns and list(cfg["channels"]) == [1, 2, 3, 4]
    assert list(cfg["procs"]) == [0, 2, 2, 2]
    assert main(["report", traces["failed"]]) == 0
    out = capsys.readouterr().out
    assert "None" not in out and "region=" not in out


def test_hazards_none_says_why_and_names_the_candidates(traces):
    sec = _sections(traces["one_process"])
    assert sec["hazards"].lines == [
        "(none significant)",
        "candidates, not hazards: 1 count(s) measured slower than the unpruned channels=4 (speedup below 1), but "
        "some have no verdict (fewer than 2 processes) at 1 process per configuration: channels=2 (0.50x speedup). "
        "More processes decide them (cltrace sweep --resume --adaptive, or a larger --repeat)."]
    doc = _json(traces["one_process"])
    cand = doc["staircase"]["hazard_candidates"]
    assert [(c["value"], c["reason"]) for c in cand] == [(2, "measured in fewer than 2 processes: no verdict")]
    assert doc["notes"][0]["kind"] == "hazards" and doc["notes"][0]["text"].startswith("candidates, not hazards")


def test_best_counts_leave_out_the_slowest_maximum(traces):
    """1, 2 at one level, 3, 4 twice as slow: 2 is the best count; 4 (unpruned, slowest stair) is none."""
    sec = _sections(traces["sweep"])
    assert sec["edges"].lines == ["channels=2: 0.050 ms (right edge of a stair: the most channels at this latency, "
                                  "x2.00 slower at channels=3)"]
    doc = _json(traces["sweep"])
    assert [(e["value"], e["is_max"]) for e in doc["staircase"]["edges"]] == [(2, False)]
    assert doc["staircase"]["pareto"][-1]["value"] == 4          # still on the frontier: the most channels


def test_emulated_runs_are_flagged_in_text_and_json(tmp_path):
    from cltrace.store.db import open_db
    from cltrace.store.queries import add_note
    path = sweep_trace(str(tmp_path / "emu.db"), str(tmp_path / "emu"), repeats=2)
    note = json.dumps({"arch": "aarch64", "emulator": "/usr/bin/qemu-aarch64-static", "host_arch": "x86_64"})
    conn = open_db(path, write=True)
    with conn:
        for run_id in (1, 2, 3, 5):
            add_note(conn, run_id, "emulation", note)
    conn.close()
    doc = _json(path)
    VALIDATOR.validate(doc)
    warning = ("emulated: runs 1..3, 5 ran aarch64 programs under qemu-aarch64-static; latencies are the emulator's on "
               "this host, not a device's; kernels, sizes and dispatch counts are the program's own (device names are "
               "as the program saw them)")
    assert doc["emulation"] == {"runs": [1, 2, 3, 5], "arch": ["aarch64"], "emulators": ["qemu-aarch64-static"],
                                "warning": warning}
    assert {"kind": "emulation", "text": warning} in doc["notes"]
    assert _sections(path)["emulation"].lines == [warning]
    plain = sweep_trace(str(tmp_path / "plain.db"), str(tmp_path / "plain"), repeats=2)
    assert _json(plain)["emulation"] is None
