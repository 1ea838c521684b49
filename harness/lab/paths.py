"""Where the lab keeps its cached images and per-lab state (XDG directories of the caller)."""

import os
from pathlib import Path


def cache_root() -> Path:
    """Cached node images: ~/.cache/harness/lab (or $XDG_CACHE_HOME/harness/lab)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "harness" / "lab"


def state_root() -> Path:
    """Per-lab state: ~/.local/state/harness/lab (or $XDG_STATE_HOME/harness/lab)."""
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "harness" / "lab"
