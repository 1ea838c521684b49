"""The node image recipe and its hash: every input that changes the image is in here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.lab.node_files import ENABLED_UNITS, NODE_FILES, NodeFile

# What debootstrap puts in the minbase system: enough to boot systemd and log in over SSH.
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "iptables", "python3",
    "ca-certificates", "procps",
)
# The "before" runtime stack of a Docker node, installed with apt inside the new root;
# socat and conntrack are what kubeadm's preflight asks of every node (dockershim's
# port-forward runs socat; kube-proxy clears conntrack entries); iputils-ping lets tests and
# users check node-to-node reachability; crun is a second OCI runtime a node may offer in
# daemon.json "runtimes", as GPU and sandboxed nodes offer theirs.
RUNTIME_PACKAGES = (
    "docker.io", "containerd", "runc", "crun", "containernetworking-plugins", "socat",
    "conntrack", "iputils-ping",
)


def host_apt_sources(etc_apt: Path = Path("/etc/apt")) -> dict[str, str]:
    """Host apt sources (path -> text): the node's apt reaches Debian the way the host does."""
    files = [etc_apt / "sources.list"] if (etc_apt / "sources.list").is_file() else []
    files += sorted((etc_apt / "sources.list.d").glob("*.list"))
    files += sorted((etc_apt / "sources.list.d").glob("*.sources"))
    return {str(f.relative_to(etc_apt.parent.parent)): f.read_text() for f in files}


@dataclass(frozen=True)
class ImageRecipe:
    suite: str = "bookworm"
    mirror: str = "http://deb.debian.org/debian"
    variant: str = "minbase"
    base_packages: tuple[str, ...] = BASE_PACKAGES
    packages: tuple[str, ...] = RUNTIME_PACKAGES
    files: tuple[NodeFile, ...] = NODE_FILES
    enabled_units: tuple[tuple[str, str], ...] = ENABLED_UNITS
    build_steps: int = 2  # bump when the steps in harness.lab.image change
    apt_sources: dict[str, str] = field(default_factory=host_apt_sources, hash=False)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
