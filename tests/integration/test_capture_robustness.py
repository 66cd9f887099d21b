"""Threads, children, deaths, transparency, odd programs: nothing lost, nothing changed."""
import glob
import os
import signal
import sys

import pytest

from cltrace.pytest_plugin import python_command


@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_eight_threads_thousand_launches_each(cltrace_run, programs, mode):
    trace = cltrace_run([programs("threads"), "8", "1000"], mode=mode)
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
def test_death_keeps_every_complete_launch(cltrace_run, programs, death, status):
    trace = cltrace_run([programs("crash"), "100", death], expect_exit=None)
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


def test_truncated_capture_is_ingested_up_to_the_damage(tmp_path, programs, cli):
    cap = tmp_path / "cap"
    cap.mkdir(mode=0o700)
    from cltrace import native
    env = {"CLTRACE_DIR": str(cap), "OPENCL_LAYERS": native.library(native.LAYER_LIB)}
    import subprocess
    subprocess.run([programs("linked"), "300"], env={**os.environ, **env}, check=True, capture_output=True)
    (path,) = glob.glob(str(cap / "*.clt"))
    data = open(path, "rb").read()
    # cut inside the records: keep the header and part of the first chunk
    cut = 128 + 16 + 300 * 100
    open(path, "wb").write(data[:cut])
    p = cli("ingest", str(cap), "-o", "t.db", cwd=tmp_path)
    assert p.returncode == 0
    lines = p.stderr.splitlines()
    assert lines[0].startswith(f"cltrace: warning: {path}") and "could not be read" in lines[0]
    assert lines[-1].startswith("cltrace: ") and "kernel launches from 1 process written to t.db" in lines[-1]
    import cltrace
    L = cltrace.open(str(tmp_path / "t.db")).launches
    assert 0 < len(L) < 300
    assert L["seq"].is_unique
