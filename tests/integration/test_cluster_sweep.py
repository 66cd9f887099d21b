"""`cltrace sweep --cluster`: a real local Dask cluster (a scheduler and one worker per simulated board, each
with its own board resource), a sweep through it equal to the local sweep, a worker killed mid-sweep, Ctrl-C
and --resume, and the errors of a cluster that cannot serve the sweep. docs/farm.md."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed")

PY = sys.executable
CLTRACE = [PY, "-m", "cltrace.cli.main"]
DASK = [PY, "-m", "distributed.cli.dask_worker"]
# a program that never touches OpenCL (the farm logic is under test): sleeps argv[2] seconds
SLEEPER = "import sys, time; time.sleep(float(sys.argv[2]))"
CONV = ["--input", "8x8x4", "--kernel", "3", "--pad", "1", "--out-channels", "{channels}", "--method", "direct",
        "--iters", "2", "--warmup", "1"]


class Farm:
    """A scheduler (its --scheduler-file is the address) and workers, each `dask worker --resources board:K=1`."""

    def __init__(self, root):
        self.root = str(root)
        self.file = os.path.join(self.root, "scheduler.json")
        self.procs = {}
        # everything on loopback: a plaintext tcp:// scheduler elsewhere is refused (and tests stay on 127.0.0.1)
        self.scheduler = self._spawn("scheduler", [PY, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                                                   self.file, "--host", "127.0.0.1", "--port", "0",
                                                   "--dashboard-address", "127.0.0.1:0"])
        deadline = time.monotonic() + 30
        while not (os.path.exists(self.file) and os.path.getsize(self.file)):
            assert time.monotonic() < deadline, self.log("scheduler")[-3000:]
            time.sleep(0.1)

    def _spawn(self, name, argv):
        log = open(os.path.join(self.root, f"{name}.log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True)
        self.procs[name] = p
        return p

    def log(self, name):
        with open(os.path.join(self.root, f"{name}.log"), errors="replace") as f:
            return f.read()

    def worker(self, name, board):
        return self._spawn(name, DASK + ["--scheduler-file", self.file, "--nthreads", "1", "--no-nanny",
                                         "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address",
                                         "127.0.0.1:0", "--name", name, "--resources", f"board:{board}=1"])

    def client(self):
        from distributed import Client
        return Client(scheduler_file=self.file, timeout="30s", set_as_default=False)

    def names(self):
        """The names of the workers that joined the scheduler."""
        with self.client() as c:
            return {w["name"] for w in c.scheduler_info(n_workers=-1)["workers"].values()}

    def wait_for(self, names):
        deadline = time.monotonic() + 60
        while not set(names) <= self.names():
            assert time.monotonic() < deadline, [self.log(n)[-3000:] for n in names]
            time.sleep(0.2)

    def stop(self):
        for p in reversed(list(self.procs.values())):
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    f = Farm(tmp_path_factory.mktemp("farm"))
    try:
        f.worker("board-a", "a")
        f.worker("board-b", "b")
        f.wait_for({"board-a", "board-b"})
        yield f
    finally:
        f.stop()


def _runs(path):
    conn = sqlite3.connect(path)
    try:
        runs = {r[0]: r[1:] for r in conn.execute(
            "SELECT sweep_index, repeat_index, status, exit_status, command, argv, mode, host, run_id FROM runs")}
        tags = {}
        for sweep_index, key, value in conn.execute(
                "SELECT r.sweep_index, t.key, t.value FROM run_tags t JOIN runs r USING (run_id)"):
            tags.setdefault(sweep_index, {})[key] = value
        dispatches = {}
        for row in conn.execute(
                "SELECT r.sweep_index, l.kernel_name, l.global0, l.global1, l.global2, l.local0, l.local1, l.local2, "
                "l.work_groups, l.driver_local FROM launches l JOIN runs r USING (run_id) "
                "ORDER BY r.sweep_index, l.process_id, l.seq"):
            dispatches.setdefault(row[0], []).append(row[1:])
        workers = dict(conn.execute("SELECT r.sweep_index, n.message FROM notes n JOIN runs r USING (run_id) "
                                    "WHERE n.kind = 'cluster-worker'").fetchall())
        return runs, tags, dispatches, workers
    finally:
        conn.close()


def test_farm_sweep_equals_the_local_sweep(farm, cli, conv_bench, tmp_path):
    common = ["-q", "--order", "interleave", "-p", "channels=4,8", "--repeat", "2"]
    t0 = time.monotonic()
    local = cli("sweep", *common, "-p", "board=a,b", "--allow-unused-param", "-o", "local.db", "--",
                conv_bench, *CONV, cwd=tmp_path)
    t_local = time.monotonic() - t0
    assert local.returncode == 0, local.stderr
    t0 = time.monotonic()
    p = cli("sweep", *common, "--cluster", farm.file, "--board", "a", "--board", "b", "-o", "farm.db", "--",
            conv_bench, *CONV, cwd=tmp_path)
    t_farm = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0] == (f"cltrace: cluster: board:a on 1 worker(s); board:b on 1 worker(s) ({farm.file}); "
                        f"stabilisers are applied on each board around its runs")
    assert lines[-1] == "cltrace: 8/8 runs recorded in farm.db"
    l_runs, l_tags, l_disp, _ = _runs(str(tmp_path / "local.db"))
    f_runs, f_tags, f_disp, workers = _runs(str(tmp_path / "farm.db"))
    assert sorted(f_runs) == sorted(l_runs) == list(range(8))
    for i in range(8):     # the same run, but for its run_id (the farm records runs as they finish) and host
        assert f_runs[i][:6] == l_runs[i][:6]
        assert f_runs[i][6] == socket.gethostname()
    assert f_tags == l_tags
    assert {t["board"] for t in f_tags.values()} == {"a", "b"}
    assert f_disp == l_disp and all(f_disp[i] for i in range(8))
    for i in range(8):     # each run ran on the worker of its board
        assert workers[i].startswith(f"board-{f_tags[i]['board']} (tcp://"), workers[i]
    print(f"\nlocal sweep 8 runs: {t_local:.2f} s; farm sweep (2 workers): {t_farm:.2f} s")


def _kill_worker_mid_run(farm, argv, cwd, worker):
    """Start the farm sweep argv, SIGKILL `worker` once a cltrace run (or block) is under way on its board, and
    let the sweep finish: -> (the keys that worker was processing, the sweep's exit status, its stderr)."""
    sweep = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with farm.client() as c:
            addr = {w["name"]: a for a, w in c.scheduler_info(n_workers=-1)["workers"].items()}[worker]
            deadline = time.monotonic() + 30
            keys = []
            while not keys:
                assert time.monotonic() < deadline and sweep.poll() is None
                keys = [k for k in c.processing(workers=[addr]).get(addr, []) if str(k).startswith("cltrace-run")]
                time.sleep(0.05)
        time.sleep(0.3)                            # the run is under way on the worker's board
        farm.procs[worker].send_signal(signal.SIGKILL)
        _, err = sweep.communicate(timeout=60)
        return keys, sweep.returncode, err
    finally:
        if sweep.poll() is None:
            sweep.kill()


def test_a_killed_worker_loses_only_its_in_flight_run(farm, cli, tmp_path):
    farm.worker("pool-1", "pool")
    farm.worker("pool-2", "pool")
    farm.wait_for({"pool-1", "pool-2"})
    argv = CLTRACE + ["sweep", "-q", "-p", "c=1:6", "--repeat", "1", "--cluster", farm.file, "--board", "pool",
                      "-o", "pool.db", "--", PY, "-c", SLEEPER, "{c}", "1.0"]
    keys, rc, err = _kill_worker_mid_run(farm, argv, tmp_path, "pool-1")
    assert rc == 0, err
    assert err.splitlines()[-1] == "cltrace: 6/6 runs recorded in pool.db"
    runs, tags, _, workers = _runs(str(tmp_path / "pool.db"))
    assert sorted(runs) == list(range(6))                       # every planned run once, none lost
    assert all(r[1] == "ok" for r in runs.values())
    assert sorted(t["c"] for t in tags.values()) == [str(c) for c in range(1, 7)]
    killed = int(str(keys[0]).rsplit("-", 1)[1])                # the run in flight on the dead worker
    assert workers[killed].startswith("pool-2 (tcp://"), workers[killed]   # re-run by the other board


def _count_runs(path, where=""):
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute(f"SELECT COUNT(*) FROM runs {where}").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _interrupt_after_runs(argv, cwd, db, n):
    """Start the farm sweep argv, send it Ctrl-C once db holds n runs: -> (its exit status, its stderr)."""
    sweep = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while _count_runs(cwd / db) < n:
            assert time.monotonic() < deadline and sweep.poll() is None, sweep.stderr.read() if sweep.poll() else ""
            time.sleep(0.05)
        sweep.send_signal(signal.SIGINT)
        _, err = sweep.communicate(timeout=30)
        return sweep.returncode, err
    finally:
        if sweep.poll() is None:
            sweep.kill()


def test_ctrl_c_keeps_finished_runs_and_resume_completes_the_farm_sweep(farm, cli, tmp_path):
    args = ["sweep", "-q", "--order", "interleave", "-p", "c=1:4", "--repeat", "1", "--cluster", farm.file,
            "--board", "a", "--board", "b", "-o", "int.db", "--", PY, "-c", SLEEPER, "{c}", "0.8"]
    rc, err = _interrupt_after_runs(CLTRACE + args, tmp_path, "int.db", 2)
    assert rc == 130, err
    assert err.splitlines()[-1] == "cltrace: interrupted: finished runs are kept; continue with --resume"
    # a run still in flight at the signal may be recorded as interrupted: --resume re-runs it with the missing ones
    kept = _count_runs(tmp_path / "int.db", "WHERE status = 'ok'")
    assert 2 <= kept < 8
    p = cli("sweep", "--resume", *args[1:], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert f"cltrace: resume: {kept} runs already done, {8 - kept} to go" in p.stderr.splitlines()
    runs, tags, _, _ = _runs(str(tmp_path / "int.db"))
    assert len(runs) == 8 and all(r[1] == "ok" for r in runs.values())
    assert sorted((t["c"], t["board"]) for t in tags.values()) == [(str(c), b) for c in range(1, 5) for b in "ab"]


def test_a_board_without_a_worker_is_refused_before_the_trace_is_made(farm, cli, tmp_path):
    p = cli("sweep", "-p", "c=1:2", "--cluster", farm.file, "--board", "a", "--board", "mali-g76",
            "--cluster-timeout", "1", "-o", "x.db", "--", PY, "-c", SLEEPER, "{c}", "0", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (1, (
        f"cltrace: no worker of the cluster at {farm.file} offers board:mali-g76 (its workers offer board:a, "
        f"board:b{', board:pool' if 'pool-2' in farm.procs else ''}); start one on that board with: dask worker "
        f"{farm.file} --nthreads 1 --resources board:mali-g76=1\n"))
    assert not (tmp_path / "x.db").exists()


def test_an_unreachable_scheduler_is_one_line(cli, tmp_path):
    p = cli("sweep", "-p", "c=1:2", "--cluster", "tcp://127.0.0.1:9", "--board", "a", "--cluster-timeout", "1",
            "-o", "x.db", "--", PY, "-c", SLEEPER, "{c}", "0", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (1, "cltrace: cannot reach the Dask scheduler at tcp://127.0.0.1:9 within "
                                           "1 s: start it with 'cltrace farm' (docs/farm.md)\n")
    assert not (tmp_path / "x.db").exists()


def test_dry_run_lists_each_run_with_its_board(cli, tmp_path):
    p = cli("sweep", "--dry-run", "--order", "interleave", "-p", "c=1:2", "--repeat", "1", "--cluster",
            "tcp://127.0.0.1:9", "--board", "a",
            "--board", "b", "--", "prog", "{c}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["[1/4] prog 1 (on board a)", "[2/4] prog 1 (on board b)",
                                     "[3/4] prog 2 (on board a)", "[4/4] prog 2 (on board b)"]


def test_network_sweep_on_the_farm(farm, cli, conv_bench, tmp_path):
    """cltrace network --cluster: every (layer, channels) configuration on every --board, one sweep; the map is
    drawn per board."""
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.ones((8, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c1", kernel_shape=[3, 3],
                                                pads=[1, 1, 1, 1])], "one",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    onnx.save(helper.make_model(graph), str(tmp_path / "one.onnx"))
    p = cli("network", "one.onnx", "--distances", "0:1", "--repeat", "2", "--iters", "2", "--warmup", "1",
            "--scale", "1", "-q", "--conv-bench", conv_bench, "--cluster", farm.file, "--board", "a", "--board", "b",
            "-o", "net.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: plan: 4 configurations (1 layers on 2 boards) x 2 repeats = 8 runs" in p.stderr.splitlines()
    _, tags, _, workers = _runs(str(tmp_path / "net.db"))
    assert sorted((t["board"], t["channels"]) for t in tags.values()) == \
        [("a", "7"), ("a", "7"), ("a", "8"), ("a", "8"), ("b", "7"), ("b", "7"), ("b", "8"), ("b", "8")]
    for i, t in tags.items():
        assert workers[i].startswith(f"board-{t['board']} (tcp://"), workers[i]
    p = cli("network-map", "net.db", "-o", "map.png", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (2, "cltrace: net.db ran on 2 boards (a, b): choose one with --board KIND\n")
    p = cli("network-map", "net.db", "-o", "map.png", "--board", "b", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "map.png").exists()


# --block K on the farm: marks each value of its list argv[1] with a region tagged c=<value>, sleeping argv[2] s in it
BLOCKER = ("import sys, time\nfrom cltrace import region\nfor c in sys.argv[1].split(','):\n"
           "    with region('p', c=c):\n        time.sleep(float(sys.argv[2]))\n")


def _blocks(path):
    """sweep_index -> (sorted plan positions of its block note, sorted region tags, repeat_index, argv)."""
    conn = sqlite3.connect(path)
    try:
        notes = dict(conn.execute("SELECT r.sweep_index, n.message FROM notes n JOIN runs r USING (run_id) "
                                  "WHERE n.kind = 'block'").fetchall())
        regions = {}
        for index, tags in conn.execute("SELECT r.sweep_index, g.tags FROM regions g JOIN runs r USING (run_id)"):
            regions.setdefault(index, []).append(tags)
        return {i: (json.loads(notes[i]), sorted(regions.get(i, [])), k, argv) for i, k, argv in
                conn.execute("SELECT sweep_index, repeat_index, argv FROM runs WHERE status = 'ok'")}
    finally:
        conn.close()


def test_blocked_farm_sweep_equals_the_local_blocked_sweep(farm, cli, conv_bench, tmp_path):
    """--block 2 on one board: the same plan, the same blocks (processes, their argv and plan positions), the
    same regions and tags as the local blocked sweep of the same seed; on two boards every block keeps to one
    board and runs on its board's worker."""
    common = ["-q", "-p", "channels=3:6", "--repeat", "2", "--block", "2", "--seed", "5"]
    local = cli("sweep", *common, "--tag", "board=a", "-o", "local.db", "--", conv_bench, *CONV, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    p = cli("sweep", *common, "--cluster", farm.file, "--board", "a", "-o", "farm.db", "--", conv_bench, *CONV,
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[-1] == "cltrace: 8/8 runs recorded in farm.db"
    l_runs, l_tags, l_disp, _ = _runs(str(tmp_path / "local.db"))
    f_runs, f_tags, f_disp, workers = _runs(str(tmp_path / "farm.db"))
    assert sorted(f_runs) == sorted(l_runs) and len(f_runs) == 4               # 4 processes of 2 counts
    for i in f_runs:
        assert f_runs[i][:6] == l_runs[i][:6]
        assert workers[i].startswith("board-a (tcp://"), workers[i]
    assert f_tags == l_tags and all(t == {"board": "a"} for t in f_tags.values())
    assert f_disp == l_disp
    l_blocks, f_blocks = _blocks(str(tmp_path / "local.db")), _blocks(str(tmp_path / "farm.db"))
    assert f_blocks == l_blocks
    assert sorted(i for pos, *_ in f_blocks.values() for i in pos) == list(range(8))
    for pos, regions, _, argv in f_blocks.values():
        counts = json.loads(argv)[json.loads(argv).index("--out-channels") + 1].split(",")
        assert len(counts) == 2 and sorted({json.loads(t)["channels"] for t in regions}) == sorted(counts)
    with sqlite3.connect(tmp_path / "local.db") as a, sqlite3.connect(tmp_path / "farm.db") as b:
        l_plan, f_plan = (json.loads(c.execute("SELECT plan FROM sweeps").fetchone()[0]) for c in (a, b))
    assert f_plan["runs"] == l_plan["runs"] and f_plan["block"] == l_plan["block"] == 2
    # two boards: every block on one board, on that board's worker; each board measures every count twice
    p = cli("sweep", *common, "--cluster", farm.file, "--board", "a", "--board", "b", "-o", "two.db", "--",
            conv_bench, *CONV, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    _, tags, _, workers = _runs(str(tmp_path / "two.db"))
    blocks = _blocks(str(tmp_path / "two.db"))
    assert len(blocks) == 8 and sorted(i for pos, *_ in blocks.values() for i in pos) == list(range(16))
    counts = {}
    for i, (_, regions, _, _) in blocks.items():
        assert workers[i].startswith(f"board-{tags[i]['board']} (tcp://"), workers[i]
        counts.setdefault(tags[i]["board"], []).extend(json.loads(t)["channels"] for t in set(regions))
    assert {b: sorted(v) for b, v in counts.items()} == {b: sorted(["3", "4", "5", "6"] * 2) for b in "ab"}


def test_a_killed_worker_loses_only_its_in_flight_block(farm, cli, tmp_path):
    farm.worker("bpool-1", "bpool")
    farm.worker("bpool-2", "bpool")
    farm.wait_for({"bpool-1", "bpool-2"})
    (tmp_path / "blocker.py").write_text(BLOCKER)
    argv = CLTRACE + ["sweep", "-q", "-p", "c=1:6", "--repeat", "1", "--block", "2", "--seed", "3", "--cluster",
                      farm.file, "--board", "bpool", "-o", "pool.db", "--", PY, str(tmp_path / "blocker.py"), "{c}",
                      "0.6"]
    keys, rc, err = _kill_worker_mid_run(farm, argv, tmp_path, "bpool-1")
    assert rc == 0, err
    assert err.splitlines()[-1] == "cltrace: 6/6 runs recorded in pool.db"
    runs, _, _, workers = _runs(str(tmp_path / "pool.db"))
    blocks = _blocks(str(tmp_path / "pool.db"))
    assert len(runs) == 3 and all(r[1] == "ok" for r in runs.values())     # every block once, none lost
    assert sorted(i for pos, *_ in blocks.values() for i in pos) == list(range(6))
    assert sorted(json.loads(t)["c"] for _, regions, _, _ in blocks.values() for t in regions) == \
        [str(c) for c in range(1, 7)]
    killed = int(str(keys[0]).rsplit("-", 1)[1])                # the block in flight on the dead worker
    assert workers[killed].startswith("bpool-2 (tcp://"), workers[killed]   # re-run by the other board


def test_ctrl_c_keeps_finished_blocks_and_resume_completes_the_blocked_farm_sweep(farm, cli, tmp_path):
    (tmp_path / "blocker.py").write_text(BLOCKER)
    args = ["sweep", "-q", "-p", "c=1:6", "--repeat", "1", "--block", "2", "--seed", "8", "--cluster", farm.file,
            "--board", "a", "--board", "b", "-o", "int.db", "--", PY, str(tmp_path / "blocker.py"), "{c}", "0.5"]
    rc, err = _interrupt_after_runs(CLTRACE + args, tmp_path, "int.db", 1)
    assert rc == 130, err
    assert err.splitlines()[-1] == "cltrace: interrupted: finished runs are kept; continue with --resume"
    kept = sum(len(pos) for pos, *_ in _blocks(str(tmp_path / "int.db")).values())
    assert 2 <= kept < 12 and kept % 2 == 0
    p = cli("sweep", "--resume", "-o", "int.db", "--cluster", farm.file, "--board", "a", "--board", "b",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert f"cltrace: resume: {kept} runs already done, {12 - kept} to go" in p.stderr.splitlines()
    blocks = _blocks(str(tmp_path / "int.db"))
    assert sorted(i for pos, *_ in blocks.values() for i in pos) == list(range(12))
    _, tags, _, _ = _runs(str(tmp_path / "int.db"))
    assert sorted((json.loads(t)["c"], tags[i]["board"]) for i, (_, regions, _, _) in blocks.items()
                  for t in regions) == [(str(c), b) for c in range(1, 7) for b in "ab"]


def test_blocked_adaptive_farm_sweep(farm, cli, conv_bench, tmp_path):
    """--block --adaptive on the farm with the real policy: every run, first pass and rounds, is a block of 2 or
    more counts on one board, and the sweep stops within its budget and says why."""
    pytest.importorskip("cltrace.analysis.adaptive")
    p = cli("sweep", "-q", "-p", "channels=3:6", "--repeat", "2", "--block", "4", "--adaptive", "--max-runs", "14",
            "--cluster", farm.file, "--board", "a", "-o", "ad.db", "--", conv_bench, *CONV, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert len([x for x in p.stderr.splitlines() if x.startswith("cltrace: adaptive: ")]) == 1, p.stderr
    blocks = _blocks(str(tmp_path / "ad.db"))
    assert sum(len(pos) for pos, *_ in blocks.values()) <= 14
    for pos, regions, _, _ in blocks.values():
        assert len(pos) == len({json.loads(t)["channels"] for t in regions}) >= 2


def test_blocked_network_sweep_on_the_farm(farm, cli, conv_bench, tmp_path):
    """cltrace network --block 3 --cluster: on one board, the blocks of the local blocked network sweep of the
    same seed (processes, argv, plan positions, regions); on two boards, every process measures the 3 distances
    of one layer on one board, on that board's worker, each count in a region tagged with it."""
    pytest.importorskip("onnx")
    from onnx_models import tiny_model
    model = tiny_model(tmp_path / "tiny.onnx", [("c1", 8, 3, 1, 1, 1), ("c2", 8, 3, 1, 1, 1),
                                                ("c3", 8, 3, 1, 1, 1), ("dw", 8, 3, 1, 1, 8)])
    common = ["network", model, "--iters", "2", "--warmup", "1", "--scale", "1", "--repeat", "2", "--distances",
              "0:2", "-q", "--conv-bench", conv_bench, "--block", "3", "--seed", "5"]
    local = cli(*common, "-o", "local.db", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    p = cli(*common, "--cluster", farm.file, "--board", "a", "-o", "farm.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: 12/12 runs recorded in farm.db" in p.stderr.splitlines()
    l_blocks, f_blocks = _blocks(str(tmp_path / "local.db")), _blocks(str(tmp_path / "farm.db"))
    assert f_blocks == l_blocks and len(f_blocks) == 4
    assert sorted(i for pos, *_ in f_blocks.values() for i in pos) == list(range(12))
    p = cli(*common, "--cluster", farm.file, "--board", "a", "--board", "b", "-o", "two.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: 24/24 runs recorded in two.db" in p.stderr.splitlines()
    _, tags, _, workers = _runs(str(tmp_path / "two.db"))
    blocks = _blocks(str(tmp_path / "two.db"))
    with sqlite3.connect(tmp_path / "two.db") as db:
        plan = json.loads(db.execute("SELECT plan FROM sweeps").fetchone()[0])
    names, configs, order = [n for n, _ in plan["params"]], plan["configurations"], plan["runs"]
    assert len(blocks) == 8 and sorted(i for pos, *_ in blocks.values() for i in pos) == list(range(24))
    per = {}
    for i, (pos, regions, _, _) in blocks.items():
        measured = [dict(zip(names, configs[order[j][0]])) for j in pos]
        board, layer = tags[i]["board"], tags[i]["layer"]
        assert {(m["board"], m["layer"]) for m in measured} == {(board, layer)}      # one layer on one board
        assert sorted(m["distance"] for m in measured) == ["0", "1", "2"]
        assert {json.loads(t)["channels"] for t in regions} == {m["channels"] for m in measured} == {"6", "7", "8"}
        assert workers[i].startswith(f"board-{board} (tcp://"), workers[i]
        per.setdefault(board, []).append(layer)
    assert {b: sorted(v) for b, v in per.items()} == {b: ["c1", "c1", "c2", "c2"] for b in "ab"}


def test_resume_of_a_blocked_network_farm_sweep_reruns_its_failed_blocks(farm, cli, conv_bench, tmp_path):
    """A conv_bench that fails on any list holding 7 while FAIL exists: every block fails on the farm (each holds
    its layer's 7 channels); --resume --cluster re-forms the stored blocks and runs them on the board."""
    pytest.importorskip("onnx")
    from onnx_models import failing_lists, tiny_model
    wrapper = failing_lists(tmp_path, conv_bench)
    model = tiny_model(tmp_path / "tiny.onnx", [("c1", 8, 3, 1, 1, 1), ("c2", 8, 3, 1, 1, 1), ("c3", 8, 3, 1, 1, 1)])
    p = cli("network", model, "--iters", "2", "--warmup", "1", "--scale", "1", "--repeat", "2", "--distances", "0:2",
            "-q", "--conv-bench", wrapper, "--block", "3", "--cluster", farm.file, "--board", "a", "-o", "net.db",
            cwd=tmp_path)
    assert p.returncode == 1
    assert "cltrace: 12/12 runs recorded in net.db; 12 failed" in p.stderr.splitlines(), p.stderr
    (tmp_path / "FAIL").unlink()
    p = cli("network", "--resume", "-q", "-o", "net.db", "--cluster", farm.file, "--board", "a", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "cltrace: resume: 0 runs already done, 12 to go" in p.stderr.splitlines()
    with sqlite3.connect(tmp_path / "net.db") as db:
        assert db.execute("SELECT status FROM sweeps").fetchone()[0] == "complete"
        assert db.execute("SELECT COUNT(*), SUM(status = 'ok') FROM runs").fetchone() == (8, 4)
    blocks = _blocks(str(tmp_path / "net.db"))
    assert len(blocks) == 4 and sorted(i for pos, *_ in blocks.values() for i in pos) == list(range(12))
