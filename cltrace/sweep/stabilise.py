"""Noise at its source: the stabilisers a sweep applies, and the provenance it records per run (docs/noise.md).

Stabilisers (on by default, `cltrace sweep --no-stabilise` turns them off):

- PoCL: thread affinity, POCL_AFFINITY=1, in the traced program's environment only. Without it the pthread
  device's workers float between cores and one configuration's latency differs from process to process.
- Where the files are writable (a board, as root): the CPU frequency governor of every cpufreq policy and the
  governor of every GPU devfreq device set to `performance` for the sweep, and set back afterwards, also
  after Ctrl-C or an error.

A setting the user made wins: a POCL_AFFINITY already in the environment is kept, a governor that is already
`performance`, or `userspace` (a frequency pinned by hand), is left alone. Nothing is written where the file is
not writable; the stabiliser is then recorded as not applied, and the analysis' noise estimate (measured from
the samples, never assumed) is all there is.

Provenance, per run: the stabilisers in force, the CPU count, load average, CPU and GPU frequencies, governors
and the hottest thermal zone before and after the run, and the CPU time other processes used while it ran.

The machine's state is read (and the governors written) below one root directory, `/` unless
CLTRACE_SYSTEM_ROOT names another: tests point it at a fake tree with sys/ and proc/ in it, so that no test
ever writes the real sysfs. The OpenCL drivers are found where the ICD loader finds them (OCL_ICD_FILENAMES,
OCL_ICD_VENDORS, /etc/OpenCL/vendors), so a fake root keeps PoCL's affinity stabiliser.
"""
import glob
import json
import os
import resource
import time
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

from ..options import env_value

SYSTEM_ROOT_ENV = "CLTRACE_SYSTEM_ROOT"
PERFORMANCE = "performance"
LEFT_ALONE = ("performance", "userspace")    # the fastest already, or a frequency someone chose by hand
POCL_AFFINITY = "POCL_AFFINITY"
ICD_VENDORS = "/etc/OpenCL/vendors"          # the loader's own configuration: read where the loader reads it
_GPU_WORDS = ("gpu", "mali", "kgsl", "g3d", "sgx", "pvr", "adreno", "v3d", "panfrost", "etnaviv")


def _writable(path: str) -> bool:
    return os.access(path, os.W_OK)


@dataclass
class Setting:
    """One stabiliser as it stood during the sweep."""
    name: str           # POCL_AFFINITY | cpu-governor | gpu-governor:<devfreq device>
    value: str          # the value in force ("-" when there is none)
    applied: bool       # True: cltrace set it for the sweep
    detail: str         # why it is (or is not) so

    def describe(self) -> str:
        return f"{self.name}={self.value} ({self.detail})"


@dataclass
class _Governed:
    """A governor file and the value cltrace found there."""
    path: str
    previous: str


class System:
    """Reads the machine's state below a root directory (`/`, or CLTRACE_SYSTEM_ROOT): sys/ and proc/."""

    def __init__(self, root: Optional[str] = None):
        self.root = root or env_value(SYSTEM_ROOT_ENV) or "/"
        self._layout: Optional[tuple] = None

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    @staticmethod
    def read(path: str) -> Optional[str]:
        try:
            with open(path) as f:
                return f.read().strip()
        except (OSError, UnicodeDecodeError):
            return None

    def _read_int(self, path: str) -> Optional[int]:
        text = self.read(path)
        try:
            return int(text) if text is not None else None
        except ValueError:
            return None

    # -- what there is -------------------------------------------------------------------------------------
    def cpufreq_dirs(self) -> List[str]:
        """One cpufreq directory per policy (cpuN/cpufreq is often a link to a shared policy directory)."""
        seen, out = set(), []
        for d in sorted(glob.glob(self.path("sys", "devices", "system", "cpu", "cpu[0-9]*", "cpufreq")),
                        key=_natural):
            real = os.path.realpath(d)
            if real not in seen and os.path.exists(os.path.join(d, "scaling_governor")):
                seen.add(real)
                out.append(d)
        return out

    def cpu_freq_dirs(self) -> List[str]:
        """Every CPU's cpufreq directory (for frequencies: one per CPU, links included)."""
        return sorted(glob.glob(self.path("sys", "devices", "system", "cpu", "cpu[0-9]*", "cpufreq")),
                      key=_natural)

    def gpu_devfreqs(self) -> List[str]:
        """devfreq devices that are GPUs, by their name or their device tree `compatible` string."""
        out = []
        for d in sorted(glob.glob(self.path("sys", "class", "devfreq", "*"))):
            name = os.path.basename(d).lower()
            compatible = (self.read(os.path.join(d, "device", "of_node", "compatible")) or "").lower()
            if any(w in name or w in compatible for w in _GPU_WORDS) and \
                    os.path.exists(os.path.join(d, "governor")):
                out.append(d)
        return out

    def drivers(self, env: Mapping[str, str]) -> List[str]:
        """The OpenCL drivers (ICDs) a program started with `env` can load: those OCL_ICD_FILENAMES names
        and those of the vendors directory (OCL_ICD_VENDORS, else /etc/OpenCL/vendors)."""
        libs = [p for p in env.get("OCL_ICD_FILENAMES", "").split(":") if p]
        vendors = env.get("OCL_ICD_VENDORS") or ICD_VENDORS
        icds = [vendors] if os.path.isfile(vendors) else sorted(glob.glob(os.path.join(vendors, "*.icd")))
        for icd in icds:
            text = self.read(icd)
            if text:
                libs.append(text.splitlines()[0].strip())
        found = []
        for lib in libs:
            base = os.path.basename(lib).lower()
            name = next((n for w, n in (("pocl", "pocl"), ("nvidia", "nvidia"), ("cuda", "nvidia"),
                                        ("mali", "mali"), ("igdrcl", "intel"), ("intelocl", "intel"),
                                        ("amdocl", "amd"), ("rusticl", "rusticl"), ("clvk", "clvk"))
                         if w in base), base)
            if name not in found:
                found.append(name)
        return found

    def cpu_count(self) -> int:
        return os.cpu_count() or 1

    # -- how it is now -------------------------------------------------------------------------------------
    def loadavg(self) -> Optional[List[float]]:
        text = self.read(self.path("proc", "loadavg"))
        try:
            return [float(x) for x in text.split()[:3]] if text else None
        except ValueError:
            return None

    def busy_seconds(self) -> Optional[float]:
        """CPU-seconds every CPU has spent busy since boot (user, nice, system, irq, softirq, steal)."""
        text = self.read(self.path("proc", "stat"))
        if not text or not text.startswith("cpu "):
            return None
        try:
            f = [int(x) for x in text.splitlines()[0].split()[1:]]
        except ValueError:
            return None
        busy = f[0] + f[1] + f[2] + sum(f[5:8])
        return busy / os.sysconf("SC_CLK_TCK")

    def governors(self, dirs: List[str], file: str = "scaling_governor") -> Optional[str]:
        values = [self.read(os.path.join(d, file)) for d in dirs]
        return _tally([v for v in values if v]) or None

    def _snapshot_layout(self) -> tuple:
        """The files a snapshot reads, found once per System (one per sweep): which CPUs, GPU devfreq devices and
        thermal zones there are, and the zones' names, do not change between runs; the values in those files
        (frequencies, governors, temperatures) are read at every snapshot. Finding them (six globs) cost about as
        much as reading them (docs/scale.md)."""
        if self._layout is None:
            zones = [(os.path.join(z, "temp"), self.read(os.path.join(z, "type")) or os.path.basename(z))
                     for z in glob.glob(self.path("sys", "class", "thermal", "thermal_zone*"))]
            self._layout = (self.cpu_freq_dirs(), self.cpufreq_dirs(), self.gpu_devfreqs(), zones)
        return self._layout

    def snapshot(self) -> dict:
        """The machine's state now: what a run's provenance records before and after it."""
        freq_dirs, policies, devfreqs, zones = self._snapshot_layout()
        snap: dict = {"load": self.loadavg()}
        khz = [self._read_int(os.path.join(d, "scaling_cur_freq")) for d in freq_dirs]
        khz = [k for k in khz if k]
        snap["cpu_mhz"] = [min(khz) // 1000, max(khz) // 1000] if khz else None
        snap["cpu_governor"] = self.governors(policies)
        gpus = {}
        for d in devfreqs:
            hz = self._read_int(os.path.join(d, "cur_freq"))
            gpus[os.path.basename(d)] = {"governor": self.read(os.path.join(d, "governor")),
                                         "mhz": hz // 1_000_000 if hz else None}
        snap["gpu"] = gpus or None
        temps = []
        for temp, name in zones:
            t = self._read_int(temp)
            if t is not None and -50_000 < t < 200_000:
                temps.append((t, name))
        hottest = max(temps) if temps else None
        snap["temp_c"] = round(hottest[0] / 1000, 1) if hottest else None
        snap["temp_zone"] = hottest[1] if hottest else None
        return snap


def _natural(path: str):
    digits = "".join(ch for ch in os.path.basename(os.path.dirname(path)) if ch.isdigit())
    return (int(digits) if digits else -1, path)


def _tally(values: List[str]) -> str:
    """'schedutil' when all agree, else 'schedutil x6, performance x2'."""
    counts: Dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{v} x{n}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))


class Stabilisers:
    """The stabilisers of one sweep: decided and applied on entry, system settings restored on exit.

    `child_env` is the traced program's environment (the user's plus the env stabilisers); cltrace's own
    environment is never changed."""

    def __init__(self, enabled: bool, env: Optional[Mapping[str, str]] = None, system: Optional[System] = None,
                 warn=None):
        self.enabled = enabled
        self.system = system or System()
        self.base_env = dict(os.environ if env is None else env)
        self.child_env: Dict[str, str] = dict(self.base_env)
        self.settings: List[Setting] = []
        self.drivers: List[str] = []
        self._changed: List[_Governed] = []
        self._warn = warn or (lambda message: None)

    # -- deciding and applying ---------------------------------------------------------------------------
    def apply(self) -> "Stabilisers":
        self.drivers = self.system.drivers(self.base_env)
        if "pocl" in self.drivers or POCL_AFFINITY in self.base_env:
            self._env_setting(POCL_AFFINITY, "1", "PoCL thread affinity")
        cpus = self.system.cpufreq_dirs()
        if cpus:
            self._governor("cpu-governor", cpus, "scaling_governor", "scaling_available_governors",
                           f"{len(cpus)} cpufreq polic{'y' if len(cpus) == 1 else 'ies'}")
        for d in self.system.gpu_devfreqs():
            self._governor(f"gpu-governor:{os.path.basename(d)}", [d], "governor", "available_governors",
                           "GPU devfreq")
        return self

    def _env_setting(self, name: str, value: str, what: str) -> None:
        if name in self.base_env:
            self.settings.append(Setting(name, self.base_env[name], False, f"{what}: yours, kept"))
        elif not self.enabled:
            self.settings.append(Setting(name, "-", False, f"{what}: off (--no-stabilise)"))
        else:
            self.child_env[name] = value
            self.settings.append(Setting(name, value, True, f"{what}: set by cltrace for the traced program"))

    def _governor(self, name: str, dirs: List[str], file: str, available_file: str, what: str) -> None:
        read = self.system.read
        now = self.system.governors(dirs, file) or "unknown"
        if not self.enabled:
            self.settings.append(Setting(name, now, False, f"{what}: left as it was (--no-stabilise)"))
            return
        todo = []
        for d in dirs:
            current = read(os.path.join(d, file))
            available = (read(os.path.join(d, available_file)) or "").split()
            if current in LEFT_ALONE or current is None or (available and PERFORMANCE not in available):
                continue
            todo.append(_Governed(os.path.join(d, file), current))
        if not todo:
            why = {"performance": "already performance",
                   "userspace": "userspace: a frequency chosen by hand, kept"}.get(now, "no performance governor")
            self.settings.append(Setting(name, now, False, f"{what}: {why}"))
            return
        locked = [g for g in todo if not _writable(g.path)]
        if locked:
            self.settings.append(Setting(name, now, False, f"{what}: not writable, left as it was (as root, "
                                                           f"cltrace sets {PERFORMANCE} for the sweep)"))
            return
        problems = []
        for g in todo:
            try:
                with open(g.path, "w") as f:
                    f.write(PERFORMANCE)
            except OSError as e:
                problems.append(e.strerror or str(e))
                continue
            self._changed.append(g)
            if read(g.path) != PERFORMANCE:
                problems.append(f"{g.path} reads {read(g.path)!r} after the write")
        was = _tally([g.previous for g in todo])
        if problems:
            self.settings.append(Setting(name, self.system.governors(dirs, file) or "unknown", False,
                                         f"{what}: could not set {PERFORMANCE} ({problems[0]})"))
        else:
            self.settings.append(Setting(name, PERFORMANCE, True,
                                         f"{what}: set by cltrace, was {was}, restored after the sweep"))

    # -- undoing -------------------------------------------------------------------------------------------
    def restore(self) -> List[str]:
        """Set every changed file back; returns one message per file that could not be."""
        problems = []
        while self._changed:
            g = self._changed.pop()
            try:
                with open(g.path, "w") as f:
                    f.write(g.previous)
            except OSError as e:
                problems.append(f"could not set {g.path} back to {g.previous} ({e.strerror or e}); "
                                f"do it by hand: echo {g.previous} > {g.path}")
        return problems

    def __enter__(self) -> "Stabilisers":
        try:
            return self.apply()
        except BaseException:
            for message in self.restore():
                self._warn(message)
            raise

    def __exit__(self, *exc) -> bool:
        for message in self.restore():
            self._warn(message)
        return False

    # -- reporting -----------------------------------------------------------------------------------------
    def summary(self) -> str:
        if not self.settings:
            return "stabilisers: none known for this machine (see docs/noise.md)"
        return "stabilisers: " + "; ".join(s.describe() for s in self.settings)


def _own_cpu_seconds() -> float:
    """CPU time of cltrace (all its threads) and of its children that have ended."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class RunMeter:
    """Measures one run's surroundings: the machine's state before and after, and how many CPUs other
    processes kept busy meanwhile (all CPUs' busy time from /proc/stat minus cltrace's and the traced
    program's own CPU time, over the wall time). The load average alone cannot tell the sweep's own
    runs, which raise it, from other work."""

    def __init__(self, system: System):
        self.system = system

    def start(self) -> "RunMeter":
        self.before = self.system.snapshot()
        self._t0 = time.monotonic()
        self._busy0 = self.system.busy_seconds()
        self._own0 = _own_cpu_seconds()
        return self

    def stop(self) -> dict:
        busy1, own1 = self.system.busy_seconds(), _own_cpu_seconds()
        span = time.monotonic() - self._t0
        others = None
        if self._busy0 is not None and busy1 is not None and span > 0:
            others = round(max(0.0, (busy1 - self._busy0) - (own1 - self._own0)) / span, 3)
        return {"span_s": round(span, 3), "others_busy_cpus": others, "before": self.before,
                "after": self.system.snapshot()}


def provenance(stabilisers: Stabilisers, measured: dict) -> dict:
    """The `provenance` note of one run (docs/noise.md)."""
    return {"cpus": stabilisers.system.cpu_count(), "drivers": stabilisers.drivers,
            "stabilise": stabilisers.enabled, **measured}


def provenance_json(stabilisers: Stabilisers, measured: dict) -> str:
    return json.dumps(provenance(stabilisers, measured), separators=(",", ":"), sort_keys=True)
