"""Staircase analysis: samples -> configurations -> steps -> causes -> recommendations."""
import importlib

_EXPORTS = {"build_samples": "samples", "config_stats": "configs", "detect_steps": "steps",
            "attribute": "attribution", "analyse": "staircase", "StaircaseResult": "staircase"}
__all__ = list(_EXPORTS)


def __getattr__(name):
    # Lazy (PEP 562): importing one submodule (kernel_stats) must not import scipy through steps.
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
