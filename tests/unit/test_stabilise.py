"""Stabilisers and provenance on a fake system tree: nothing here reads or writes the real /sys."""
import json

import pytest

from cltrace.sweep import stabilise
from cltrace.analysis.load import LoadVerdict, judge_load
from cltrace.sweep.stabilise import RunMeter, Stabilisers, System, provenance


def fake_system(root, governors=("schedutil", "schedutil"), available="performance schedutil powersave",
                gpu_governor="simple_ondemand", icd="libpocl.so.2.10.0", shared_policy=False):
    """cpuN/cpufreq (each its own policy, or all links to policy0), a GPU and a memory devfreq, thermal
    zones, /proc/loadavg and /proc/stat below `root`; an ICD vendors directory in root/vendors (give it as
    OCL_ICD_VENDORS: see icd_env)."""
    cpu = root / "sys" / "devices" / "system" / "cpu"
    for i, gov in enumerate(governors):
        policy = cpu / "cpufreq" / f"policy{0 if shared_policy else i}"
        if not policy.exists():
            policy.mkdir(parents=True)
            (policy / "scaling_governor").write_text(gov + "\n")
            (policy / "scaling_available_governors").write_text(available + "\n")
            (policy / "scaling_cur_freq").write_text(f"{1200000 + i * 100000}\n")
        (cpu / f"cpu{i}").mkdir(parents=True)
        (cpu / f"cpu{i}" / "cpufreq").symlink_to(policy)
    devfreq = root / "sys" / "class" / "devfreq"
    for name, gov in (("ff9a0000.gpu", gpu_governor), ("dmc", "simple_ondemand")):
        d = devfreq / name
        d.mkdir(parents=True)
        (d / "governor").write_text(gov + "\n")
        (d / "available_governors").write_text("simple_ondemand performance powersave\n")
        (d / "cur_freq").write_text("400000000\n")
    for i, (t, kind) in enumerate(((45000, "soc-thermal"), (52500, "gpu-thermal"))):
        z = root / "sys" / "class" / "thermal" / f"thermal_zone{i}"
        z.mkdir(parents=True)
        (z / "temp").write_text(f"{t}\n")
        (z / "type").write_text(kind + "\n")
    (root / "proc").mkdir()
    (root / "proc" / "loadavg").write_text("0.50 0.40 0.30 1/100 1234\n")
    (root / "proc" / "stat").write_text("cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 50 0 25 500 0 0 0 0 0 0\n")
    vendors = root / "vendors"
    vendors.mkdir()
    if icd:
        (vendors / "x.icd").write_text(icd + "\n")
    return root


def icd_env(root, **more):
    """An environment whose ICD loader configuration is the fake tree's (never the machine's)."""
    return {"OCL_ICD_VENDORS": str(root / "vendors"), **more}


def governor(root, i=0):
    policy = root / "sys" / "devices" / "system" / "cpu" / "cpufreq" / f"policy{i}"
    return (policy / "scaling_governor").read_text().strip()


def gpu_governor(root, name="ff9a0000.gpu"):
    return (root / "sys" / "class" / "devfreq" / name / "governor").read_text().strip()


def test_applies_every_stabiliser_and_sets_the_system_back(tmp_path):
    root = fake_system(tmp_path)
    env = icd_env(root, PATH="/bin")
    with Stabilisers(True, env, System(str(root))) as s:
        assert s.child_env == {**env, "POCL_AFFINITY": "1"}
        assert env == icd_env(root, PATH="/bin")               # only the traced program's environment
        assert governor(root, 0) == governor(root, 1) == "performance"
        assert gpu_governor(root) == "performance"
        assert gpu_governor(root, "dmc") == "simple_ondemand"   # not a GPU: not touched
        assert [x.describe() for x in s.settings] == [
            "POCL_AFFINITY=1 (PoCL thread affinity: set by cltrace for the traced program)",
            "cpu-governor=performance (2 cpufreq policies: set by cltrace, was schedutil, restored after the sweep)",
            "gpu-governor:ff9a0000.gpu=performance (GPU devfreq: set by cltrace, was simple_ondemand, restored "
            "after the sweep)"]
        assert all(x.applied for x in s.settings)
    assert governor(root, 0) == governor(root, 1) == "schedutil"
    assert gpu_governor(root) == "simple_ondemand"


def test_a_shared_policy_is_written_once_and_restored(tmp_path):
    root = fake_system(tmp_path, governors=("ondemand",) * 4, shared_policy=True)
    with Stabilisers(True, icd_env(root), System(str(root))) as s:
        assert governor(root) == "performance"
        assert s.settings[1].describe().startswith("cpu-governor=performance (1 cpufreq policy: set by cltrace, "
                                                   "was ondemand")
    assert governor(root) == "ondemand"


def test_restored_after_an_exception_and_ctrl_c(tmp_path):
    root = fake_system(tmp_path)
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with Stabilisers(True, icd_env(root), System(str(root))):
                assert governor(root) == "performance"
                raise exc
        assert governor(root) == "schedutil" and gpu_governor(root) == "simple_ondemand"


def test_the_users_settings_win(tmp_path):
    root = fake_system(tmp_path, governors=("userspace", "userspace"), gpu_governor="performance")
    with Stabilisers(True, icd_env(root, POCL_AFFINITY="0"), System(str(root))) as s:
        assert s.child_env["POCL_AFFINITY"] == "0"
        assert governor(root) == "userspace"
        assert [x.describe() for x in s.settings] == [
            "POCL_AFFINITY=0 (PoCL thread affinity: yours, kept)",
            "cpu-governor=userspace (2 cpufreq policies: userspace: a frequency chosen by hand, kept)",
            "gpu-governor:ff9a0000.gpu=performance (GPU devfreq: already performance)"]
        assert not any(x.applied for x in s.settings)


def test_opt_out_changes_nothing_and_says_so(tmp_path):
    root = fake_system(tmp_path)
    with Stabilisers(False, icd_env(root), System(str(root))) as s:
        assert s.child_env == icd_env(root)
        assert governor(root) == "schedutil" and gpu_governor(root) == "simple_ondemand"
        assert [x.describe() for x in s.settings] == [
            "POCL_AFFINITY=- (PoCL thread affinity: off (--no-stabilise))",
            "cpu-governor=schedutil (2 cpufreq policies: left as it was (--no-stabilise))",
            "gpu-governor:ff9a0000.gpu=simple_ondemand (GPU devfreq: left as it was (--no-stabilise))"]


def test_never_writes_what_is_not_writable(tmp_path, monkeypatch):
    root = fake_system(tmp_path)
    monkeypatch.setattr(stabilise, "_writable", lambda path: False)
    with Stabilisers(True, icd_env(root), System(str(root))) as s:
        assert governor(root) == "schedutil" and gpu_governor(root) == "simple_ondemand"
        assert s.settings[1].describe() == ("cpu-governor=schedutil (2 cpufreq policies: not writable, left as it "
                                            "was (as root, cltrace sets performance for the sweep))")
        assert not s.settings[1].applied
        assert s.child_env["POCL_AFFINITY"] == "1"             # the environment is always ours to set


def test_a_failed_restore_is_reported_with_the_fix(tmp_path):
    root = fake_system(tmp_path, icd=None)
    said = []
    s = Stabilisers(True, icd_env(root), System(str(root)), warn=said.append)
    with s:
        real = root / "sys" / "devices" / "system" / "cpu" / "cpufreq" / "policy0" / "scaling_governor"
        real.unlink()
        real.mkdir()                                           # cannot be opened for writing any more
    path = root / "sys" / "devices" / "system" / "cpu" / "cpu0" / "cpufreq" / "scaling_governor"
    assert len(said) == 1
    assert said[0].startswith(f"could not set {path} back to schedutil (")
    assert said[0].endswith(f"do it by hand: echo schedutil > {path}")
    assert governor(root, 1) == "schedutil"


def test_no_stabiliser_on_a_bare_machine(tmp_path):
    env = {"OCL_ICD_VENDORS": str(tmp_path / "none")}
    s = Stabilisers(True, env, System(str(tmp_path))).apply()
    assert s.settings == [] and s.drivers == [] and s.child_env == env
    assert s.summary() == "stabilisers: none known for this machine (see docs/noise.md)"
    snap = System(str(tmp_path)).snapshot()
    assert snap == {"load": None, "cpu_mhz": None, "cpu_governor": None, "gpu": None, "temp_c": None,
                    "temp_zone": None}


def test_drivers_from_the_icd_loader_configuration(tmp_path):
    root = fake_system(tmp_path, icd="/opt/nv/libnvidia-opencl.so.1")
    sysm = System(str(root))
    assert sysm.drivers(icd_env(root)) == ["nvidia"]
    assert sysm.drivers(icd_env(root, OCL_ICD_FILENAMES="/x/libpocl.so.2:/y/libMali.so")) == \
        ["pocl", "mali", "nvidia"]
    one = tmp_path / "a.icd"
    one.write_text("libamdocl64.so\n")
    assert sysm.drivers({"OCL_ICD_VENDORS": str(one)}) == ["amd"]                 # a single .icd file
    assert "POCL_AFFINITY" not in Stabilisers(True, icd_env(root), sysm).apply().child_env   # no PoCL


def test_snapshot_and_provenance(tmp_path):
    root = fake_system(tmp_path)
    sysm = System(str(root))
    assert sysm.snapshot() == {"load": [0.5, 0.4, 0.3], "cpu_mhz": [1200, 1300], "cpu_governor": "schedutil",
                               "gpu": {"ff9a0000.gpu": {"governor": "simple_ondemand", "mhz": 400}},
                               "temp_c": 52.5, "temp_zone": "gpu-thermal"}
    assert sysm.busy_seconds() == pytest.approx(150 / __import__("os").sysconf("SC_CLK_TCK"))
    with Stabilisers(True, icd_env(root), sysm) as s:
        measured = RunMeter(sysm).start().stop()
        assert measured["before"]["cpu_governor"] == "performance"
        p = provenance(s, measured)
    assert p["drivers"] == ["pocl"] and p["stabilise"] is True and p["cpus"] >= 1
    assert p["others_busy_cpus"] == 0          # /proc/stat of the fake tree does not move
    assert set(p) == {"cpus", "drivers", "stabilise", "span_s", "others_busy_cpus", "before", "after"}


def _note(others, span=1.0, cpus=4, load=(0.1, 0.1, 0.1)):
    return json.dumps({"cpus": cpus, "others_busy_cpus": others, "span_s": span, "before": {"load": list(load)}})


def test_load_verdicts():
    assert judge_load([]) is None
    assert judge_load([(1, "not json")]) is None
    idle = judge_load([(i, _note(0.3)) for i in range(10)])
    assert idle == LoadVerdict(10, 4, "others", pytest.approx(0.3), 0, 10, False) and idle.warning() is None
    busy = judge_load([(i, _note(3.0 if i < 2 else 0.2)) for i in range(10)])
    assert busy.loaded and busy.loaded_runs == 2
    assert busy.warning() == (
        "warning: the machine was busy (other processes kept 0.8 of 4 CPUs busy on average, "
        "more than 2 in 2 of 10 runs): latencies may be noisier; stop other work and sweep again")
    # short runs are not judged one by one (clock ticks), but count in the average
    short = judge_load([(i, _note(3.0, span=0.01)) for i in range(3)] + [(9, _note(0.1, span=10))])
    assert short.judged_runs == 1 and short.loaded_runs == 0 and not short.loaded
    # without /proc/stat: the load average before the first run
    fallback = [(1, _note(None, load=(5.0, 1, 1))), (2, _note(None, load=(0.1, 1, 1)))]
    v = judge_load(fallback)
    assert v.measure == "loadavg" and v.loaded
    assert v.warning() == ("warning: the machine was busy (load average 5.0 on 4 CPUs before the "
                           "first run): latencies may be noisier; stop other work and sweep again")
    assert not judge_load([(1, _note(None, load=(1.9, 1, 1)))]).loaded
    assert judge_load([(1, json.dumps({"cpus": 2}))]).measure == "none"


def test_the_note_kinds_of_a_sweep_are_documented():
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "schema.md")) as f:
        schema = f.read()
    with open(os.path.join(root, "docs", "noise.md")) as f:
        noise = f.read()
    for kind in ("stabiliser", "provenance", "adaptive-round"):
        assert f"| `{kind}` |" in schema and f"| `{kind}` |" in noise
    for key in ("cpus", "drivers", "stabilise", "span_s", "others_busy_cpus"):
        assert f"| `{key}` |" in noise
