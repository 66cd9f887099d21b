"""What a layer below cltrace says about a run: `layer` notes.

cltrace sees what the program asks for; a layer loaded nearer the driver (OPENCL_LAYERS lists it before the
cltrace layer, e.g. the split layer of examples/acl_compat) can change what the driver receives, and only it
knows what it did. cltrace gives every traced program a private directory in CLTRACE_LAYER_NOTES (inside the run's
capture directory); a layer may leave there, at exit, one JSON object per process in a file `NAME.json`
(written whole, e.g. by rename; the split layer makes the directory when it is missing, as under a hand-set
CLTRACE_LAYER_NOTES=$CLTRACE_DIR/.layer-notes for `cltrace ingest`). After the run (and at `cltrace ingest` of a
capture directory) cltrace records each object as a note of kind `layer`
(docs/capture.md), whose `value` is the object's `jobs` when it has one. The split layer writes
{"layer", "pid", "launches", "split_launches", "jobs", "kernels": [{"name", "launches", "split_launches",
"jobs"}]} (docs/acl.md).
"""
import json
import os
from typing import List, Tuple

LAYER_NOTES_ENV = "CLTRACE_LAYER_NOTES"
LAYER_NOTES_SUBDIR = ".layer-notes"     # hidden: the capture directory's other files are capture files
MAX_NOTE_BYTES = 1 << 20
MAX_NOTES = 256


def notes_dir(capture_dir: str) -> str:
    return os.path.join(capture_dir, LAYER_NOTES_SUBDIR)


def prepare(capture_dir: str) -> str:
    """Create the notes directory of a capture directory; its path."""
    path = notes_dir(capture_dir)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def read_notes(capture_dir: str) -> Tuple[List[dict], List[str]]:
    """(the JSON objects left in the capture directory's notes directory, in file-name order; problems as
    sentences). Nothing there, or no such directory: ([], [])."""
    path = notes_dir(capture_dir)
    try:
        names = sorted(n for n in os.listdir(path) if n.endswith(".json"))
    except OSError:
        return [], []
    notes, problems = [], []
    for name in names[:MAX_NOTES]:
        file = os.path.join(path, name)
        try:
            if os.path.getsize(file) > MAX_NOTE_BYTES:
                problems.append(f"layer note {name} is larger than {MAX_NOTE_BYTES} bytes: not recorded")
                continue
            with open(file, encoding="utf-8") as f:
                obj = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"layer note {name} could not be read ({e.__class__.__name__}): not recorded")
            continue
        if not isinstance(obj, dict):
            problems.append(f"layer note {name} is not a JSON object: not recorded")
            continue
        notes.append(obj)
    if len(names) > MAX_NOTES:
        problems.append(f"{len(names) - MAX_NOTES} more layer notes than {MAX_NOTES}: not recorded")
    return notes, problems
