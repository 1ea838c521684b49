"""Where the harness finds what ships with its code, and where it keeps what outlives a run.

Shipped: the playbooks, the suites and the fixture image recipes are top-level directories of
the checkout; a built wheel carries them inside the package (setup.py copies them there), so an
installed harness finds them without the checkout.

Kept, in the caller's XDG directories: slow builds in ~/.cache/harness/<area> (node images,
Kubernetes, fixture images, staged suites), per-lab state in ~/.local/state/harness/<area>. An
area's own environment variable overrides its directory."""

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = ("playbooks", "suites", "fixtures")


def shipped(name: str) -> Path:
    """The directory `name` (one of SHIPPED): the wheel's copy inside the package, else the
    checkout's (an editable install runs from the checkout)."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else PACKAGE.parent / name


def cache_dir(area: str, override_env: str | None = None) -> Path:
    if override_env and (env := os.environ.get(override_env)):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / area


def state_dir(area: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "harness" / area
