"""crictl, built from the sigs.k8s.io/cri-tools Go module and cached (harness/critools.py,
under ~/.cache/harness/crictl/<version>/), and the /etc/crictl.yaml the migration writes beside
it on each node (Debian 12 packages no crictl)."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness import critools
from harness.cri.endpoint import normalize
from harness.errors import InputError

DEFAULT_VERSION = critools.DEFAULT_VERSION
RELEASES = critools.RELEASES
DEFAULT_ENDPOINT = "unix:///run/containerd/containerd.sock"


def cache_root() -> Path:
    """$HARNESS_CRICTL_CACHE, else ~/.cache/harness/crictl."""
    return critools.CRICTL.cache_root()


def check_version(version: str, flag: str = "--crictl-version") -> str:
    """`version` without its "v", if it is one this harness can build."""
    return critools.check_version(critools.CRICTL, version, flag)


def build(version: str = DEFAULT_VERSION, *, rebuild: bool = False, say=None) -> Path:
    """The verified crictl of `version`, built first if not cached (or if `rebuild`)."""
    return critools.build(critools.CRICTL, version, "--crictl-version", rebuild=rebuild, say=say)


def crictl_yaml(endpoint: str = DEFAULT_ENDPOINT, timeout: int = 30) -> str:
    """The text of /etc/crictl.yaml: `endpoint` for both the runtime and image services."""
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise InputError(f"crictl timeout {timeout!r}: expected whole seconds above 0")
    endpoint = normalize(endpoint)
    settings = {
        "runtime-endpoint": endpoint,
        "image-endpoint": endpoint,
        "timeout": timeout,
        "debug": False,
    }
    return yaml.safe_dump(settings, sort_keys=False)
