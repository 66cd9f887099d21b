"""Shared test set-up: one PoCL kernel cache for the whole suite (first compiles are slow)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("POCL_CACHE_DIR", os.path.join(ROOT, ".pocl-cache"))
os.makedirs(os.environ["POCL_CACHE_DIR"], exist_ok=True)
