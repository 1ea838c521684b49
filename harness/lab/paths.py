"""Where the lab keeps its cached images and per-lab state (XDG directories of the caller)."""

from pathlib import Path

from harness import paths


def cache_root() -> Path:
    """Cached node images: ~/.cache/harness/lab."""
    return paths.cache_dir("lab")


def state_root() -> Path:
    """Per-lab state: ~/.local/state/harness/lab."""
    return paths.state_dir("lab")
