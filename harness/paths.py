"""Where the harness keeps what outlives a run, in the caller's XDG directories: slow builds in
~/.cache/harness/<area> (node images, Kubernetes, fixture images, staged suites), per-lab state
in ~/.local/state/harness/<area>. An area's own environment variable overrides its directory."""

import os
from pathlib import Path


def cache_dir(area: str, override_env: str | None = None) -> Path:
    if override_env and (env := os.environ.get(override_env)):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / area


def state_dir(area: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "harness" / area
