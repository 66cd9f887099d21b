"""Watching a (traced) program from outside through /proc, for bench_memory.py and bench_soak.py: its RSS over
time, the cltrace process's peak, the capture directory's largest size, and when the program ended.

watch(proc, program, interval) polls until `proc` (the `cltrace run` process, or the program itself with
traced=False) exits:
  * the program is proc's child whose /proc/PID/exe is `program` (for traced runs; else proc itself);
  * every `interval` s: the program's /proc/PID/status (while it is neither gone nor a zombie) and the
    cltrace process's (its peak of each field);
  * the capture directory (CLTRACE_DIR from the program's environment) is sized on every poll and once more
    when the program ends (its final size, before the ingest removes it);
  * the program's end: the first poll that finds it gone or a zombie.
"""
import glob
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

STATUS_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def status(pid):
    """VmRSS/RssAnon/RssFile/RssShmem/VmHWM (kB) and State of /proc/PID/status, or None once gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        if k in STATUS_FIELDS:
            out[k] = int(v.split()[0])
        elif k == "State":
            out[k] = v.strip()[:1]
    return out


def children(pid):
    kids = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def capture_dir_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"CLTRACE_DIR="):
                    return item.split(b"=", 1)[1].decode()
    except OSError:
        pass
    return None


def dir_size(path):
    """(apparent bytes, allocated bytes, files) of the regular files directly in path, or None."""
    try:
        names = os.listdir(path)
    except OSError:
        return None
    app = alloc = n = 0
    for name in names:
        try:
            st = os.stat(os.path.join(path, name))
        except OSError:
            continue
        app += st.st_size
        alloc += st.st_blocks * 512
        n += 1
    return app, alloc, n


def slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


@dataclass
class Watched:
    t0: float                                   # when watch() started (monotonic)
    end: float = 0.0                            # when proc exited
    child: Optional[int] = None                 # the program's pid
    child_start: Optional[float] = None         # when it was found
    child_end: Optional[float] = None           # when it was found gone or a zombie
    samples: List[Tuple[float, Dict[str, int]]] = field(default_factory=list)   # (s since child_start, status)
    parent_peak: Dict[str, int] = field(default_factory=dict)   # the cltrace process's largest of each field, kB
    cap_max: Tuple[int, int, int] = (0, 0, 0)   # the capture directory's largest (apparent, allocated, files)


def watch(proc, program: str, interval: float, traced: bool = True, t0: Optional[float] = None,
          fast_s: Optional[float] = None) -> Watched:
    """Poll until proc exits (see the module). fast_s: poll every 0.05 s in the program's first fast_s seconds
    and every 0.2 s otherwise (a long run); None: every 0.05 s throughout."""
    w = Watched(t0=time.monotonic() if t0 is None else t0)
    if not traced:
        w.child, w.child_start = proc.pid, w.t0
    exe = os.path.realpath(program)
    cap_dir = None
    next_sample = w.t0

    def size_capture():
        if cap_dir:
            ds = dir_size(cap_dir)
            if ds and ds[0] >= w.cap_max[0]:
                w.cap_max = ds

    while True:
        now = time.monotonic()
        if w.child is None:
            for k in children(proc.pid):
                if exe_of(k) == exe:
                    w.child, w.child_start = k, now
                    break
        if traced and cap_dir is None and w.child is not None:
            cap_dir = capture_dir_of(w.child)
        if now >= next_sample:
            next_sample += interval
            if w.child is not None and w.child_end is None:
                st = status(w.child)
                if st and st.get("State") != "Z" and "VmRSS" in st:
                    w.samples.append((now - w.child_start, st))
            if traced:
                pst = status(proc.pid)
                if pst and "VmRSS" in pst:
                    for k in STATUS_FIELDS:
                        w.parent_peak[k] = max(w.parent_peak.get(k, 0), pst.get(k, 0))
        size_capture()
        if traced and w.child is not None and w.child_end is None:
            st = status(w.child)
            if st is None or st.get("State") == "Z":
                w.child_end = time.monotonic()
                size_capture()                       # its final size, before the ingest removes it
        if proc.poll() is not None:
            break
        if fast_s is None:
            time.sleep(0.05)
        else:
            early = w.child is not None and w.child_end is None and now - w.child_start < fast_s
            time.sleep(0.05 if early else 0.2)
    w.end = time.monotonic()
    return w
