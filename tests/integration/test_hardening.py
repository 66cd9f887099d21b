"""Hardening: heavy threading, out-of-order queues, SIGKILL from outside, exec, the user's own
LD_PRELOAD and OPENCL_LAYERS, a thousand queues and kernels, and the privacy of what a run leaves.

Slow variants are marked `slow` and skipped unless CLTRACE_SLOW=1.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import cltrace
from cltrace import native
from cltrace.pytest_plugin import python_command

CLTRACE = [sys.executable, "-m", "cltrace.cli.main"]
SLOW = os.environ.get("CLTRACE_SLOW") == "1"
RECORDED_PREFIXES = ("CLTRACE_", "OCL_ICD_", "POCL_", "OPENCL_")
CL_QUEUE_OUT_OF_ORDER = 1
CL_QUEUE_PROFILING = 2

# No pytest.ini registers markers in this project: take the `slow` mark without the unknown-mark warning
# (so that `-m "not slow"` works) and skip such tests unless CLTRACE_SLOW=1.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    _slow_mark = pytest.mark.slow


slow = [_slow_mark, pytest.mark.skipif(not SLOW, reason="slow: set CLTRACE_SLOW=1 to run")]   # for marks=


def assert_valid_device_times(L, what):
    """Every launch of L has its four device timestamps, in order, and duration = end - start."""
    cols = ["queued_ns", "submit_ns", "start_ns", "end_ns", "duration_ns"]
    missing = L[cols].isna().any(axis=1)
    assert not missing.any(), f"{what}: {int(missing.sum())} launches with status ok lack a device time"
    q, s, b, e, d = (L[c].to_numpy("int64") for c in cols)
    bad = ~((q <= s) & (s <= b) & (b <= e) & (d == e - b))
    assert not bad.any(), (f"{what}: {int(bad.sum())} launches with times out of order, e.g.\n"
                           f"{L.loc[bad, ['seq'] + cols].head().to_string()}")


# --- 1. threads ------------------------------------------------------------------------------------------
THREADS, LAUNCHES = 16, 10_000       # about 5 s a case on 2 cores, ingestion included


@pytest.mark.parametrize("queues, order", [("shared", "inorder"), ("own", "inorder"), ("shared", "ooo"),
                                           ("own", "ooo")])
def test_sixteen_threads(cltrace_run, programs, queues, order):
    n_launch = LAUNCHES
    trace = cltrace_run([programs("threads"), str(THREADS), str(n_launch), queues, order])
    L = trace.launches
    assert len(L) == THREADS * n_launch
    assert L["seq"].is_unique
    assert L["tid"].nunique() == THREADS
    assert (L.groupby("tid").size() == n_launch).all()
    assert L["error"].eq(0).all()
    statuses = L["times_status"].value_counts().to_dict()
    assert set(L["times_status"].unique()) == {"ok"}, f"times_status counts: {statuses}"
    assert_valid_device_times(L, f"{queues}/{order}")
    Q = trace.queues
    n_queues = THREADS if queues == "own" else 1
    assert len(Q) == n_queues and L["queue_id"].nunique() == n_queues
    assert set(L["queue_id"]) == set(Q["queue_id"])
    if queues == "own":       # each thread its own queue, each queue one thread
        assert (L.groupby("tid")["queue_id"].nunique() == 1).all()
        assert (L.groupby("queue_id")["tid"].nunique() == 1).all()
    app = CL_QUEUE_OUT_OF_ORDER if order == "ooo" else 0
    assert (Q["app_properties"] == app).all()                       # what the program asked for
    assert (Q["used_properties"] == app | CL_QUEUE_PROFILING).all()  # + profiling, nothing else (not in-order!)
    P = trace.processes
    assert P["untimed_launches"].tolist() == [0] and P["clean_exit"].tolist() == [1]
    assert "dropped" not in set(trace.notes["kind"])


# --- 2. out-of-order queues stay out of order -------------------------------------------------------------
SPIN = 2_000_000        # iterations of the `spin` kernel: about 2 ms per launch on one core
OOO_BATCH, OOO_BATCHES = 40, 4


def _loop_s(stdout):
    m = re.search(r"^loop_s ([0-9.]+)$", stdout, re.M)
    assert m, stdout
    return float(m.group(1))


def _overlap(L):
    """(launches that start before an earlier-starting launch of their queue ended, max concurrency)."""
    L = L.sort_values("start_ns")
    st, en = L["start_ns"].to_numpy("int64"), L["end_ns"].to_numpy("int64")
    overlapping = int((st[1:] < np.maximum.accumulate(en)[:-1]).sum())
    ev = sorted([(t, 1) for t in st] + [(t, -1) for t in en], key=lambda x: (x[0], x[1]))
    depth = peak = 0
    for _, d in ev:
        depth += d
        peak = max(peak, depth)
    return overlapping, peak


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores for launches to run at the same time")
def test_out_of_order_queue_is_not_serialised(tmp_path, programs, cli):
    """The tracer forces profiling and hands the driver its own events, but must add no ordering: on an
    out-of-order queue independent launches still run at the same time (device intervals overlap), on an
    in-order queue they never do. (On PoCL's CPU driver the out-of-order loop is no faster than the
    in-order one, so wall time could not tell a serialised queue: the overlap is the evidence.)"""
    loop = [programs("loop"), str(OOO_BATCH), str(OOO_BATCHES)]
    figures = {}
    for name, order in (("ooo", "ooo"), ("inorder", "inorder")):
        db = tmp_path / f"{name}.db"
        p = cli("run", "-f", "-o", db, "--", *loop, order, str(SPIN), cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        L = cltrace.open(db).launches
        assert len(L) == OOO_BATCH * OOO_BATCHES and set(L["times_status"]) == {"ok"}
        L = L[L["seq"] > L["seq"].min() + OOO_BATCH]        # the first batch compiles: leave it out
        overlapping, peak = _overlap(L)
        figures[name] = dict(overlapping=overlapping, of=len(L), peak=peak, loop_s=_loop_s(p.stdout))
    msg = f"per traced run: {figures}"
    inorder, ooo = figures["inorder"], figures["ooo"]
    assert inorder["overlapping"] == 0 and inorder["peak"] == 1, msg
    assert ooo["overlapping"] >= ooo["of"] // 2 and ooo["peak"] >= 2, msg
    # wall-clock cost is bench/bench_overhead.py's business: timings are no test


# --- 3. SIGKILL from outside -------------------------------------------------------------------------------
def _children(pid):
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except FileNotFoundError:
            pass
    return kids


@pytest.mark.parametrize("seed, mode", [(1, "layer"), (2, "preload"), pytest.param(3, "layer", marks=slow),
                                        pytest.param(4, "preload", marks=slow)])
def test_sigkill_from_outside(tmp_path, programs, seed, mode):
    """SIGKILL to the traced program from outside, at a random point of its launch loop: cltrace reports 137
    and keeps every launch; everything up to the last clFinish the program got through is timed."""
    rng = random.Random(seed)
    k_lines = rng.randint(5, 40)
    db = tmp_path / "kill.db"
    argv = CLTRACE + ["run", "--mode", mode, "-o", str(db), "--", programs("loop"), "100"]
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        while len(seen) < k_lines:
            line = proc.stdout.readline()
            assert line, f"loop ended early after {seen[-1:]}: {proc.stderr.read()}"
            seen.append(line)
        time.sleep(rng.uniform(0, 0.02))                    # somewhere inside a batch, or not
        kids = _children(proc.pid)
        assert len(kids) == 1, f"cltrace {proc.pid} has children {kids}"
        child = kids[0]
        assert os.path.realpath(f"/proc/{child}/exe") == os.path.realpath(programs("loop"))
        os.kill(child, signal.SIGKILL)
        rest, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGKILL, err
    assert "Traceback" not in err, err
    done = [int(m) for m in re.findall(r"^finished (\d+)$", "".join(seen) + rest, re.M)]
    last_done = done[-1]                  # launches covered by the last clFinish the program reported
    assert last_done >= 100 * k_lines
    t = cltrace.open(db)
    run = t.runs.iloc[0]
    assert run["exit_status"] == 137 and run["signal"] == signal.SIGKILL and run["status"] == "failed"
    assert t.processes["clean_exit"].tolist() == [0]
    L = t.launches.sort_values("seq").reset_index(drop=True)
    counts = L["times_status"].value_counts().to_dict()
    n_missing = int(counts.get("missing", 0))
    summary = (f"seed {seed}, {mode}: killed after {k_lines} lines; last reported clFinish covered {last_done} "
               f"launches; trace has {len(L)} launches, times_status {counts}")
    print(summary)
    assert len(L) >= last_done, summary
    assert len(L) <= last_done + 200, summary          # at most the batch whose line was lost + one in flight
    assert set(counts) <= {"ok", "missing"}, summary
    ok = L[L["times_status"] == "ok"]
    assert_valid_device_times(ok, summary)
    assert L.loc[L["times_status"] == "missing", ["start_ns", "end_ns"]].isna().all().all()
    # everything before the last completed clFinish was harvested at that clFinish
    assert (L["times_status"].iloc[:last_done] == "ok").all(), summary
    assert n_missing <= 100, summary                    # only the batch that was in flight
    assert L["seq"].is_unique and L["error"].eq(0).all()


# --- 4. exec into another program ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_exec_into_another_program(cltrace_run, programs, mode):
    trace = cltrace_run([programs("execinto"), "30", "45"], mode=mode)
    P = trace.processes.sort_values("start_ns").reset_index(drop=True)
    assert len(P) == 2
    assert P["pid"].nunique() == 1                      # one process, two images
    argv = [json.loads(a) for a in P["argv"]]
    assert argv[0] == [programs("execinto"), "30", "45"]
    assert argv[1] == [programs("linked"), "45"]
    assert P["mode"].tolist() == [mode, mode]
    assert P["clean_exit"].tolist() == [0, 1]           # exec runs no atexit handler; the second image exits
    L = trace.launches
    per = L.groupby("process_id").size()
    assert [per.get(pid, 0) for pid in P["process_id"]] == [30, 45]
    assert set(L["times_status"]) == {"ok"}             # the first image finished its queue before exec
    assert (L.groupby("process_id")["seq"].nunique() == per).all()
    assert L.groupby("process_id")["global0"].first().loc[P["process_id"]].tolist() == [512, 1024]
    R = trace.regions
    assert R["name"].tolist() == ["loop"] and R["process_id"].tolist() == [P["process_id"][1]]
    assert (L.loc[L["process_id"] == P["process_id"][1], "region_id"] == R["region_id"][0]).all()


# --- 5. the user's own LD_PRELOAD and OPENCL_LAYERS ----------------------------------------------------------
USER_PRELOAD_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void user_preload_init(void)
{
    const char *m = getenv("USER_MARKER");
    FILE *f = m ? fopen(m, "a") : NULL;
    if (!f)
        return;
    const char *lp = getenv("LD_PRELOAD"), *ol = getenv("OPENCL_LAYERS");
    char exe[4096] = "?";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 1] = 0;
    fprintf(f, "preload exe=%s LD_PRELOAD=%s OPENCL_LAYERS=%s\n", exe, lp ? lp : "-", ol ? ol : "-");
    fclose(f);
}
"""

USER_LAYER_C = r"""
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl_layer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static const cl_icd_dispatch *next;
static cl_icd_dispatch mine;
static int launches, initialised;

static cl_int CL_API_CALL counting_ndrange(cl_command_queue q, cl_kernel k, cl_uint d, const size_t *o,
                                           const size_t *g, const size_t *l, cl_uint n, const cl_event *w,
                                           cl_event *e)
{
    __atomic_add_fetch(&launches, 1, __ATOMIC_RELAXED);
    return next->clEnqueueNDRangeKernel(q, k, d, o, g, l, n, w, e);
}

CL_API_ENTRY cl_int CL_API_CALL clGetLayerInfo(cl_layer_info name, size_t size, void *val, size_t *size_ret)
{
    cl_layer_api_version v = CL_LAYER_API_VERSION_100;
    if (name != CL_LAYER_API_VERSION)
        return CL_INVALID_VALUE;
    if (size_ret)
        *size_ret = sizeof v;
    if (val) {
        if (size < sizeof v)
            return CL_INVALID_VALUE;
        memcpy(val, &v, sizeof v);
    }
    return CL_SUCCESS;
}

CL_API_ENTRY cl_int CL_API_CALL clInitLayer(cl_uint num_entries, const cl_icd_dispatch *target,
                                            cl_uint *num_entries_ret, const cl_icd_dispatch **ret)
{
    cl_uint n = num_entries < sizeof mine / sizeof(void *) ? num_entries : sizeof mine / sizeof(void *);
    next = target;
    memcpy(&mine, target, n * sizeof(void *));
    mine.clEnqueueNDRangeKernel = counting_ndrange;
    *ret = &mine;
    *num_entries_ret = n;
    initialised = 1;
    return CL_SUCCESS;
}

__attribute__((destructor)) static void user_layer_fini(void)
{
    const char *m = getenv("USER_MARKER");
    FILE *f = m ? fopen(m, "a") : NULL;
    if (!f)
        return;
    char exe[4096] = "?";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 1] = 0;
    fprintf(f, "layer exe=%s initialised=%d launches=%d\n", exe, initialised, launches);
    fclose(f);
}
"""


@pytest.fixture(scope="module")
def user_libs(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("userlibs")
    libs = {}
    for name, src in (("libuserpreload.so", USER_PRELOAD_C), ("libuserlayer.so", USER_LAYER_C)):
        (d / (name + ".c")).write_text(src)
        subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(d / name), str(d / (name + ".c"))], check=True)
        libs[name] = str(d / name)
    return libs["libuserpreload.so"], libs["libuserlayer.so"]


@pytest.mark.parametrize("mode", ["preload", "layer"])
def test_users_own_preload_and_layer_still_run(tmp_path, programs, cli, user_libs, mode):
    """`LD_PRELOAD=user.so OPENCL_LAYERS=userlayer.so cltrace run --mode M -- prog`: the user's preload still
    loads into the program, the user's layer still sees every launch; cltrace prepends its preload and appends its
    layer (the last layer is nearest the application: the trace records what the program asked for)."""
    user_preload, user_layer = user_libs
    marker = tmp_path / "marker.txt"
    env = {"LD_PRELOAD": user_preload, "OPENCL_LAYERS": user_layer, "USER_MARKER": str(marker)}
    p = cli("run", "--mode", mode, "-o", "t.db", "--", programs("linked"), "20", cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    trace = cltrace.open(tmp_path / "t.db")
    L = trace.launches
    assert len(L) == 20 and set(L["times_status"]) == {"ok"}
    assert trace.processes["mode"].tolist() == [mode]

    # marker lines: "preload exe=... LD_PRELOAD=... OPENCL_LAYERS=..." and "layer exe=... initialised=1 launches=N"
    lines = [dict(kv.split("=", 1) for kv in ln.split()[1:]) | {"kind": ln.split()[0]}
             for ln in marker.read_text().splitlines()]
    linked = os.path.realpath(programs("linked"))
    pre = [m for m in lines if m["kind"] == "preload" and m["exe"] == linked]
    lay = [m for m in lines if m["kind"] == "layer"]
    assert len(pre) == 1 and len(lay) == 1, lines       # the program loaded each user library once
    shim_preload, shim_layer = native.library(native.PRELOAD_LIB), native.library(native.LAYER_LIB)
    if mode == "preload":
        assert pre[0]["LD_PRELOAD"] == f"{shim_preload}:{user_preload}"
        assert pre[0]["OPENCL_LAYERS"] == user_layer
    else:
        assert pre[0]["LD_PRELOAD"] == user_preload
        assert pre[0]["OPENCL_LAYERS"] == f"{user_layer}:{shim_layer}"     # cltrace last: nearest the app
    # the user's layer was initialised by the loader, in the program, and saw every launch
    assert lay[0] == {"kind": "layer", "exe": linked, "initialised": "1", "launches": "20"}, lay

    env_rec = json.loads(trace.runs["env"].iloc[0])
    assert all(k.startswith(RECORDED_PREFIXES) for k in env_rec), sorted(env_rec)
    assert "LD_PRELOAD" not in env_rec and "USER_MARKER" not in env_rec
    assert env_rec["OPENCL_LAYERS"] == (f"{user_layer}:{shim_layer}" if mode == "layer" else user_layer)
    assert env_rec["CLTRACE_MODE"] == mode


# --- 6. a thousand queues and kernels ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["layer", "preload"])
def test_thousand_queues_and_kernels(cltrace_run, programs, mode):
    n, stride = 1000, 7
    trace = cltrace_run([programs("manyqueues"), str(n), str(stride)], mode=mode)
    Q, K, L = trace.queues, trace.kernels, trace.launches.sort_values("seq").reset_index(drop=True)
    assert len(Q) == n and len(K) == n and len(L) == n
    assert Q["handle"].is_unique and K["handle"].is_unique
    assert (Q["error"] == 0).all() and Q["device_id"].notna().all()
    assert (K["name"] == "inc").all()
    assert L["queue_id"].notna().all() and L["kernel_id"].notna().all()
    assert L["queue_id"].is_unique and L["kernel_id"].is_unique        # each launch its own queue and kernel
    # launch j went to the j-th queue created with the ((j * stride) % n)-th kernel created
    q_rank = {qid: i for i, qid in enumerate(Q.sort_values("created_ns")["queue_id"])}
    k_rank = {kid: i for i, kid in enumerate(K.sort_values("kernel_id")["kernel_id"])}
    got = [(q_rank[q], k_rank[k]) for q, k in zip(L["queue_id"], L["kernel_id"])]
    assert got == [(j, j * stride % n) for j in range(n)]
    assert (L["device_id"] == Q.set_index("queue_id").loc[L["queue_id"], "device_id"].to_numpy()).all()
    assert (L["kernel_name"] == "inc").all() and set(L["times_status"]) == {"ok"}


# --- 7. privacy ----------------------------------------------------------------------------------------
SHOW_DIR = r"""
import json, os, stat, subprocess, sys
d = os.environ["CLTRACE_DIR"]
subprocess.run([sys.argv[1], "3"], check=True, stdout=subprocess.DEVNULL)
files = {f: stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode) for f in os.listdir(d)}
st = os.stat(d)
print(json.dumps({"dir": d, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "files": files}))
"""


def test_capture_directory_is_private_and_removed(tmp_path, programs, cli):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    seen = []
    for i in range(2):
        p = cli("run", "-f", "-o", f"t{i}.db", "--", *python_command(SHOW_DIR), programs("linked"), cwd=tmp_path,
                env={"TMPDIR": str(tmpdir)})
        assert p.returncode == 0, p.stderr
        seen.append(json.loads(p.stdout.strip().splitlines()[-1]))
    for s in seen:
        assert os.path.dirname(s["dir"]) == str(tmpdir)                      # under $TMPDIR
        assert re.fullmatch(r"cltrace-[A-Za-z0-9_]{8}", os.path.basename(s["dir"])), s
        assert s["mode"] == 0o700 and s["uid"] == os.getuid(), s
        # one capture file, the run's marker (capture/leftovers.py) and the directory where layers below cltrace
        # may leave notes (capture/layer_notes.py); all private
        assert sorted(s["files"])[:2] == [".cltrace-run.json", ".layer-notes"] and len(s["files"]) == 3, s
        assert all(m & 0o077 == 0 for m in s["files"].values()), s
        assert not os.path.exists(s["dir"])                                  # removed after the run
    assert seen[0]["dir"] != seen[1]["dir"]
    assert os.listdir(tmpdir) == []
    assert len(cltrace.open(tmp_path / "t0.db").launches) == 3


def test_secret_environment_never_reaches_the_trace(tmp_path, programs, cli):
    secret = "xyz-" + os.urandom(8).hex()
    env = {"MY_SECRET_TOKEN": secret, "OCL_ICD_VENDORS": "/etc/OpenCL/vendors",
           "POCL_HARDENING_PROBE": "pocl-probe-1", "OPENCL_HARDENING_PROBE": "opencl-probe-1",
           "CLTRACE_HARDENING_PROBE": "cltrace-probe-1"}
    code = f"import subprocess; subprocess.run([{programs('linked')!r}, '7'], check=True)"
    p = cli("run", "-o", "t.db", "--", *python_command(code), cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    t = cltrace.open(tmp_path / "t.db")
    assert len(t.launches) == 7
    rec = json.loads(t.runs["env"].iloc[0])
    assert all(k.startswith(RECORDED_PREFIXES) for k in rec), sorted(rec)
    for k in ("OCL_ICD_VENDORS", "POCL_HARDENING_PROBE", "OPENCL_HARDENING_PROBE", "CLTRACE_HARDENING_PROBE",
              "POCL_CACHE_DIR"):
        assert rec.get(k) == ({**os.environ, **env})[k], k
    t.close()
    blobs = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path) if f.startswith("t.db")}
    assert "t.db" in blobs
    for f, data in blobs.items():
        assert secret.encode() not in data, f"secret value found in {f}"
        assert b"MY_SECRET_TOKEN" not in data, f"secret variable name found in {f}"
    assert b"POCL_HARDENING_PROBE" in blobs["t.db"]         # the scan would see an env var if it were there
