"""Targets: the devices a trace's dispatch facts can be projected onto, and the default job policy of a trace.

One table, each entry with its sources. A figure nobody measured or published is None ("unknown"), never a
guess; what is uncertain is said in ``uncertain``. ``cores`` are the units a work-group runs on whole (Mali
shader cores, Intel EUs are not that: subslices would be, and vary by SKU, so unknown).

``default_policy`` decides, from the facts a trace records (the device's name, vendor, OpenCL version,
CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, extensions, and the program's build options), how the device that
ran it executes a non-uniform range (jobs.POLICIES), with the reason in words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    policy: str                       # jobs.POLICIES
    cores: int | None                 # None: unknown
    quad: int | None                  # threads issued together (Bifrost quad = 4); None: unknown
    sources: tuple = ()
    uncertain: tuple = field(default_factory=tuple)

    def summary(self) -> str:
        cores = "cores unknown" if self.cores is None else f"{self.cores} cores"
        return f"{self.name} ({self.description}; {cores}; non-uniform ranges: {self.policy})"


TARGETS = {t.name: t for t in (
    Target("mali-g72-mp12", "HiKey 970 (Kirin 970), Arm Mali-G72 MP12, Bifrost", "split", 12, 4,
           sources=("Kirin 970: Mali-G72 MP12, 12 shader cores (Arm/HiSilicon product data; the seed paper's board)",
                    "a Mali job descriptor holds one work-group size and count (Panfrost pan_encoder.h): a "
                    "remainder region needs a job of its own, the extra gemm_mm job of the seed paper's Tables I-IV",
                    "Bifrost quad of 4 threads: ACL CLGEMMMatrixMultiplyKernel.cpp local hint cl::NDRange(4)")),
    Target("mali-t628-mp6", "Odroid XU4 (Exynos 5422), Arm Mali-T628 MP6, Midgard", "split", 4, None,
           sources=("Exynos 5422: Mali-T628 MP6 (Samsung product data)",
                    "a Mali job descriptor holds one work-group size and count (Panfrost pan_encoder.h)"),
           uncertain=("its driver exposes the six cores as two OpenCL devices, 4 + 2 cores (medium confidence); "
                      "cores = 4 is the larger device",
                      "whether this driver accepts non-uniform ranges (cl_arm_non_uniform_work_group_size) is not "
                      "known here; the policy assumes it does, as ACL's build options ask")),
    Target("intel-gen", "Intel integrated GPU, NEO compute runtime", "split", None, None,
           sources=("NEO runtime/helpers/dispatch_info_builder.h (WalkerSplit): a bulk walker alignDown(gws, lws) "
                    "plus remainder walkers",),
           uncertain=("the number of units a work-group runs on (subslices) differs by SKU: rounds unknown",)),
    Target("clvk", "clvk (OpenCL on Vulkan) with clspv", "split", None, None,
           sources=("google/clspv#522: a non-uniform range becomes 1-8 uniform regions, one dispatch each",),
           uncertain=("cores depend on the Vulkan device underneath",)),
    Target("gallium", "Mesa Gallium drivers (rusticl, Clover)", "masked", None, None,
           sources=("Gallium grid launch info last_block: the lanes past the edge are masked in one job",),
           uncertain=("cores depend on the GPU",)),
    Target("pocl-cpu", "PoCL 3.1 CPU device", "refuse", None, None,
           sources=("pocl#782: PoCL 3.1 returns CL_INVALID_WORK_GROUP_SIZE for a non-uniform range",),
           uncertain=("cores: PoCL's compute units, taken from the trace when it ran on PoCL",)),
)}


def target(name: str) -> Target:
    """The target called ``name``; ValueError naming the known ones otherwise."""
    if name in TARGETS:
        return TARGETS[name]
    raise ValueError(f"unknown target {name!r}: known targets are {', '.join(TARGETS)}")


_NON_UNIFORM_OPTION = "-cl-arm-non-uniform-work-group-size"
_UNIFORM_OPTION = "-cl-uniform-work-group-size"
_STD = re.compile(r"-cl-std=CL(\d+)\.(\d+)")


def asks_non_uniform(options) -> bool | None:
    """Whether build options allow non-uniform work-groups: -cl-arm-non-uniform-work-group-size, or -cl-std=CL2.0
    and later without -cl-uniform-work-group-size. None when the options are unknown."""
    if options is None:
        return None
    opts = str(options).split()
    if _UNIFORM_OPTION in opts:
        return False
    if _NON_UNIFORM_OPTION in opts:
        return True
    return any(int(m.group(1)) >= 2 for o in opts if (m := _STD.fullmatch(o)))


def _known(v) -> bool:
    return v is not None and not (isinstance(v, float) and v != v)


def device_accepts_non_uniform(opencl_version=None, non_uniform_wg=None, extensions=None) -> bool | None:
    """From the device's facts: True (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT, cl_arm_non_uniform_work_group_size,
    or an OpenCL 2.x device, where it is mandatory), False (an OpenCL 1.x device without the extension, or a 3.0
    device that says no), None (nothing recorded)."""
    if _known(extensions) and "cl_arm_non_uniform_work_group_size" in str(extensions).split():
        return True
    if _known(non_uniform_wg):
        return bool(int(non_uniform_wg))
    m = re.match(r"OpenCL (\d+)\.(\d+)", str(opencl_version)) if _known(opencl_version) else None
    if m:
        major = int(m.group(1))
        return True if major == 2 else (False if major < 2 else None)
    return None


_RUNTIMES = (   # (pattern over name, vendor and platform, policy, who); first match wins: a PoCL CPU device's
    # name carries the CPU's ("cpu-haswell-Intel(R) Core..."), the emulated boards' name is Mali's
    (re.compile(r"(?i)\bmali\b"), "split", "Arm Mali"),
    (re.compile(r"(?i)clvk"), "split", "clvk"),
    (re.compile(r"(?i)portable computing language|\bpocl\b"), "refuse", "PoCL"),
    (re.compile(r"(?i)\bintel\b"), "split", "Intel NEO"),
    (re.compile(r"(?i)rusticl|clover|mesa"), "masked", "Mesa Gallium"),
)


def default_policy(name=None, vendor=None, platform=None, opencl_version=None, non_uniform_wg=None,
                   extensions=None, options=None) -> tuple[str | None, str]:
    """(policy, reason) for one device and program: how a non-uniform launch of that program runs there.
    None when the facts do not tell (e.g. an unknown runtime)."""
    text = " ".join(str(x) for x in (name, vendor, platform) if _known(x))
    runtime = next(((p, who) for rx, p, who in _RUNTIMES if rx.search(text)), None)
    asks = asks_non_uniform(options)
    accepts = device_accepts_non_uniform(opencl_version, non_uniform_wg, extensions)
    if asks is False:
        return "refuse", "the program was built without non-uniform work-groups (OpenCL 1.x rules or " \
                         "-cl-uniform-work-group-size): a non-uniform range fails"
    if accepts is False:
        return "refuse", f"the device ({name}) does not accept non-uniform work-groups"
    if runtime is None:
        return None, f"unknown runtime for device {name!r}: choose --target"
    policy, who = runtime
    if policy == "refuse":
        if accepts:
            # PoCL says no itself (CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT 0, no such extension): a yes comes from
            # a layer below the tracer (examples/acl_compat, split) that runs the range as uniform regions
            return "split", (f"{who} refuses non-uniform ranges itself, but this device says it accepts them: a "
                             "layer below the tracer (examples/acl_compat) runs them as uniform regions")
        return "refuse", f"{who} refuses non-uniform ranges (CL_INVALID_WORK_GROUP_SIZE)"
    why = "the program asks for non-uniform work-groups" if asks else "build options unknown"
    return policy, f"{who}: {'one job per uniform region' if policy == 'split' else 'one masked job'} ({why})"


def _col(row: dict, name: str):
    v = row.get(name)
    return v if _known(v) else None


def run_policies(devices, build_options=None) -> dict:
    """run_id -> (policy, reason) from the trace's facts: ``devices`` (Trace.devices: run_id, name, vendor,
    platform_name, and where recorded opencl_version, non_uniform_wg, extensions) and ``build_options``
    (Trace.kernel_build_options: run_id, options). A run whose devices disagree gets (None, why)."""
    asks: dict = {}
    if build_options is not None and len(build_options):
        for run, opts in build_options.groupby("run_id")["options"]:
            said = [asks_non_uniform(o) for o in opts]
            asks[int(run)] = (" ".join(str(o) for o, a in zip(opts, said) if a) if any(said) else
                              (str(opts.iloc[0]) if said and all(a is False for a in said) else None))
    out: dict = {}
    if devices is None or not len(devices):
        return out
    for run, g in devices.groupby("run_id"):
        found = {}
        for r in g.to_dict("records"):
            found[default_policy(_col(r, "name"), _col(r, "vendor"), _col(r, "platform_name"),
                                 _col(r, "opencl_version"), _col(r, "non_uniform_wg"), _col(r, "extensions"),
                                 asks.get(int(run)))] = True
        if len({p for p, _ in found}) == 1:
            out[int(run)] = next(iter(found))
        else:
            out[int(run)] = (None, "the run used devices that run non-uniform ranges differently: choose --target")
    return out
