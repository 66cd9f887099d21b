"""Staircase analysis: samples -> configurations -> steps -> causes -> recommendations.

Pure functions over DataFrames: below the report, the network map and cltrace.trace, above the store (it reads
the store's id look-up, store/rows.py), never importing anything that runs, records or prints
(docs/architecture.md). The package exports the two entry points docs/analysis.md starts from."""
import importlib

_EXPORTS = {"build_samples": "samples", "analyse": "staircase"}
__all__ = list(_EXPORTS)


def __getattr__(name):
    # Lazy (PEP 562): importing one submodule (kernel_stats) must not import scipy through steps.
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
