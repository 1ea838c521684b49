"""Fact: where a host's cgroup hierarchies are and which cgroup a process is in, for cgroup v1
(a hierarchy per controller, co-mounted ones sharing one), v2 (one unified hierarchy) and hybrid
hosts; the CPU and memory limits a process runs under; the realtime budget. What the suites read
back and how the lab finds its nodes' cgroups.

Node-side (see harness_node): standard library only; the source is the probe run on a node."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CgroupHost:
    """Where the hierarchies are mounted. `v1` maps controller -> mount point; when it is empty
    the unified hierarchy carries the controllers (pure v2)."""

    v1: dict[str, Path]
    unified: Path | None
    unified_controllers: frozenset[str]
    # cpu.rt_runtime_us of the cgroup root containers are placed under: a child can get no more
    # realtime time than its parent has (0 inside a nested cgroup such as a lab node's).
    realtime_budget_us: int | None = None

    @property
    def version(self) -> int:
        return 1 if self.v1 else 2

    def has(self, controller: str) -> bool:
        if self.version == 1:
            return controller in self.v1
        return controller in self.unified_controllers

    def mount_of(self, key: str) -> Path | None:
        """The mount of a hierarchy named as in /proc/PID/cgroup ("cpu,cpuacct",
        "name=systemd", or "" for the unified one)."""
        return self.unified if not key else self.v1.get(key.split(",")[0])

    def directory(self, pid: int, controller: str) -> Path:
        """The cgroup directory holding `pid` for `controller`."""
        paths = proc_cgroups(pid)
        if self.version == 1:
            return self.v1[controller] / paths[controller].lstrip("/")
        return self.unified / paths[""].lstrip("/")


def probe() -> dict:
    """What the record is built from, read on the host the module runs on."""
    mountinfo = Path("/proc/self/mountinfo").read_text()
    host = parse(mountinfo)
    controllers = host.unified / "cgroup.controllers" if host.unified else None
    rt_budget = host.v1["cpu"] / "cpu.rt_runtime_us" if "cpu" in host.v1 else None
    return {
        "mountinfo": mountinfo,
        "controllers": controllers.read_text() if controllers and controllers.exists() else "",
        "realtime_budget_us": int(rt_budget.read_text())
        if rt_budget and rt_budget.exists() else None,
    }


def record(raw: dict) -> CgroupHost:
    host = parse(raw["mountinfo"], raw["controllers"])
    return CgroupHost(host.v1, host.unified, host.unified_controllers,
                      raw["realtime_budget_us"])


def parse(mountinfo: str, controllers: str = "") -> CgroupHost:
    """The hierarchies mounted according to /proc/self/mountinfo."""
    v1: dict[str, Path] = {}
    unified: Path | None = None
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fstype, _, options = right.split(" ", 2)
        mount_point = Path(left.split()[4])
        if fstype == "cgroup2":
            unified = mount_point
        elif fstype == "cgroup":
            for option in options.split(","):
                if option in KNOWN_V1 or option.startswith("name="):
                    v1[option] = mount_point
    return CgroupHost(v1=v1, unified=unified, unified_controllers=frozenset(controllers.split()))


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


def hierarchy_paths(pid: int | str = "self") -> dict[str, str]:
    """/proc/<pid>/cgroup as hierarchy -> path, keyed as written there ("cpu,cpuacct")."""
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, hierarchy, path = line.split(":", 2)
        out[hierarchy] = path
    return out


def proc_cgroups(pid: int | str) -> dict[str, str]:
    """/proc/<pid>/cgroup as controller -> path; the v2 entry has the key ""."""
    return {controller: path
            for hierarchy, path in hierarchy_paths(pid).items()
            for controller in (hierarchy.split(",") if hierarchy else [""])}


V1_UNLIMITED = 1 << 62  # v1 reports "no limit" as a page-rounded LONG_MAX; anything above is none


@dataclass(frozen=True)
class CgroupLimits:
    memory_limit: int | None  # bytes; None when unlimited
    cpu_quota: int | None  # microseconds per period; None when unlimited
    cpu_period: int | None


def limits_of(pid: int, host: CgroupHost) -> CgroupLimits:
    """The memory limit and CPU quota the process `pid` runs under."""
    def read(controller: str, name: str) -> str:
        return (host.directory(pid, controller) / name).read_text().strip()
    if host.version == 1:
        memory = int(read("memory", "memory.limit_in_bytes"))
        quota = int(read("cpu", "cpu.cfs_quota_us"))
        return CgroupLimits(None if memory >= V1_UNLIMITED else memory,
                            None if quota < 0 else quota, int(read("cpu", "cpu.cfs_period_us")))
    memory = read("", "memory.max")
    quota, period = read("", "cpu.max").split()
    return CgroupLimits(None if memory == "max" else int(memory),
                        None if quota == "max" else int(quota), int(period))


def v2_weight_from_shares(shares: int) -> int:
    """The conversion runc and crun use for cpu.shares -> cpu.weight on cgroup v2."""
    return 1 + ((shares - 2) * 9999) // 262142


if __name__ == "__main__":
    print(json.dumps(probe()))
