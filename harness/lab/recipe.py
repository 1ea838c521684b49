"""The node image recipe and its hash: every input that changes the image is in here."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.errors import InputError
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


# The Debian releases a lab node can run, by version: each brings its own Docker line (Debian 12:
# Docker 20.10.24, containerd 1.6.20, runc 1.1.5, CNI plugins 1.1.1; Debian 11: Docker 20.10.5,
# containerd 1.4.13, runc 1.0.0-rc93, CNI plugins 0.9.0), installed from the same package names.
DEBIAN_RELEASES = {"12": "bookworm", "11": "bullseye"}
DEFAULT_DEBIAN = "12"


def host_apt_sources(suite: str = "", etc_apt: Path = Path("/etc/apt"),
                     os_release: Path = Path("/etc/os-release")) -> dict[str, str]:
    """Host apt sources (path -> text): the node's apt reaches Debian the way the host does.
    With `suite`, the host's release name is replaced by it (bookworm-security becomes
    bullseye-security): the same mirrors, another release."""
    files = [etc_apt / "sources.list"] if (etc_apt / "sources.list").is_file() else []
    files += sorted((etc_apt / "sources.list.d").glob("*.list"))
    files += sorted((etc_apt / "sources.list.d").glob("*.sources"))
    sources = {str(f.relative_to(etc_apt.parent.parent)): f.read_text() for f in files}
    if not suite or suite == (host := _codename(os_release)):
        return sources
    return {path: re.sub(rf"\b{host}\b", suite, text) for path, text in sources.items()}


def _codename(os_release: Path) -> str:
    for line in os_release.read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise InputError(f"{os_release}: no VERSION_CODENAME; lab nodes are made on Debian")


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

    @classmethod
    def for_debian(cls, version: str = DEFAULT_DEBIAN) -> ImageRecipe:
        """The recipe of a node on Debian `version` ("12", "11") and that release's Docker."""
        if version not in DEBIAN_RELEASES:
            raise InputError(f"--debian: {version!r} is not one of "
                             f"{', '.join(sorted(DEBIAN_RELEASES))}")
        suite = DEBIAN_RELEASES[version]
        return cls(suite=suite, apt_sources=host_apt_sources(suite))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]
