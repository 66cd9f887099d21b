"""The warning a report carries when its runs were emulated (the `emulation` notes of capture/emulation.py)."""
import json
import sqlite3
from typing import Optional

from ..ranges import ranges_text
from .document import Section


def emulation_summary(db, run: Optional[int] = None) -> Optional[dict]:
    """{"runs", "arch", "emulators", "warning"} over the emulated runs (of `run` only, when given); None when
    no run was emulated."""
    where, params = ("AND run_id = ?", (run,)) if run is not None else ("", ())
    try:
        rows = db.execute(f"SELECT run_id, message FROM notes WHERE kind = 'emulation' {where} ORDER BY run_id",
                          params).fetchall()
    except sqlite3.Error:
        return None
    if not rows:
        return None
    notes = {}
    for run_id, message in rows:
        try:
            notes[int(run_id)] = json.loads(message)
        except (TypeError, ValueError):
            notes[int(run_id)] = {}
    arches = sorted({n.get("arch", "?") for n in notes.values()})
    emulators = sorted({str(n.get("emulator", "?")).rsplit("/", 1)[-1] for n in notes.values()})
    which = "the run" if run is not None else f"run{'s' if len(notes) > 1 else ''} {ranges_text(notes)}"
    warning = (f"emulated: {which} ran {'/'.join(arches)} programs under {', '.join(emulators)}; latencies are the "
               f"emulator's on this host, not a device's; kernels, sizes and dispatch counts are the program's own "
               f"(device names are as the program saw them)")
    return {"runs": sorted(notes), "arch": arches, "emulators": emulators, "warning": warning}


def emulation_section(db, run: Optional[int] = None) -> Optional[Section]:
    summary = emulation_summary(db, run)
    if summary is None:
        return None
    return Section("Emulated runs", "lines", lines=[summary["warning"]], key="emulation", data=summary)
