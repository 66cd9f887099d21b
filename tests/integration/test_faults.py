"""Fault injection (issue 14): whatever happens to the capture, the traced program behaves as untraced, and
no completed run is lost. Real processes under the real shim on PoCL; each fault takes seconds.

Faults that need a tiny filesystem mount a tmpfs in a private mount namespace (`unshare -m`, root only);
the setgid case needs root too. Without root those tests are skipped.
"""
import os
import re
import shutil
import signal
import sqlite3
import stat
import shlex
import subprocess
import sys
import time

import pytest

CLTRACE = [sys.executable, "-m", "cltrace.cli.main"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cltrace(*args, cwd=None, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(CLTRACE + [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=full_env,
                       timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def query(db, sql):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _can_mount_tmpfs():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    p = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m cltrace-probe /mnt"],
                       capture_output=True)
    return p.returncode == 0


needs_tmpfs = pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs root and unshare -m to mount a tmpfs")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (setgid copy of a test program)")


def on_tiny_tmpfs(mount_point, size, argv, env_dir=None):
    """argv (a cltrace command line) run in a private mount namespace with a `size` tmpfs on mount_point;
    TMPDIR=mount_point when env_dir is None (the capture directory lands there)."""
    os.makedirs(mount_point, exist_ok=True)
    script = 'mount -t tmpfs -o size="$1" cltrace-fault "$2" && shift 2 && exec "$@"'
    env = dict(os.environ)
    if env_dir is None:
        env["TMPDIR"] = str(mount_point)
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", size, str(mount_point)] + [str(a) for a in argv],
                          capture_output=True, text=True, env=env, timeout=120, cwd=os.path.dirname(mount_point))


# --- 1. the program closes the shim's descriptor and reuses its number ------------------------------------
@pytest.mark.parametrize("mode", ["layer", "preload"])
@pytest.mark.parametrize("file_kb", [2048, 8])
def test_closed_capture_fd_never_touches_the_programs_file(tmp_path, programs, mode, file_kb):
    out = tmp_path / "user.out"
    p = cltrace("run", "-o", tmp_path / "t.db", "--mode", mode, "--chunk-kb", "4", "--",
                programs("fdclose"), "3100", out, file_kb, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr                 # before: 135 (SIGBUS)
    assert p.stdout == f"file ok {file_kb * 1024}\nlaunched 3100\n"   # before: the file shrank, filled with CLTK
    assert out.stat().st_size == file_kb * 1024
    assert query(tmp_path / "t.db", "SELECT COUNT(*) FROM launch_rows") == [(3100,)]   # before: 37
    notes = query(tmp_path / "t.db", "SELECT kind, message FROM notes")
    assert ("info", "capture file descriptor closed by the program; the shim reopened its file") in notes


# --- 2. full capture disk, file size limit -----------------------------------------------------------------
@needs_tmpfs
def test_full_capture_disk_stops_recording_not_the_program(tmp_path, programs):
    db = tmp_path / "t.db"
    p = on_tiny_tmpfs(tmp_path / "mnt", "2m", CLTRACE + ["run", "-o", db, "--", programs("loop"), "100", "200"])
    assert p.returncode == 0, p.stderr                            # before: 135 (SIGBUS), 0 runs
    assert p.stdout.splitlines()[-2] == "finished 20000"
    lines = p.stderr.splitlines()
    assert len(lines) == 2, p.stderr
    assert re.fullmatch(r"cltrace: warning: \S+\.clt: recording stopped early: the capture disk is full "
                        r"\(no space left on device, ENOSPC\); read \d+ records \((\d+) launches\); \d+ later "
                        r"records could not be written; the program ran on unaffected; put TMPDIR on a disk "
                        r"with room", lines[0]), lines[0]
    n = int(re.search(r"\((\d+) launches\)", lines[0]).group(1))
    assert 0 < n < 20000
    assert lines[1] == (f"cltrace: {n} kernel launches from 1 process written to {db}"
                        + re.search(r" \(\d+ without device times\)", lines[1]).group(0)
                        + "; recording stopped early in 1 process (capture truncated)")
    assert query(db, "SELECT status, exit_status FROM runs") == [("ok", 0)]
    assert query(db, "SELECT COUNT(*) FROM launch_rows") == [(n,)]
    assert query(db, "SELECT COUNT(*) FROM notes WHERE kind = 'truncated'") == [(1,)]
    assert query(db, "SELECT clean_exit FROM processes") == [(1,)]


def test_file_size_limit_stops_recording_not_the_program(tmp_path, programs):
    # RLIMIT_FSIZE of 10 MB set in the traced process only, SIGXFSZ back to its default (Python ignores it)
    limit = 10_000 * 1024
    code = ("import os, resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_DFL); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); os.execv(sys.argv[1], sys.argv[1:])")
    db = tmp_path / "t.db"
    p = cltrace("run", "-o", db, "--", sys.executable, "-c", code, programs("loop"), "100", "1000", cwd=tmp_path)
    assert p.returncode == 0, p.stderr                             # before: 153 (SIGXFSZ)
    assert p.stdout.splitlines()[-2] == "finished 100000"
    assert "recording stopped early: the program's file size limit (ulimit -f) was reached (file too large, " \
           "EFBIG)" in p.stderr
    n = query(db, "SELECT COUNT(*) FROM launch_rows")[0][0]
    assert 0 < n < 100000
    assert query(db, "SELECT kind FROM notes WHERE kind = 'truncated'") == [("truncated",)]


# --- 3. setuid/setgid programs ------------------------------------------------------------------------------
@needs_root
def test_setgid_program_is_not_traced_in_layer_mode(tmp_path, programs):
    prog = tmp_path / "linked_setgid"
    shutil.copy(programs("linked"), prog)
    os.chown(prog, 0, 65534)                     # group nogroup: egid != rgid for root, so AT_SECURE
    os.chmod(prog, 0o2755)
    p = cltrace("run", "--mode", "layer", "-o", tmp_path / "t.db", "--", prog, "10", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("expected launches=10")
    assert p.stderr == (f"cltrace: warning: {prog} is setuid or setgid: the shim stays inert in it and records "
                        f"nothing; trace a copy without the setuid/setgid bit\n"
                        f"cltrace: 0 kernel launches from 0 processes written to {tmp_path / 't.db'}\n")
    assert query(tmp_path / "t.db", "SELECT COUNT(*) FROM processes") == [(0,)]   # before: 1, with 10 launches


# --- 4. Ctrl-C / SIGTERM during the ingest ------------------------------------------------------------------
KEPT = re.compile(r"cltrace: interrupted while recording the run into (?P<db>\S+); the capture files are kept in "
                  r"(?P<dir>\S+): record the run with: cltrace ingest (?P=dir) --append -o (?P=db)")


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return []


def _slow_ingest_env(tmp_path):
    """A private TMPDIR, and the pure-Python ingest (seconds for 300k launches: time to interrupt it)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp), "CLTRACE_NATIVE_STORE": "0", "CLTRACE_NATIVE_SCAN": "0"}


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT]], ids=["term", "int-int"])
def test_interrupt_during_ingest_keeps_the_captures(tmp_path, programs, signals):
    db = tmp_path / "t.db"
    env = _slow_ingest_env(tmp_path)
    proc = subprocess.Popen(CLTRACE + ["run", "-o", str(db), "--", programs("loop"), "1000", "300"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("loop_s"):      # the program is done: cltrace is about to ingest 300k launches
            break
    # a signal sent while the program still writes its capture at exit goes to the program (cltrace passes it
    # on), not to the ingest: wait until cltrace has reaped it (it has no child left)
    deadline = time.monotonic() + 30
    while _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    for s in signals:
        proc.send_signal(s)
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr                          # before: 130, 0 runs, captures deleted
    m = KEPT.fullmatch(stderr.strip())
    assert m, stderr
    kept = m.group("dir")
    assert m.group("db") == str(db)
    assert os.path.isdir(kept) and any(n.endswith(".clt") for n in os.listdir(kept))
    assert query(db, "SELECT COUNT(*) FROM runs") == [(0,)]
    # the one command it printed records the run as it was
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")   # the `cltrace` script
    p = subprocess.run(["sh", "-c", stderr.strip().split("record the run with: ", 1)[1]], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == f"cltrace: 300000 kernel launches from 1 process written to {db}"
    assert query(db, "SELECT command, exit_status, status FROM runs") == [
        (f"{programs('loop')} 1000 300", 0, "ok")]
    assert query(db, "SELECT COUNT(*) FROM launch_rows") == [(300000,)]


# --- 5. SIGKILL of cltrace run --------------------------------------------------------------------------------
def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _running(pid):
    """Alive and not a zombie (an orphan is reparented; nobody here may reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_of_cltrace_ends_the_program_and_the_next_run_says_how_to_recover(tmp_path, programs):
    db = tmp_path / "t.db"
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen(CLTRACE + ["run", "-o", str(db), "--", programs("loop"), "100"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("finished 500"):
            break
    child = _children(proc.pid)
    assert len(child) == 1
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while _running(child[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child[0]), "the traced program outlived cltrace"   # before: it ran on, writing on
    kept = [d for d in os.listdir(tmp_path / "tmp") if d.startswith("cltrace-")]
    assert len(kept) == 1
    kept = str(tmp_path / "tmp" / kept[0])
    p = cltrace("run", "-o", tmp_path / "other.db", "--", programs("linked"), "3", cwd=tmp_path, env=env)
    assert p.returncode == 0
    notice = p.stderr.splitlines()[0]
    assert re.fullmatch(rf"cltrace: note: captures of an unfinished run are left in {re.escape(kept)} \([\d.]+ [kM]B, "
                        rf"{re.escape(programs('loop'))} 100\): recover them with 'cltrace ingest {re.escape(kept)} "
                        rf"--append -o {re.escape(str(db))}', or delete them with 'rm -r {re.escape(kept)}'",
                        notice), notice
    p = cltrace("ingest", kept, "--append", "-o", db, cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[-1] == (f"cltrace: recorded the run of {kept}; the directory can be deleted: "
                                         f"rm -r {kept}")
    (command, status), = query(db, "SELECT command, status FROM runs")
    assert (command, status) == (f"{programs('loop')} 100", "interrupted")
    assert query(db, "SELECT COUNT(*) >= 500 FROM launch_rows") == [(1,)]
    p = cltrace("run", "-o", tmp_path / "third.db", "--", programs("linked"), "3", cwd=tmp_path, env=env)
    assert "note:" not in p.stderr             # recorded: no longer a leftover


# --- 6. the trace's disk is full --------------------------------------------------------------------------------
@needs_tmpfs
def test_full_trace_disk_keeps_the_captures_and_the_trace(tmp_path, programs):
    mnt = tmp_path / "mnt"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    script = (f"{' '.join(CLTRACE)} run -q -o {mnt}/t.db -- {programs('linked')} 5 >/dev/null 2>&1 || exit 9; "
              f"{' '.join(CLTRACE)} run --append -o {mnt}/t.db -- {programs('loop')} 100 400 >/dev/null "
              f"2>{tmp_path}/err; "
              f"echo $? > {tmp_path}/rc; cp {mnt}/t.db {tmp_path}/copy.db")
    # room for an empty trace (16 KiB pages: 272 KB) and a 5-launch run, not for 40,000 more launches
    p = on_tiny_tmpfs(mnt, "1200k", ["sh", "-c", script], env_dir=False)
    assert p.returncode == 0, p.stdout + p.stderr
    err = (tmp_path / "err").read_text()
    assert (tmp_path / "rc").read_text().strip() == "1"             # before: 1, but the captures were deleted
    m = re.fullmatch(rf"cltrace: cannot write {mnt}/t.db: no space left on device; the trace is as it was before "
                     rf"this run; the capture files are kept in (\S+): record the run with: cltrace ingest \1 "
                     rf"--append -o {mnt}/t.db\n", err)
    assert m, err                                                    # before: "no such savepoint: cltrace_tx"
    assert os.path.isdir(m.group(1))
    copy = tmp_path / "copy.db"
    assert query(copy, "PRAGMA integrity_check") == [("ok",)]
    assert query(copy, "SELECT COUNT(*) FROM runs") == [(1,)]
    p = cltrace("ingest", m.group(1), "--append", "-o", copy, cwd=tmp_path, env={"TMPDIR": str(tmp)})
    assert p.returncode == 0, p.stderr
    assert query(copy, "SELECT COUNT(*) FROM launch_rows") == [(40005,)]


# --- 7. two writers of one trace ----------------------------------------------------------------------------------
BUSY = "cltrace: {} is being written by another cltrace: wait for it to finish, or write to another file with -o\n"


def _hold(stop):
    """A command that runs until the file `stop` appears: a writer that holds the trace as long as the test
    needs, however slowly the other cltrace processes start."""
    return ["sh", "-c", f"while [ ! -e '{stop}' ]; do sleep 0.05; done"]


def test_second_writer_of_a_trace_is_refused(tmp_path, programs):
    db, stop = tmp_path / "same.db", tmp_path / "stop"
    first = subprocess.Popen(CLTRACE + ["run", "-f", "-o", str(db), "--", *_hold(stop)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not db.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        for flags in (["-f"], ["--append"]):
            p = cltrace("run", *flags, "-o", db, "--", programs("linked"), "2", cwd=tmp_path)
            assert p.returncode == 1, p.stderr                           # before: 0, and one of the runs lost
            assert p.stderr == BUSY.format(db)
    finally:
        stop.touch()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert query(db, "SELECT command FROM runs") == [(" ".join(shlex.quote(a) for a in _hold(stop)),)]


def test_two_writers_started_together_one_wins(tmp_path):
    db, stop = tmp_path / "same.db", tmp_path / "stop"
    procs = [subprocess.Popen(CLTRACE + ["run", "-f", "-o", str(db), "--", *_hold(stop), f"writer{i}"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in (1, 2)]
    try:
        deadline = time.monotonic() + 60                  # the loser stops at once; the winner holds the trace
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.touch()
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 1], results       # before: both 0, one run in the file
    assert next(e for rc, e in results if rc == 1) == BUSY.format(db)
    winner = next(i for i, (rc, _) in zip((1, 2), results) if rc == 0)
    (command,), = query(db, "SELECT command FROM runs")
    assert command.endswith(f"writer{winner}")


# --- 8. -f on what is not a trace ----------------------------------------------------------------------------------
def test_force_refuses_a_fifo(tmp_path, programs):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = cltrace("run", "-f", "-o", fifo, "--", programs("linked"), "2", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == (f"cltrace: {fifo} is a FIFO: cltrace writes traces only to regular files "
                        f"(give -o a file path)\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)                     # before: deleted


@needs_root
def test_force_refuses_a_device_node(tmp_path, programs):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    p = cltrace("run", "-f", "-o", node, "--", programs("linked"), "2", cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr == (f"cltrace: {node} is a character device: cltrace writes traces only to regular files "
                        f"(give -o a file path)\n")
    assert stat.S_ISCHR(os.lstat(node).st_mode)                      # before: deleted


def test_force_keeps_the_old_trace_when_the_command_does_not_exist(tmp_path, programs):
    db = tmp_path / "t.db"
    assert cltrace("run", "-q", "-o", db, "--", programs("linked"), "2", cwd=tmp_path).returncode == 0
    before = db.read_bytes()
    p = cltrace("run", "-f", "-o", db, "--", "no-such-program-xyz", cwd=tmp_path)
    assert p.returncode == 127
    assert p.stderr == "cltrace: no-such-program-xyz: command not found\n"
    assert db.read_bytes() == before                                  # before: replaced by an empty trace
    assert query(db, "SELECT COUNT(*) FROM runs") == [(1,)]


# --- 10. a trace on read-only media ------------------------------------------------------------------------------
@needs_tmpfs
def test_trace_on_read_only_media_can_be_read(tmp_path, programs):
    db = tmp_path / "t.db"
    assert cltrace("run", "-q", "-o", db, "--", programs("linked"), "4", cwd=tmp_path).returncode == 0
    mnt = tmp_path / "ro"
    code = f"import cltrace; print(len(cltrace.open({str(mnt / 't.db')!r}).launches))"
    script = (f"cp {db} {mnt}/ && mount -o remount,ro {mnt} && cd {tmp_path} && {sys.executable} -c \"{code}\" && "
              f"{' '.join(CLTRACE)} report {mnt}/t.db >/dev/null")
    p = on_tiny_tmpfs(mnt, "4m", ["sh", "-c", script], env_dir=False)
    assert p.returncode == 0, p.stderr                  # before: "... is not a SQLite database"
    assert p.stdout == "4\n"
    assert p.stderr == ""


# --- 12. long kernel names --------------------------------------------------------------------------------------
def test_long_kernel_names_are_kept_or_visibly_cut(tmp_path, programs):
    db = tmp_path / "t.db"
    p = cltrace("run", "-o", db, "--chunk-kb", "4", "--", programs("longname"), "300", "0", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    name = "k" + "".join(str(i % 10) for i in range(1, 300))
    assert query(db, "SELECT name FROM kernels") == [(name,)]           # before: ''
    # longer than a record may carry (a quarter of the 4 KiB chunk): cut, and says so
    p = cltrace("run", "-f", "-o", db, "--chunk-kb", "4", "--", programs("longname"), "1500", "0", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    (stored,), = query(db, "SELECT name FROM kernels")
    assert len(stored) == 1024 and stored.endswith("...[cut: 1500 bytes]")
    assert stored[:1000] == ("k" + "".join(str(i % 10) for i in range(1, 1500)))[:1000]


# --- 13. odd capture inputs ----------------------------------------------------------------------------------------
def test_ingest_refuses_a_fifo_and_ingests_a_file_once(tmp_path, programs):
    cap = tmp_path / "cap"
    cap.mkdir()
    env = {"CLTRACE_DIR": str(cap), "CLTRACE_MODE": "layer",
           "OPENCL_LAYERS": os.path.join(ROOT, "cltrace", "_native", "libcltrace_layer.so")}
    subprocess.run([programs("linked"), "6"], env={**os.environ, **env}, check=True, capture_output=True)
    (clt,) = [cap / n for n in os.listdir(cap)]
    fifo = tmp_path / "x.clt"
    os.mkfifo(fifo)
    p = cltrace("ingest", fifo, "-o", tmp_path / "a.db", cwd=tmp_path, timeout=30)   # before: hangs
    assert p.returncode == 1
    assert p.stderr == f"cltrace: {fifo} is not a regular file: a capture file is a regular *.clt file\n"
    p = cltrace("ingest", clt, clt, "-o", tmp_path / "b.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[0] == f"cltrace: warning: {clt} was given more than once: ingested once"
    assert query(tmp_path / "b.db", "SELECT COUNT(*) FROM launch_rows") == [(6,)]    # before: 12


# --- 14. absurd option values ---------------------------------------------------------------------------------------
def test_sweep_refuses_an_absurd_plan_before_building_it(tmp_path):
    t0 = time.monotonic()
    p = cltrace("sweep", "-p", "x=1:100000000", "--dry-run", "--", "echo", "{x}", cwd=tmp_path, timeout=60)
    assert time.monotonic() - t0 < 20                   # before: 2.5 GB and minutes before the first line
    assert p.returncode == 2
    assert p.stderr == ("cltrace: -p x=1:100000000: 100,000,000 values, more than a sweep can run (at most "
                        "100,000 per parameter); narrow the range or give a step (a:b:step)\n")
    p = cltrace("sweep", "-p", "x=1:1000", "-p", "y=1:1000", "--dry-run", "--", "echo", "{x}", "{y}", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == ("cltrace: the sweep would plan 3,000,000 runs (x: 1,000 values, y: 1,000 values, "
                        "3 repeats), more than 1,000,000: narrow the ranges or give a step (a:b:step)\n")


# --- 15. trace files are private -------------------------------------------------------------------------------------
def test_trace_files_are_created_private(tmp_path, programs):
    db = tmp_path / "t.db"
    old = os.umask(0o022)
    try:
        p = cltrace("run", "-q", "-o", db, "--", programs("linked"), "2", cwd=tmp_path)
    finally:
        os.umask(old)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600                  # before: 0644


# --- 9. terminal escapes in cltrace run's and sweep's own lines ----------------------------------------------
def test_sweep_failed_lines_escape_terminal_controls(tmp_path):
    evil = "\x1b]0;pwned\x07\x1b[2J"
    code = "import sys; sys.stderr.write(sys.argv[1] + '\\n'); sys.exit(3)"
    p = cltrace("sweep", "-q", "--repeat", "1", "-p", f"x={evil}", "-o", tmp_path / "s.db", "--", sys.executable,
                "-c", code, "{x}", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "\x1b" not in p.stderr and "\x07" not in p.stderr          # before: both reached the terminal
    assert "  failed: x=\\x1b]0;pwned\\x07\\x1b[2J (exit 3): \\x1b]0;pwned\\x07\\x1b[2J" in p.stderr


# --- 11. launches still running at exit --------------------------------------------------------------------------
def test_launches_running_at_exit_are_pending_at_exit_and_the_note_counts_them(tmp_path, programs):
    """--max-pending 16 and no clFinish: the shim hands the overflow to completion callbacks, and the program
    exits with most launches still queued. Before: 136,313 'missing', 239 'pending-at-exit', a note of 239."""
    p = cltrace("run", "-o", "t.db", "--max-pending", "16", "--", programs("nofinish"), "2000", "65536",
                cwd=tmp_path)
    # PoCL 3.1 itself often dies in its exit handlers when a program leaves with commands in flight (untraced:
    # SIGSEGV or SIGABRT in 9 of 9 runs here); cltrace passes that status on. The shim's exit flush runs first.
    assert p.returncode in (0, 128 + signal.SIGSEGV, 128 + signal.SIGABRT), p.stderr
    statuses = dict(query(tmp_path / "t.db", "SELECT times_status, COUNT(*) FROM launches GROUP BY times_status"))
    assert sum(statuses.values()) == 2000
    assert set(statuses) <= {"ok", "pending-at-exit"}, statuses
    notes = query(tmp_path / "t.db", "SELECT value FROM notes WHERE kind = 'pending-at-exit'")
    pending = statuses.get("pending-at-exit", 0)
    # a callback may still complete a launch after the exit note counted it: never fewer in the note
    assert (notes and notes[0][0] >= pending) if pending else notes in ([], [(0,)])


# --- already good: keep it so ---------------------------------------------------------------------------------------
def test_sql_in_tags_is_stored_literally(tmp_path, programs):
    evil = "x'); DROP TABLE runs; --"
    p = cltrace("run", "-o", "t.db", "--tag", f"name={evil}", "--tag", "channels=92", "--", programs("linked"), "3",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert query(tmp_path / "t.db", "SELECT COUNT(*) FROM runs") == [(1,)]
    assert sorted(query(tmp_path / "t.db", "SELECT key, value FROM run_tags")) == [("channels", "92"), ("name", evil)]
