"""The shim grows the descriptor table at its initialisation, while the process still has one thread: growing
it once the driver's threads run waits for an RCU grace period (the kernel's expand_fdtable), which cost every
traced run 12-15 ms of wall time (docs/scale.md)."""
import shutil
import sqlite3

import pytest


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (./dev setup installs it)")
@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_the_high_descriptor_table_is_grown_before_the_first_thread(tmp_path, programs, cli, mode):
    log = tmp_path / "strace.log"
    # strace runs the program: cltrace's settings reach the program through strace's environment (in preload
    # mode the shim also loads, inert, into strace, which makes no OpenCL call)
    p = cli("run", "-q", "--mode", mode, "-o", "t.db", "--", "strace", "-f", "-o", str(log),
            "-e", "trace=fcntl,clone,clone3", programs("loop"), "10", "2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM launches").fetchone()[0] == 20     # traced as usual
    calls = [ln for ln in log.read_text().splitlines() if "F_DUPFD_CLOEXEC" in ln or "CLONE_THREAD" in ln]
    dups = [i for i, ln in enumerate(calls) if "F_DUPFD_CLOEXEC" in ln]
    threads = [i for i, ln in enumerate(calls) if "CLONE_THREAD" in ln]
    assert dups and threads, calls          # PoCL starts its threads; the capture file is dup'ed high
    assert dups[0] < threads[0], calls
