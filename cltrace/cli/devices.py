"""cltrace devices: what a traced program will see, and how cltrace would get into it."""
import glob
import json
import os
import re

from ..capture import emulation
from ..capture.loader import system_loader
from ..capture.modes import resolve_mode
from .base import EXIT_ERROR, EXIT_OK, Command


def _info(d, read):
    """A device query through pyopencl, or None when the driver (or this pyopencl) cannot answer it."""
    import pyopencl as cl
    try:
        return read(d)
    except (cl.Error, AttributeError, ValueError):
        return None


def _non_uniform(d):
    import pyopencl as cl
    value = d.get_info(cl.device_info.NON_UNIFORM_WORK_GROUP_SUPPORT)
    return bool(value)


def non_uniform_text(d) -> str:
    """What the device says about work-groups that do not divide the global size, as the driver reports it."""
    q = "CL_DEVICE_NON_UNIFORM_WORK_GROUP_SUPPORT"
    if d.get("non_uniform_wg") is True:
        text = f"supported ({q} = CL_TRUE)"
    elif d.get("non_uniform_wg") is False:
        text = f"not supported ({q} = CL_FALSE)"
    else:
        text = f"not reported (the driver does not answer {q}, an OpenCL 3.0 query)"
    arm = [e for e in d.get("extensions") or [] if "non_uniform_work_group" in e]
    if arm:
        text += "; extension " + ", ".join(arm)
    return text


def _short_version(text):
    """"OpenCL 3.0" of "OpenCL 3.0 PoCL HSTR: ...", "OpenCL C 1.2" of "OpenCL C 1.2 PoCL"; else the text whole."""
    m = re.match(r"OpenCL (C )?\d+\.\d+", text)
    return m.group(0) if m else text


def list_platforms():
    """[(platform name, version, [device dicts])] through pyopencl; [] when there is none."""
    try:
        import pyopencl as cl
    except ImportError as e:          # pragma: no cover - pyopencl is a dependency
        return [], f"pyopencl cannot be imported: {e}"
    try:
        platforms = cl.get_platforms()
    except cl.Error as e:             # pyopencl's e.what is a record, not a method: str(e) has the call and code
        return [], f"no OpenCL platform found ({e})"
    out = []
    for p in platforms:
        devs = []
        try:
            for d in p.get_devices():
                devs.append({"name": d.name.strip(), "type": cl.device_type.to_string(d.type),
                             "vendor": d.vendor.strip(), "driver": d.driver_version,
                             "compute_units": d.max_compute_units,
                             "max_work_group_size": d.max_work_group_size,
                             "global_mem_mib": d.global_mem_size // (1 << 20),
                             "opencl_version": _info(d, lambda d: d.version.strip()),
                             "opencl_c_version": _info(d, lambda d: d.opencl_c_version.strip()),
                             "non_uniform_wg": _info(d, _non_uniform),
                             "extensions": (_info(d, lambda d: d.extensions) or "").split() or None})
        except cl.Error:
            pass
        out.append({"platform": p.name.strip(), "version": p.version.strip(), "devices": devs})
    return out, "" if out else "no OpenCL platform found"


class DevicesCommand(Command):
    name = "devices"
    help = "list OpenCL platforms and devices, the ICD loader, and the capture mode 'run' will use"

    def add_arguments(self, p):
        p.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    def run(self, args) -> int:
        platforms, problem = list_platforms()
        loader = system_loader()
        vendors = os.environ.get("OCL_ICD_VENDORS", "/etc/OpenCL/vendors")
        icds = sorted(glob.glob(os.path.join(vendors, "*.icd")))
        mode = resolve_mode("auto", loader)
        guests = emulation.status(os.environ)
        if args.format == "json":
            print(json.dumps({"platforms": platforms, "problem": problem or None,
                              "loader": loader.path, "loader_supports_layers": loader.supports_layers,
                              "icd_files": icds, "capture_mode": mode, "emulation": guests}, indent=2))
            return EXIT_OK if platforms else EXIT_ERROR
        from rich.console import Console
        from rich.table import Table
        import sys
        console = Console(width=None if sys.stdout.isatty() else 200)   # piped: no 80-column truncation
        if platforms:
            t = Table(title="OpenCL devices")
            for col in ("platform", "device", "type", "compute units", "max work-group", "memory", "driver"):
                t.add_column(col)
            for p in platforms:
                for d in p["devices"] or [{}]:
                    t.add_row(p["platform"], d.get("name", "(none)"), d.get("type", ""),
                              str(d.get("compute_units", "")), str(d.get("max_work_group_size", "")),
                              f"{d['global_mem_mib']} MiB" if d else "", d.get("driver", ""))
            console.print(t)
            for p in platforms:
                for d in p["devices"]:
                    level = ", ".join(_short_version(v) for v in (d.get("opencl_version"), d.get("opencl_c_version"))
                                      if v)
                    console.print(f"{d['name']}: {level or 'OpenCL version not reported'}; non-uniform work-groups: "
                                  f"{non_uniform_text(d)}", highlight=False, markup=False, soft_wrap=True)
        else:
            console.print(f"[bold red]{problem}[/]: check that an ICD is installed (Debian: apt-get install "
                          f"pocl-opencl-icd) and listed in {vendors}", highlight=False)
        console.print(f"ICD loader: {loader.description}")
        console.print(f"ICD files: {', '.join(icds) if icds else 'none'}")
        why = "the loader supports OPENCL_LAYERS" if mode == "layer" else \
            "the loader has no layer support: LD_PRELOAD + shadow libOpenCL.so.1"
        console.print(f"cltrace run --mode auto will use: [bold]{mode}[/] ({why})")
        for g in guests:
            state = (f"ready: run under {g['emulator']} with the shim in {g['shim_dir']} (docs/acl.md)"
                     if g["ready"] else f"not ready: {g['problem']}")
            console.print(f"{g['arch']} programs (emulated; their timings are not a device's): {state}",
                          highlight=False, markup=False)
        return EXIT_OK if platforms else EXIT_ERROR
