"""A typed model of an OCI runtime bundle's config.json (runtime-spec config.md,
config-linux.md) and the writer that lays a bundle out on disk.

Defaults follow `runc spec` (rootless off) except `process.terminal`, which is false: the
suite reads the container's output from files, not a console socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

OCI_VERSION = "1.0.2-dev"  # what runc 1.1.5 writes; crun 1.8.1 only accepts versions with "1.0"

DEFAULT_CAPS = ("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE")
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm")
DEFAULT_NAMESPACES = ("pid", "network", "ipc", "uts", "mount")
DEFAULT_MASKED = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
)  # fmt: skip
DEFAULT_READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


@dataclass
class User:
    """config.md#posix-platform-user"""

    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        out: dict = {"uid": self.uid, "gid": self.gid}
        if self.umask is not None:
            out["umask"] = self.umask
        if self.additional_gids:
            out["additionalGids"] = list(self.additional_gids)
        return out


@dataclass
class Rlimit:
    type: str
    soft: int
    hard: int

    def to_json(self) -> dict:
        return {"type": self.type, "soft": self.soft, "hard": self.hard}


@dataclass
class Process:
    """config.md#process"""

    args: list[str] = field(default_factory=lambda: ["sh"])
    env: list[str] = field(default_factory=lambda: list(DEFAULT_ENV))
    cwd: str = "/"
    terminal: bool = False
    user: User = field(default_factory=User)
    capabilities: list[str] | None = field(default_factory=lambda: list(DEFAULT_CAPS))
    rlimits: list[Rlimit] = field(default_factory=lambda: [Rlimit("RLIMIT_NOFILE", 1024, 1024)])
    no_new_privileges: bool = True
    oom_score_adj: int | None = None
    # Per-set capabilities ({"bounding": [...], ...}), written as given instead of
    # `capabilities` in every set: real runtimes leave inheritable and ambient empty.
    capability_sets: dict[str, list[str]] | None = None

    def to_json(self) -> dict:
        out: dict = {
            "terminal": self.terminal,
            "user": self.user.to_json(),
            "args": list(self.args),
            "env": list(self.env),
            "cwd": self.cwd,
            "rlimits": [r.to_json() for r in self.rlimits],
            "noNewPrivileges": self.no_new_privileges,
        }
        if self.capability_sets is not None:
            out["capabilities"] = {kind: list(c) for kind, c in self.capability_sets.items()}
        elif self.capabilities is not None:
            caps = list(self.capabilities)
            out["capabilities"] = {
                kind: caps for kind in ("bounding", "effective", "permitted", "ambient")
            }
        if self.oom_score_adj is not None:
            out["oomScoreAdj"] = self.oom_score_adj
        return out


@dataclass
class Mount:
    """config.md#mounts"""

    destination: str
    type: str
    source: str
    options: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out = {"destination": self.destination, "type": self.type, "source": self.source}
        if self.options:
            out["options"] = list(self.options)
        return out


def default_mounts() -> list[Mount]:
    return [
        Mount("/proc", "proc", "proc"),
        Mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount(
            "/dev/pts",
            "devpts",
            "devpts",
            ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        Mount(
            "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
        ),
        Mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        Mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        Mount(
            "/sys/fs/cgroup", "cgroup", "cgroup", ["nosuid", "noexec", "nodev", "relatime", "ro"]
        ),
    ]


@dataclass
class Hook:
    """config.md#posix-platform-hooks"""

    path: str
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    timeout: int | None = None

    def to_json(self) -> dict:
        out: dict = {"path": self.path}
        if self.args:
            out["args"] = list(self.args)
        if self.env:
            out["env"] = list(self.env)
        if self.timeout is not None:
            out["timeout"] = self.timeout
        return out


HOOK_KINDS = (
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
)


@dataclass
class Namespace:
    type: str
    path: str | None = None

    def to_json(self) -> dict:
        return {"type": self.type, **({"path": self.path} if self.path else {})}


@dataclass
class IdMapping:
    container_id: int
    host_id: int
    size: int

    def to_json(self) -> dict:
        return {"containerID": self.container_id, "hostID": self.host_id, "size": self.size}


@dataclass
class Device:
    """config-linux.md#devices"""

    path: str
    type: str
    major: int = 0
    minor: int = 0
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None

    def to_json(self) -> dict:
        out: dict = {"path": self.path, "type": self.type, "major": self.major, "minor": self.minor}
        for key, value in (("fileMode", self.file_mode), ("uid", self.uid), ("gid", self.gid)):
            if value is not None:
                out[key] = value
        return out


@dataclass
class Linux:
    """config-linux.md; `resources` and `seccomp` stay JSON-shaped: they are open-ended."""

    namespaces: list[Namespace] = field(
        default_factory=lambda: [Namespace(t) for t in DEFAULT_NAMESPACES]
    )
    uid_mappings: list[IdMapping] = field(default_factory=list)
    gid_mappings: list[IdMapping] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    resources: dict = field(
        default_factory=lambda: {"devices": [{"allow": False, "access": "rwm"}]}
    )
    cgroups_path: str | None = None
    sysctl: dict[str, str] = field(default_factory=dict)
    seccomp: dict | None = None
    masked_paths: list[str] = field(default_factory=lambda: list(DEFAULT_MASKED))
    readonly_paths: list[str] = field(default_factory=lambda: list(DEFAULT_READONLY))
    rootfs_propagation: str | None = None

    def to_json(self) -> dict:
        out: dict = {
            "namespaces": [n.to_json() for n in self.namespaces],
            "resources": self.resources,
            "maskedPaths": list(self.masked_paths),
            "readonlyPaths": list(self.readonly_paths),
        }
        optional = {
            "uidMappings": [m.to_json() for m in self.uid_mappings],
            "gidMappings": [m.to_json() for m in self.gid_mappings],
            "devices": [d.to_json() for d in self.devices],
            "cgroupsPath": self.cgroups_path,
            "sysctl": self.sysctl,
            "seccomp": self.seccomp,
            "rootfsPropagation": self.rootfs_propagation,
        }
        out.update({key: value for key, value in optional.items() if value})
        return out

    def namespace(self, kind: str) -> Namespace | None:
        return next((n for n in self.namespaces if n.type == kind), None)


@dataclass
class Spec:
    """config.md: the whole configuration. `process=None` leaves it out (config.md#process is
    OPTIONAL for create; start then MUST fail). `extra` adds arbitrary top-level properties."""

    root_path: str = "rootfs"
    root_readonly: bool = True
    process: Process | None = field(default_factory=Process)
    hostname: str | None = "runc"
    mounts: list[Mount] = field(default_factory=default_mounts)
    hooks: dict[str, list[Hook]] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    linux: Linux = field(default_factory=Linux)
    oci_version: str = OCI_VERSION
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out: dict = {
            "ociVersion": self.oci_version,
            "root": {"path": self.root_path, "readonly": self.root_readonly},
            "mounts": [m.to_json() for m in self.mounts],
            "linux": self.linux.to_json(),
        }
        if self.process is not None:
            out["process"] = self.process.to_json()
        if self.hostname is not None:
            out["hostname"] = self.hostname
        hooks = {kind: [h.to_json() for h in entries] for kind, entries in self.hooks.items()}
        if hooks:
            out["hooks"] = hooks
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        out.update(self.extra)
        return out

    def add_hook(self, kind: str, hook: Hook) -> None:
        if kind not in HOOK_KINDS:
            raise ValueError(f"unknown hook kind {kind!r}: one of {', '.join(HOOK_KINDS)}")
        self.hooks.setdefault(kind, []).append(hook)


@dataclass(frozen=True)
class Bundle:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def stdout(self) -> str:
        """What the container process wrote to stdout (see OciRuntime.create)."""
        out = self.path / "stdout.log"
        return out.read_text("utf-8", "replace") if out.exists() else ""

    @property
    def stderr(self) -> str:
        err = self.path / "stderr.log"
        return err.read_text("utf-8", "replace") if err.exists() else ""


def write_bundle(directory: Path, spec: Spec) -> Bundle:
    """Write config.json into `directory`. A relative `root_path` must already exist in it; an
    absolute one lets many bundles share one read-only rootfs."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(spec.to_json(), indent=2))
    return Bundle(directory)
