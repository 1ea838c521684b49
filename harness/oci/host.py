"""Facts about this host that decide which OCI behaviours can be tested here, gathered once."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.cgroups import CgroupHost, detect


@dataclass(frozen=True)
class HostFacts:
    cgroups: CgroupHost
    negative_oom_refused: str | None  # why the kernel refuses a negative oom_score_adj, or None
    block_device: str | None  # "major:minor" of the first disk, for blkio/io rules
    # cpu.rt_runtime_us of the cgroup root containers are placed under: a child can get no more
    # realtime time than its parent has (0 inside a nested cgroup such as a lab node's).
    realtime_budget_us: int | None


@cache
def host_facts() -> HostFacts:
    cgroups = detect()
    return HostFacts(
        cgroups=cgroups,
        negative_oom_refused=_negative_oom_refusal(),
        block_device=_first_disk(),
        realtime_budget_us=_realtime_budget(cgroups),
    )


def _realtime_budget(cgroups: CgroupHost) -> int | None:
    cpu = cgroups.v1.get("cpu")
    budget = cpu / "cpu.rt_runtime_us" if cpu else None
    return int(budget.read_text()) if budget and budget.exists() else None


# os.write, not open().write: a buffered write's error is lost when the file closes at exit.
PROBE_NEGATIVE_OOM = (
    "import os; fd = os.open('/proc/self/oom_score_adj', os.O_WRONLY); os.write(fd, b'-1')"
)


def _negative_oom_refusal() -> str | None:
    """Try -1 in a child (never in this process: we could not undo it)."""
    child = subprocess.run(
        [sys.executable, "-c", PROBE_NEGATIVE_OOM],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if child.returncode == 0:
        return None
    last = (child.stderr.strip().splitlines() or ["refused"])[-1]
    return f"this host refuses a negative /proc/self/oom_score_adj even for root ({last})"


def _first_disk(partitions: Path = Path("/proc/partitions")) -> str | None:
    for line in partitions.read_text().splitlines()[2:]:
        fields = line.split()
        if len(fields) == 4 and fields[0].isdigit() and not fields[3].startswith(("loop", "ram")):
            return f"{fields[0]}:{fields[1]}"
    return None
