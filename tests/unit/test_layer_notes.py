"""`layer` notes: what a layer below cltrace leaves in CLTRACE_LAYER_NOTES becomes a note of the run, and the
report says how many device jobs the split layer ran per launch (capture/layer_notes.py, report/layer_notice.py)."""
import json

from capture_factory import simple_capture

import cltrace
from cltrace.capture import layer_notes
from cltrace.report.layer_notice import layer_summary
from cltrace.store.db import create_db, insert_run, set_run_tags
from cltrace.store.ingest import ingest_capture_dir


def split_note(pid, launches, jobs_per_launch, kernel="gemm_mm_f32_bifrost_like"):
    split = launches if jobs_per_launch > 1 else 0
    return {"layer": "split", "pid": pid, "launches": 2 * launches, "split_launches": split,
            "jobs": launches + launches * jobs_per_launch,
            "kernels": [{"name": "im2col", "launches": launches, "split_launches": 0, "jobs": launches},
                        {"name": kernel, "launches": launches, "split_launches": split,
                         "jobs": launches * jobs_per_launch}]}


def capture_dir(tmp_path, name, *notes, junk=None):
    cap = tmp_path / name
    cap.mkdir()
    simple_capture(launches=2).write(cap / "1.0.clt")
    d = layer_notes.prepare(str(cap))
    for i, n in enumerate(notes):
        with open(f"{d}/split-{i}.json", "w") as f:
            json.dump(n, f)
    if junk is not None:
        with open(f"{d}/zz-broken.json", "w") as f:
            f.write(junk)
    with open(f"{d}/split-9.json.tmp", "w") as f:      # a file still being written: ignored
        f.write("{")
    return cap


def test_notes_directory_is_hidden_from_the_capture_files(tmp_path):
    cap = tmp_path / "cap"
    cap.mkdir()
    assert layer_notes.prepare(str(cap)).startswith(str(cap) + "/.")


def test_each_object_becomes_a_layer_note_and_broken_files_a_warning(tmp_path):
    cap = capture_dir(tmp_path, "cap", split_note(11, 12, 2), junk="not json")
    conn = create_db(tmp_path / "t.db")
    with conn:
        run_id = insert_run(conn, command="app", status="ok")
        stats = ingest_capture_dir(conn, run_id, cap)
    conn.close()
    notes = cltrace.open(tmp_path / "t.db").notes
    layer = notes[notes["kind"] == "layer"]
    assert len(layer) == 1 and int(layer["value"].iloc[0]) == 36
    assert json.loads(layer["message"].iloc[0]) == split_note(11, 12, 2)
    bad = notes[notes["kind"] == "unreadable-layer-note"]
    assert len(bad) == 1 and "zz-broken.json" in bad["message"].iloc[0]
    assert any("zz-broken.json" in w for w in stats.warnings)


def test_report_gives_jobs_per_launch_by_configuration(tmp_path):
    conn = create_db(tmp_path / "t.db")
    for i, c in enumerate((91, 92, 93, 96, 97, 92)):      # 92 twice: a repeat
        cap = capture_dir(tmp_path, f"cap{i}", split_note(c, 12, 1 if c in (93, 96) else 2))
        with conn:
            run_id = insert_run(conn, command="conv_bench", status="ok")
            set_run_tags(conn, run_id, {"channels": c, "method": "bifrost"})
            ingest_capture_dir(conn, run_id, cap)
    s = layer_summary(conn)
    conn.close()
    (lay,) = s["layers"]
    assert lay["runs"] == [1, 2, 3, 4, 5, 6] and lay["launches"] == 144 and lay["split_launches"] == 48
    assert lay["jobs"] == 72 + 48 * 2 + 24
    k = {x["name"]: x for x in lay["kernels"]}["gemm_mm_f32_bifrost_like"]
    assert k["jobs_per_launch"] == {"2": [1, 2, 5, 6], "1": [3, 4]}
    assert "  gemm_mm_f32_bifrost_like: device jobs per launch: 1 at channels=93, 96; 2 at channels=91..92, 97" \
        in s["lines"]
    assert not any(line.startswith("  im2col") for line in s["lines"])        # never split: not listed



def test_cltrace_ingest_of_a_capture_directory_keeps_its_layer_notes(tmp_path):
    import subprocess
    import sys
    cap = capture_dir(tmp_path, "cap", split_note(5, 3, 2))
    db = tmp_path / "t.db"
    p = subprocess.run([sys.executable, "-m", "cltrace.cli.main", "ingest", "-o", str(db), str(cap)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    notes = cltrace.open(db).notes
    assert json.loads(notes.loc[notes["kind"] == "layer", "message"].iloc[0]) == split_note(5, 3, 2)


def test_runs_are_named_by_their_shared_tags_and_the_one_that_varies():
    from cltrace.report.layer_notice import _where
    tags = {1: {"device": "G72", "method": "gemm", "channels": "92"},
            2: {"device": "G72", "method": "gemm", "channels": "93"},
            3: {"device": "G72", "method": "gemm", "channels": "94"},
            4: {"device": "T628", "method": "gemm", "channels": "92"},
            5: {"device": "G72", "method": "direct", "channels": "92"}}
    assert _where([2, 3], tags) == "device=G72, method=gemm, channels=93..94"
    assert _where([1, 4], tags) == "channels=92, method=gemm, device=G72, T628"
    assert _where([1, 2, 4, 5], tags) == "runs 1..2, 4..5"      # two tags vary among them: by run id
    one = {r: {"channels": t["channels"]} for r, t in tags.items() if r <= 3}
    assert _where([1, 3], one) == "channels=92, 94"
