"""Shared test set-up: one PoCL kernel cache for the whole suite (first compiles are slow)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
os.makedirs(os.environ["POCL_CACHE_DIR"], exist_ok=True)
# `cltrace sweep` sets CPU/GPU governors to performance where sysfs is writable (restoring them after):
# never from the test suite. An empty system root makes every sweep of the tests leave sysfs alone.
_SYSROOT = os.path.join(ROOT, ".pocl-cache", "empty-system-root")
os.makedirs(_SYSROOT, exist_ok=True)
os.environ.setdefault("CLTRACE_SYSTEM_ROOT", _SYSROOT)
