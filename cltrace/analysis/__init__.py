"""Staircase analysis: samples -> configurations -> steps -> causes -> recommendations."""
from .samples import build_samples
from .configs import config_stats
from .steps import detect_steps
from .attribution import attribute
from .staircase import StaircaseResult, analyse

__all__ = ["build_samples", "config_stats", "detect_steps", "attribute", "analyse", "StaircaseResult"]
