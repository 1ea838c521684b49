"""Read a process's cgroup settings from the host's cgroupfs, for cgroup v1 (one hierarchy per
controller) and v2 (one unified hierarchy), so tests can check what a runtime applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CgroupHost:
    """Where the hierarchies are mounted. `v1` maps controller -> mount point; when it is empty
    the unified hierarchy carries the controllers (pure v2)."""

    v1: dict[str, Path]
    unified: Path | None
    unified_controllers: frozenset[str]

    @property
    def version(self) -> int:
        return 1 if self.v1 else 2

    def has(self, controller: str) -> bool:
        if self.version == 1:
            return controller in self.v1
        return controller in self.unified_controllers

    def directory(self, pid: int, controller: str) -> Path:
        """The cgroup directory holding `pid` for `controller`."""
        paths = proc_cgroups(pid)
        if self.version == 1:
            return self.v1[controller] / paths[controller].lstrip("/")
        return self.unified / paths[""].lstrip("/")


def detect(mountinfo: Path = Path("/proc/self/mountinfo")) -> CgroupHost:
    v1: dict[str, Path] = {}
    unified: Path | None = None
    for line in mountinfo.read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype, _, options = right.split(" ", 2)
        mount_point = Path(left.split()[4])
        if fstype == "cgroup2":
            unified = mount_point
        elif fstype == "cgroup":
            for option in options.split(","):
                if option in KNOWN_V1 or option.startswith("name="):
                    v1[option] = mount_point
    controllers: frozenset[str] = frozenset()
    if unified is not None and (unified / "cgroup.controllers").exists():
        controllers = frozenset((unified / "cgroup.controllers").read_text().split())
    return CgroupHost(v1=v1, unified=unified, unified_controllers=controllers)


KNOWN_V1 = frozenset(
    [
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "net_cls",
        "net_prio",
        "blkio",
        "perf_event",
        "hugetlb",
        "pids",
        "rdma",
        "misc",
    ]
)


def proc_cgroups(pid: int) -> dict[str, str]:
    """/proc/<pid>/cgroup as controller -> path; the v2 entry has the key ""."""
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            out[controller] = path
    return out


def v2_weight_from_shares(shares: int) -> int:
    """The conversion runc and crun use for cpu.shares -> cpu.weight on cgroup v2."""
    return 1 + ((shares - 2) * 9999) // 262142
