"""Read a process's CPU and memory limits from its cgroup, on cgroup v1 (one hierarchy per
controller under /sys/fs/cgroup/<controllers>) or v2 (the unified hierarchy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_UNLIMITED = 1 << 62  # v1 reports "no limit" as a page-rounded LONG_MAX; anything above is none


@dataclass(frozen=True)
class CgroupLimits:
    memory_limit: int | None  # bytes; None when unlimited
    cpu_quota: int | None  # microseconds per period; None when unlimited
    cpu_period: int | None


def _paths(pid: int, root: Path) -> tuple[dict[str, Path], Path | None]:
    """v1 controller -> directory, and the v2 directory, from /proc/PID/cgroup."""
    v1, v2 = {}, None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if not controllers:
            v2 = root / path.lstrip("/")
            continue
        for name in controllers.split(","):
            for mount in (controllers, name):  # "cpu,cpuacct" co-mounted, or one per controller
                if (root / mount).is_dir():
                    v1[name] = root / mount / path.lstrip("/")
                    break
    return v1, v2


def _read(path: Path) -> str:
    return path.read_text().strip()


def limits_of(pid: int, root: Path = CGROUP_ROOT) -> CgroupLimits:
    v1, v2 = _paths(pid, root)
    if "memory" in v1 and "cpu" in v1:
        memory = int(_read(v1["memory"] / "memory.limit_in_bytes"))
        quota = int(_read(v1["cpu"] / "cpu.cfs_quota_us"))
        period = int(_read(v1["cpu"] / "cpu.cfs_period_us"))
        return CgroupLimits(None if memory >= V1_UNLIMITED else memory,
                            None if quota < 0 else quota, period)
    if v2 is None:
        raise FileNotFoundError(f"no cgroup of process {pid} found under {root}")
    memory = _read(v2 / "memory.max")
    quota, period = _read(v2 / "cpu.max").split()
    return CgroupLimits(None if memory == "max" else int(memory),
                        None if quota == "max" else int(quota), int(period))
