"""The shim grows its capture file ahead by as many chunks as it already has (at most 64), not 64 chunks at once:
a short run's file is no longer than the chunks it used (a sparse tail costs zeroed page cache in the program,
the reader and the unlink), and a long run's at most about twice that. Every record is still read back."""
import os
import subprocess

import pytest

from cltrace.capture.format import FILE_HEADER_SIZE
from cltrace.capture.modes import shim_environment
from cltrace.capture.reader import open_capture


def _capture(tmp_path, argv, mode, chunk_kb):
    cap = tmp_path / "cap"
    cap.mkdir()
    env = shim_environment(mode, str(cap), {"CLTRACE_CHUNK_KB": str(chunk_kb)}, os.environ)
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    files = sorted(cap.iterdir())
    assert len(files) == 1, files
    return files[0]


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_a_short_runs_file_is_the_one_chunk_it_used(tmp_path, programs, mode):
    path = _capture(tmp_path, [programs("linked"), "10"], mode, 256)
    with open_capture(path) as c:
        assert c.launches == 10 and not c.problems
        chunk = c.header["chunk_size"]
        assert chunk == 256 * 1024
    assert path.stat().st_size == FILE_HEADER_SIZE + chunk     # before: 65 chunks (17 MB)


@pytest.mark.parametrize("mode", ["layer", "preload"])
@pytest.mark.parametrize("batches", [3, 30])
def test_a_longer_runs_file_grows_by_doubling(tmp_path, programs, mode, batches):
    path = _capture(tmp_path, [programs("loop"), "100", str(batches)], mode, 4)    # 100 launches a batch, 4 KiB chunks
    with open_capture(path) as c:
        assert c.launches == 100 * batches and not c.problems
        chunk = c.header["chunk_size"]
        used = len({int(o - FILE_HEADER_SIZE) // chunk for o in c.offsets})
    size = path.stat().st_size
    assert (size - FILE_HEADER_SIZE) % chunk == 0
    chunks = (size - FILE_HEADER_SIZE) // chunk
    # grown last when the file needed k <= used chunks, to k + min(k - 1, 64): before, k + 64 at every growth
    assert used <= chunks <= used + min(used - 1, 64), (used, chunks)
    assert used > 1 and (batches == 30) == (used > 64), used
