"""cltrace's region API for the Python examples (conv_bench.py, opencv_conv.py), which run without cltrace
installed: cltrace.region when cltrace is importable, else cltrace/region.py next door (it imports nothing from
the rest of cltrace), else a no-op."""
import contextlib
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load_region():
    try:
        from cltrace.region import region
        return region
    except ImportError:
        pass
    path = os.path.join(os.path.dirname(HERE), "cltrace", "region.py")
    if os.path.exists(path):
        spec = importlib.util.spec_from_file_location("_cltrace_region", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.region
    return lambda name, **tags: contextlib.nullcontext()
