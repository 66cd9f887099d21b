"""cltrace network --runtime acl: Arm Compute Library 20.08 (Debian's arm64 build) under qemu-user on PoCL
(docs/acl.md), one tiny layer at 2 distances; what is checked are ACL's dispatches (kernel names, regions, the
device it was told), never the emulator's timings. Needs ./dev acl's sysroot and bench, else skipped saying so;
the bad-input checks need nothing."""
import json
import os
import sqlite3


from test_acl import acl_ready, needs_acl  # noqa: F401  (acl_ready: the fixture needs_acl names)
from onnx_models import tiny_model

FAST = ["--runtime", "acl", "--iters", "1", "--warmup", "1", "--scale", "1", "--repeat", "1", "--distances", "0:1",
        "-q"]


@needs_acl
def test_acl_sweep_records_acls_dispatches(tmp_path, cli):
    model = tiny_model(tmp_path / "one.onnx", [("c1", 8, 3, 1, 1, 1)], size=8)
    p = cli("network", model, *FAST, "-o", "acl.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert ("cltrace: runtime: ACL under qemu-user on PoCL, told it runs on Mali-G72: ACL's own dispatches, the "
            "emulator's timings (each run is marked emulated)") in p.stderr.splitlines()
    db = sqlite3.connect(tmp_path / "acl.db")
    assert db.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
    runs = [r[0] for r in db.execute("SELECT run_id FROM runs WHERE status = 'ok'")]
    assert len(runs) == 2
    emulated = [json.loads(v) for (v,) in db.execute("SELECT message FROM notes WHERE kind = 'emulation'")]
    assert len(emulated) == 2 and {e["arch"] for e in emulated} == {"aarch64"}
    rows = db.execute("""SELECT l.kernel_name, r.tags, c.value FROM launches l
                         JOIN regions r ON r.region_id = l.region_id
                         JOIN run_tags c ON c.run_id = l.run_id AND c.key = 'channels'
                         WHERE r.name NOT LIKE '%.warmup'""").fetchall()
    by_channels = {}
    for kernel, tags, channels in rows:
        t = json.loads(tags)
        assert (t["device"], t["method"], t["channels"]) == ("Mali-G72", "gemm", channels)
        by_channels.setdefault(channels, set()).add(kernel)
    assert sorted(by_channels) == ["7", "8"]
    for kernels in by_channels.values():     # ACL's GEMM convolution (im2col, a Bifrost GEMM, col2im)
        assert any(k.startswith("gemm_mm_") and k.endswith("_bifrost") for k in kernels), kernels
        assert "col2im" in kernels and any(k.startswith("im2col") for k in kernels), kernels


def test_acl_runtime_bad_input_one_line_nothing_written(tmp_path, cli):
    tiny_model(tmp_path / "one.onnx", [("c1", 8, 3, 1, 1, 1)], size=8)
    before = set(os.listdir(tmp_path))
    p = cli("network", "one.onnx", "--runtime", "acl", "--method", "tiled", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (2, "cltrace: --method tiled: ACL's methods are gemm and direct\n")
    p = cli("network", "one.onnx", "--acl-device", "Mali-T628", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (2, "cltrace: --acl-device names the device of --runtime acl: give "
                                           "--runtime acl too\n")
    missing = tmp_path / "no-such-bench"
    p = cli("network", "one.onnx", *FAST, "--acl-bench", missing, cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.splitlines()[-1] == (f"cltrace: --runtime acl: the aarch64 acl_conv_bench is missing ({missing}): "
                                         f"run ./dev acl (scripts/acl_sysroot.sh and make -C examples acl-aarch64)")
    assert set(os.listdir(tmp_path)) == before
