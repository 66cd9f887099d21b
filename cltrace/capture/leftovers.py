"""Capture directories that outlived their `cltrace run`: a marker file describes the run, so that nothing
that was recorded is lost and the next `cltrace run` or `ingest` can say where it is.

Each capture directory of `cltrace run`/`sweep` holds RUN_FILE (hidden: ingest skips it as a capture file):
the run's command, settings and, once the program ended, how it ended; and the pid (and start time) of the
cltrace that owns it. A directory whose owner is gone (SIGKILL, a crash, an interrupted or failed ingest)
is a leftover: `cltrace ingest DIR --append -o TRACE` records it as the run it was.
"""
import json
import os
import shlex
import shutil
import tempfile
from typing import Dict, List, Optional

RUN_FILE = ".cltrace-run.json"
PREFIX = "cltrace-"


def _start_time(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


_own_start: Dict[int, Optional[str]] = {}     # pid -> its start time: read once per process, not per marker


def write_marker(capture_dir: str, info: Dict) -> None:
    """Write (or rewrite) the run's marker, owned by this process. Best effort: capture comes first."""
    data = dict(info)
    pid = os.getpid()
    if pid not in _own_start:
        _own_start[pid] = _start_time(pid)
    data.setdefault("cltrace_pid", pid)
    data.setdefault("cltrace_start", _own_start[pid])
    tmp = os.path.join(capture_dir, RUN_FILE + ".tmp")
    try:
        text = json.dumps(data).encode()     # one write(2), not json.dump's one per chunk (two markers a run)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:                                   # private, as the capture files: it holds the command line
            if os.write(fd, text) != len(text):
                raise OSError("short write")
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(capture_dir, RUN_FILE))
    except OSError:
        pass


def update_marker(capture_dir: str, **fields) -> None:
    data = read_marker(capture_dir) or {}
    data.update(fields)
    write_marker(capture_dir, data)


def read_marker(capture_dir: str) -> Optional[Dict]:
    try:
        with open(os.path.join(capture_dir, RUN_FILE)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def forget(capture_dir: str) -> None:
    """The run was recorded from these files: they are no longer a leftover."""
    try:
        os.remove(os.path.join(capture_dir, RUN_FILE))
    except OSError:
        pass


def _owner_alive(data: Dict) -> bool:
    pid = data.get("cltrace_pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    start = _start_time(pid)
    return start is not None and start == data.get("cltrace_start")


def recover_command(capture_dir: str, output: Optional[str]) -> str:
    out = shlex.quote(output) if output else "TRACE.db"
    return f"cltrace ingest {shlex.quote(capture_dir)} --append -o {out}"


def find_leftovers(parent: Optional[str] = None) -> List[Dict]:
    """Capture directories under `parent` (default: the temporary directory) whose cltrace is gone."""
    parent = parent or tempfile.gettempdir()
    found = []
    try:
        names = sorted(n for n in os.listdir(parent) if n.startswith(PREFIX))
    except OSError:
        return found
    for name in names:
        d = os.path.join(parent, name)
        try:
            if not os.path.isdir(d) or os.path.islink(d) or os.stat(d).st_uid != os.geteuid():
                continue
        except OSError:
            continue
        data = read_marker(d)
        if data is None or _owner_alive(data):
            continue
        size = 0
        try:
            for entry in os.scandir(d):
                if entry.is_file(follow_symlinks=False) and entry.name.endswith(".clt"):
                    size += entry.stat(follow_symlinks=False).st_blocks * 512
        except OSError:
            pass
        found.append({"dir": d, "bytes": size, "output": data.get("output"), "command": data.get("command")})
    return found


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n // 1000} kB"


def notice_lines(parent: Optional[str] = None) -> List[str]:
    """One line per leftover capture directory: where, how big, the command that recovers it and how to
    delete it (at most 5, then a count)."""
    left = find_leftovers(parent)
    lines = [f"note: captures of an unfinished run are left in {x['dir']} ({_mb(x['bytes'])}"
             + (f", {x['command']}" if x.get("command") else "") + f"): recover them with "
             f"'{recover_command(x['dir'], x.get('output'))}', or delete them with 'rm -r {shlex.quote(x['dir'])}'"
             for x in left[:5]]
    if len(left) > 5:
        lines.append(f"note: {len(left) - 5} more directories of unfinished runs in {parent or tempfile.gettempdir()}"
                     f" ({PREFIX}*)")
    return lines


def remove(capture_dir: str) -> None:
    shutil.rmtree(capture_dir, ignore_errors=True)
