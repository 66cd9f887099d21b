"""Threads, children, deaths, transparency, odd programs: nothing lost, nothing changed."""
import glob
import os
import signal
import sys

import pytest

from cltrace.pytest_plugin import python_command


@pytest.mark.parametrize("mode, chunk_kb", [("layer", None), ("preload", None), ("layer", "4"), ("preload", "4")])
def test_eight_threads_thousand_launches_each(cltrace_run, programs, mode, chunk_kb):
    """4 KiB chunks: each thread's staging chunk fills and is copied out ~35 times."""
    settings = {"CLTRACE_CHUNK_KB": chunk_kb} if chunk_kb else None
    trace = cltrace_run([programs("threads"), "8", "1000"], mode=mode, settings=settings)
    L = trace.launches
    assert len(L) == 8000
    assert L["seq"].is_unique
    assert L["tid"].nunique() == 8
    assert L.groupby("tid").size().tolist() == [1000] * 8
    assert (L["times_status"] == "ok").all()


def test_threads_own_out_of_order_queues(cltrace_run, programs):
    trace = cltrace_run([programs("threads"), "4", "500", "own", "ooo"])
    L = trace.launches
    assert len(L) == 2000 and L["seq"].is_unique and L["queue_id"].nunique() == 4
    assert L["duration_ns"].notna().all()


def test_forked_child_is_traced_into_its_own_process(cltrace_run, programs):
    trace = cltrace_run([programs("forker"), "20", "fork"])
    P = trace.processes
    assert len(P) == 2
    assert sorted(trace.launches.groupby("process_id").size().tolist()) == [20, 20]


def test_exec_gives_a_new_process_image(cltrace_run, programs):
    trace = cltrace_run([programs("forker"), "15", "exec"])
    assert len(trace.processes) == 2
    assert sorted(trace.launches.groupby("process_id").size().tolist()) == [15, 15]


def test_subprocess_child(cltrace_run, programs):
    code = f"import subprocess; subprocess.run([{programs('linked')!r}, '25'], check=True)"
    trace = cltrace_run(python_command(code))
    assert len(trace.launches) == 25
    assert len(trace.processes) >= 1


@pytest.mark.parametrize("death, status", [("abort", 128 + signal.SIGABRT), ("segv", 128 + signal.SIGSEGV),
                                           ("kill", 128 + signal.SIGKILL), ("exit", 7)])
@pytest.mark.parametrize("chunk_kb", [None, "4"])
def test_death_keeps_every_complete_launch(cltrace_run, programs, death, status, chunk_kb):
    settings = {"CLTRACE_CHUNK_KB": chunk_kb} if chunk_kb else None
    trace = cltrace_run([programs("crash"), "100", death], expect_exit=None, settings=settings)
    assert trace.exit_status == status      # "exit" is _exit(7): no atexit flush either
    L = trace.launches
    assert len(L) == 100
    assert L["duration_ns"].notna().all()     # the program finished its queue before dying
    assert trace.processes["clean_exit"].tolist() == [0]


def test_exit_status_passes_through(tmp_path, cli):
    p = cli("run", "-q", "--", sys.executable, "-c", "import sys; sys.exit(7)", cwd=tmp_path)
    assert p.returncode == 7 and p.stderr == ""
    p = cli("run", "-f", "-q", "--", sys.executable, "-c", "import os; os.kill(os.getpid(), 15)", cwd=tmp_path)
    assert p.returncode == 128 + 15


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_app_sees_its_own_queue_properties_and_profiling(tmp_path, programs, mode, cli):
    p = cli("run", "--mode", mode, "--", programs("noprofile"), cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK" in p.stdout and "MISMATCH" not in p.stdout


def test_extension_lookups_are_noted(cltrace_run, programs):
    trace = cltrace_run([programs("extfn")])
    notes = trace.notes
    assert (notes["kind"] == "ext-lookup").sum() == 3


def test_program_without_opencl(tmp_path, programs, cli):
    p = cli("run", "--", programs("nocl"), cwd=tmp_path)
    assert p.returncode == 0
    assert p.stderr == "cltrace: 0 kernel launches from 0 processes written to trace.db\n"
    r = cli("report", "trace.db", cwd=tmp_path)
    assert r.returncode == 0
    assert "no process loaded OpenCL through the shim" in r.stdout


def test_no_opencl_platform_at_all(tmp_path, programs, cli):
    """No ICD at all: the program fails to find a platform, the run is still recorded and explained."""
    env = {"OCL_ICD_VENDORS": str(tmp_path / "no-vendors")}
    p = cli("run", "--", programs("linked"), "5", cwd=tmp_path, env=env)
    assert p.returncode != 0
    r = cli("report", "trace.db", cwd=tmp_path)
    assert r.returncode == 0
    assert "launches           0" in r.stdout
    assert "why_no_launches" in r.stdout


@pytest.mark.parametrize("cut_at", ["inside a record", "on a record boundary"])
@pytest.mark.parametrize("paths", ["short", "long"])
def test_truncated_capture_is_ingested_up_to_the_damage(tmp_path, programs, cli, cut_at, paths):
    """A capture cut inside its first chunk keeps exactly the records before the cut, and says what it lost.

    The cut is found in the file, not at a fixed offset: the records before the launches carry strings
    (argv, cwd, the device's name) whose length depends on the host and on the clone's path. The program
    runs from a short and from a long working directory, under a short and a long argv[0]."""
    import subprocess

    import cltrace
    from cltrace import native
    from cltrace.capture import K, open_capture
    from cltrace.capture.reader import LAUNCH_TYPES
    cap = tmp_path / "cap"
    cap.mkdir(mode=0o700)
    run_dir, exe = tmp_path, programs("linked")
    if paths == "long":
        run_dir = tmp_path / ("c" * 120) / ("w" * 120)
        run_dir.mkdir(parents=True)
        os.symlink(exe, run_dir / ("linked-" + "x" * 150))
        exe = str(run_dir / ("linked-" + "x" * 150))
    env = {"CLTRACE_DIR": str(cap), "OPENCL_LAYERS": native.library(native.LAYER_LIB)}
    subprocess.run([exe, "300"], cwd=run_dir, env={**os.environ, **env}, check=True, capture_output=True)
    (path,) = glob.glob(str(cap / "*.clt"))
    data = open(path, "rb").read()
    with open_capture(path) as full:
        assert full.problems == [] and full.launches == 300
        process = next(full.iter_records())
        assert process.name == "process" and process.strings[:3] == (exe, "300", str(run_dir))
        offsets, types = full.offsets.tolist(), full.types.tolist()
        header_size, chunk_size = full.header["header_size"], full.header["chunk_size"]
        last_seq = full.header["last_seq"]           # the exit flush wrote the last record number given out
    ends = [o + int.from_bytes(data[o + 4:o + 8], "little") for o in offsets]
    launches = [o for o, t in zip(offsets, types) if t in LAUNCH_TYPES]
    # keep 200 launches: cut in the middle of the 201st launch record, or right where it starts
    first_lost = launches[200]
    cut = first_lost + ((ends[offsets.index(first_lost)] - first_lost) // 2 if cut_at == "inside a record" else 0)
    assert (cut - header_size) % chunk_size != 0          # inside a chunk (the first, on any host)
    open(path, "wb").write(data[:cut])
    kept = [(o, t) for o, t, e in zip(offsets, types, ends) if e <= cut]
    kept_launches = [o for o, t in kept if t in LAUNCH_TYPES]
    assert kept_launches == launches[:200]
    timed = sum(1 for o, t in kept if t == K.CLT_REC_LAUNCH_TIMES)
    lost = cut - first_lost
    seq = lambda o: int.from_bytes(data[o + 8:o + 16], "little")      # noqa: E731
    own = {seq(o) for o, t in kept if t != K.CLT_REC_LAUNCH_TIMES}
    orphans = {seq(o) for o, t in kept if t == K.CLT_REC_LAUNCH_TIMES} - own
    assert last_seq >= 300 + len(own) - 200                             # every launch got a number
    warning = (f"{path} is truncated: read {len(kept)} records (200 launches); the file ends at byte {cut}, inside "
               f"chunk {(cut - header_size) // chunk_size}; {lost} bytes after the last complete record could "
               f"not be read; {last_seq - len(own)} of the {last_seq} records the shim wrote (by sequence number) "
               f"are missing: the launches among them are lost" + (f", at least {len(orphans)}" if orphans else ""))

    p = cli("ingest", str(cap), "-o", "t.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines() == [
        f"cltrace: warning: {warning}",
        f"cltrace: 200 kernel launches from 1 process written to t.db ({200 - timed} without device times); "
        f"1 capture file truncated or damaged, {lost} bytes of capture could not be read"]
    trace = cltrace.open(str(tmp_path / "t.db"))
    L = trace.launches
    assert len(L) == 200 and L["seq"].is_unique
    assert sorted(L["seq"].tolist()) == [int.from_bytes(data[o + 8:o + 16], "little") for o in launches[:200]]
    notes = trace.notes
    note = notes[notes["kind"] == "truncated"]
    assert note["message"].tolist() == [warning] and note["value"].tolist() == [lost]
    assert trace.processes["truncated_bytes"].tolist() == [lost]


def test_run_warns_about_a_capture_cut_before_ingest(tmp_path, programs, cli):
    """`cltrace run` prints the same warning and keeps the same note when a capture was cut (here by the
    traced command itself, right at the start of its 101st launch record, after the program exited)."""
    code = ("import glob, json, os, subprocess, sys\n"
            "from cltrace.capture import K, open_capture\n"
            "subprocess.run([sys.argv[1], '150'], check=True, capture_output=True)\n"
            "(path,) = glob.glob(os.path.join(os.environ['CLTRACE_DIR'], '*.clt'))\n"
            "with open_capture(path) as cap:\n"
            "    cut = int(cap.offsets[cap.types == K.CLT_REC_LAUNCH_SMALL][100])\n"
            "    kept = int((cap.offsets < cut).sum())\n"
            "    own = int(((cap.offsets < cut) & (cap.types != K.CLT_REC_LAUNCH_TIMES)).sum())\n"
            "    last = cap.header['last_seq']\n"
            "os.truncate(path, cut)\n"
            "print(json.dumps([path, cut, kept, own, last]))\n")
    p = cli("run", "-o", "t.db", "--", sys.executable, "-c", code, programs("linked"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    import json
    path, cut, kept, own, last = json.loads(p.stdout.splitlines()[-1])
    assert last >= 150
    warning = (f"{path} is truncated: read {kept} records (100 launches); the file ends at byte {cut}, inside chunk 0; "
               f"0 bytes after the last complete record could not be read; {last - own} of the {last} records the "
               f"shim wrote (by sequence number) are missing: the launches among them are lost")
    assert p.stderr.splitlines()[0] == f"cltrace: warning: {warning}"
    assert p.stderr.splitlines()[-1].startswith("cltrace: 100 kernel launches from 1 process written to t.db")
    assert p.stderr.splitlines()[-1].endswith(
        "; 1 capture file truncated or damaged, 0 bytes of capture could not be read")
    import cltrace
    trace = cltrace.open(str(tmp_path / "t.db"))
    assert len(trace.launches) == 100
    assert trace.notes.loc[trace.notes["kind"] == "truncated", "message"].tolist() == [warning]
