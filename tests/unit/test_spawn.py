"""capture/launcher.py: spawn() through the cltrace-exec helper, and CaptureDirs (one capture directory per sweep)."""
import os
import subprocess
import sys

import pytest

from cltrace.capture import launcher, layer_notes
from cltrace.capture.launcher import CaptureDirs, clear_capture_dir, is_clear, spawn

HELPER = launcher._exec_helper()
needs_helper = pytest.mark.skipif(HELPER is None, reason="cltrace-exec not built (pip install -e .)")

# what the program sees: its descriptors, its parent, its own executable and argv
PROBE = ("import os, sys; print(sorted(int(f) for f in os.listdir('/proc/self/fd')));"
         "print(os.getppid()); print(os.path.realpath('/proc/self/exe')); print(sys.argv[1:])")


def _probe(tmp_path, **kw):
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        proc = spawn([sys.executable, "-c", PROBE, "a b", "c"], dict(os.environ), stdout=f,
                     stderr=subprocess.DEVNULL, **kw)
        assert proc.wait() == 0
    return out.read_text().splitlines()


@needs_helper
def test_the_program_sees_what_a_plain_popen_gives_it(tmp_path):
    fds, ppid, exe, args = _probe(tmp_path)
    assert fds == "[0, 1, 2, 3]"        # 3: the directory listdir reads; the helper's pipe end is gone
    assert int(ppid) == os.getpid()     # the helper exec'd the program in place: cltrace is its parent
    assert exe == os.path.realpath(sys.executable)
    assert args == "['a b', 'c']"


@needs_helper
def test_the_same_descriptors_as_a_plain_popen(tmp_path):
    out = tmp_path / "plain.txt"
    with open(out, "w") as f:
        subprocess.run([sys.executable, "-c", PROBE, "a b", "c"], stdout=f, stderr=subprocess.DEVNULL, check=True)
    assert out.read_text().splitlines()[0] == _probe(tmp_path)[0]


@needs_helper
def test_the_death_signal_is_set(tmp_path):
    """PR_GET_PDEATHSIG in the program reads SIGTERM (15)."""
    code = ("import ctypes, ctypes.util; libc = ctypes.CDLL(None); v = ctypes.c_int();"
            "libc.prctl(2, ctypes.byref(v), 0, 0, 0); print(v.value)")
    out = tmp_path / "sig.txt"
    with open(out, "w") as f:
        assert spawn([sys.executable, "-c", code], dict(os.environ), stdout=f).wait() == 0
    assert out.read_text().strip() == "15"


@needs_helper
def test_program_found_on_the_childs_path_and_in_its_cwd(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "hello-cltrace"
    script.write_text("#!/bin/sh\npwd > out.txt\n")
    script.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PATH=f"{tmp_path / 'nothing'}:{bindir}")
    assert spawn(["hello-cltrace"], env, cwd=str(work)).wait() == 0
    assert (work / "out.txt").read_text().strip() == str(work)


@pytest.mark.parametrize("helper", [True, False], ids=["cltrace-exec", "preexec_fn"])
def test_not_found_and_not_executable_raise_as_popen_does(tmp_path, monkeypatch, helper):
    if helper and HELPER is None:
        pytest.skip("cltrace-exec not built")
    if not helper:
        monkeypatch.setattr(launcher, "_exec_helper", lambda: None)
    with pytest.raises(FileNotFoundError):
        spawn([str(tmp_path / "missing")], dict(os.environ))
    with pytest.raises(FileNotFoundError):
        spawn(["cltrace-no-such-program"], dict(os.environ, PATH=str(tmp_path)))
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program\n")
    with pytest.raises(PermissionError):
        spawn([str(plain)], dict(os.environ))


@needs_helper
def test_helper_usage_error():
    p = subprocess.run([HELPER], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr == "usage: cltrace-exec PARENT_PID ERROR_FD PROGRAM [ARG...]\n"


# --- CaptureDirs ------------------------------------------------------------------------------------------

def test_capture_dir_is_reused_once_cleared(tmp_path):
    with CaptureDirs(str(tmp_path)) as dirs:
        d = dirs.take()
        assert os.path.basename(d).startswith("cltrace-") and oct(os.stat(d).st_mode & 0o777) == "0o700"
        notes = layer_notes.prepare(d)
        (tmp_path / d / "p1-2.clt").write_bytes(b"x" * 100)
        (tmp_path / d / ".cltrace-run.json").write_text("{}")
        with open(os.path.join(notes, "split.json"), "w") as f:
            f.write("{}")
        assert not is_clear(d)
        assert dirs.clear(d)
        assert os.listdir(d) == [layer_notes.LAYER_NOTES_SUBDIR] and os.listdir(notes) == []
        assert dirs.take() == d
    assert not os.path.exists(d)        # close() removes it, and the trash once its unlinks are done
    assert os.listdir(tmp_path) == []


def test_clear_capture_dir_without_a_trash(tmp_path):
    d = launcher.make_capture_dir(str(tmp_path))
    notes = layer_notes.prepare(d)
    (tmp_path / d / "p1-2.clt").write_bytes(b"x")
    (tmp_path / d / "sub").mkdir()
    with open(os.path.join(notes, "split.json"), "w") as f:
        f.write("{}")
    assert clear_capture_dir(d) and is_clear(d)


def test_a_capture_dir_with_files_left_is_never_handed_out_again(tmp_path):
    dirs = CaptureDirs(str(tmp_path))
    d = dirs.take()
    (tmp_path / d / "p1-2.clt").write_bytes(b"kept: a run that could not be recorded")
    d2 = dirs.take()
    assert d2 != d and is_clear(d2)
    dirs.close()
    assert os.path.exists(d2) is False
    assert os.listdir(d) == ["p1-2.clt"]     # never deleted with its captures in it


@pytest.mark.parametrize("helper", [True, False], ids=["cltrace-exec", "preexec_fn"])
def test_run_traced_reports_not_found_and_not_executable(tmp_path, monkeypatch, helper):
    if helper and HELPER is None:
        pytest.skip("cltrace-exec not built")
    if not helper:
        monkeypatch.setattr(launcher, "_exec_helper", lambda: None)
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program\n")
    for argv, want in (([str(tmp_path / "missing")], ("not-found", 127)), ([str(plain)], ("not-executable", 126)),
                       (["sh", "-c", "exit 3"], ("failed", 3))):
        child = launcher.run_traced(argv, capture_dir=launcher.make_capture_dir(str(tmp_path)))
        assert (child.status, child.exit_status) == want


@needs_helper
def test_exec_error_after_wait():
    proc = spawn(["cltrace-no-such-program"], dict(os.environ, PATH="/nonexistent"), wait_for_exec=False)
    assert proc.wait() == 127
    err = launcher.exec_error(proc)
    assert isinstance(err, FileNotFoundError) and err.filename == "cltrace-no-such-program"
    assert launcher.exec_error(proc) is None        # read once
    ok = spawn(["true"], dict(os.environ), wait_for_exec=False)
    assert ok.wait() == 0 and launcher.exec_error(ok) is None
