import io
import json

import pandas as pd

from cltrace.report.chrome import chrome_events
from cltrace.report.document import Document, Section
from cltrace.report.render import render


def _doc():
    d = Document("t")
    d.add(Section("Run 1", "fields", fields={"launches": 3, "devices": ["cpu"]}, key="run1"))
    d.add(Section("Kernels", "table", table=pd.DataFrame({"kernel": ["a|b"], "ms": [1.5]}), key="kernels"))
    d.add(Section("Notes", "lines", lines=["hello"], key="notes"))
    return d


def test_formats_carry_the_same_content():
    outs = {}
    for fmt in ("text", "json", "csv", "markdown"):
        buf = io.StringIO()
        render(_doc(), fmt, buf)
        outs[fmt] = buf.getvalue()
    for fmt, text in outs.items():
        assert "a|b" in text or "a\\|b" in text, fmt
        assert "hello" in text, fmt
    j = json.loads(outs["json"])
    assert [s["key"] for s in j["sections"]] == ["run1", "kernels", "notes"]
    assert j["sections"][1]["rows"] == [{"kernel": "a|b", "ms": 1.5}]
    assert "# kernels\nkernel,ms\na|b,1.5\n" in outs["csv"]
    assert "| a\\|b | 1.500 |" in outs["markdown"]
    assert "== Kernels ==" in outs["text"]          # piped: plain headings, no colour codes
    assert "\x1b[" not in outs["text"]


def test_chrome_events_have_device_and_host_tracks():
    L = pd.DataFrame([{"process_id": 1, "seq": 1, "tid": 7, "queue_id": 2, "kernel_name": "k", "work_dim": 1,
                       "global0": 8, "local0": None, "driver_local": 1, "work_groups": None, "error": 0,
                       "host_enqueue_ns": 1000, "host_return_ns": 3000, "start_ns": 5000, "end_ns": 9000}])
    P = pd.DataFrame([{"process_id": 1, "pid": 4242}])
    R = pd.DataFrame([{"process_id": 1, "tid": 7, "name": "L16", "begin_ns": 0, "end_ns": 10000,
                       "tags": '{"channels": "92"}'}])
    ev = chrome_events(L, R, P, pd.DataFrame())
    kernel = [e for e in ev if e.get("cat") == "kernel"][0]
    assert kernel["ts"] == 5.0 and kernel["dur"] == 4.0 and kernel["pid"] == 4242
    assert kernel["args"]["local"] == "driver"
    host = [e for e in ev if e.get("cat") == "enqueue"][0]
    assert host["tid"] == 7 and host["dur"] == 2.0
    region = [e for e in ev if e.get("cat") == "region"][0]
    assert region["args"] == {"channels": 92}            # tags come back typed, as sweep parameters
