"""A cgroup per node in every hierarchy (v1 controllers, name=systemd, and the unified one),
created under the cgroup the harness runs in. The node's machine runs inside it, so its memory
is measurable, every process of the node (Docker's containers too: with a cgroup namespace they
nest below it) can be found and killed, and removing it proves nothing is left."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from pathlib import Path

from harness.errors import HarnessTimeout
from harness.facts import this_host
from harness.node import cgroups


def node_cgroups(name: str) -> list[Path]:
    """Directories of a node's cgroup `name`, one per hierarchy, below our own cgroups."""
    host = this_host().cgroups
    return [mount / path.lstrip("/") / name
            for key, path in cgroups.hierarchy_paths().items()
            if (mount := host.mount_of(key)) is not None]


def create(dirs: list[Path]) -> None:
    for d in dirs:
        d.mkdir(exist_ok=True)
        if (d / "cpuset.cpus").exists():  # a new cpuset is empty: inherit the parent's
            for knob in ("cpuset.cpus", "cpuset.mems"):
                (d / knob).write_text((d.parent / knob).read_text())


def pids(dirs: list[Path]) -> set[int]:
    """Every process in the cgroups or below them."""
    found: set[int] = set()
    for d in dirs:
        if not d.is_dir():
            continue
        for procs in d.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                found.update(int(p) for p in procs.read_text().split())
    return found


def kill_all(dirs: list[Path], timeout: float = 20.0) -> None:
    """SIGKILL every process in the cgroups until they are empty."""
    deadline = time.monotonic() + timeout
    while remaining := pids(dirs):
        if time.monotonic() > deadline:
            raise HarnessTimeout(f"processes {sorted(remaining)[:10]} in {dirs[0]} survived "
                                 f"SIGKILL for {timeout:.0f}s")
        for pid in remaining:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def remove(dirs: list[Path], timeout: float = 10.0) -> None:
    """Remove the emptied cgroup trees, deepest first. The kernel answers EBUSY while killed
    tasks are still exiting, so that is retried until `timeout`."""
    deadline = time.monotonic() + timeout
    for d in dirs:
        if not d.is_dir():
            continue
        tree = sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
        for cgroup in [*tree, d]:
            _rmdir(cgroup, deadline)


def _rmdir(cgroup: Path, deadline: float) -> None:
    while True:
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > deadline:
                raise HarnessTimeout(f"cgroup {cgroup} cannot be removed: {err.strerror}",
                                     hint=f"processes left: {sorted(pids([cgroup]))[:10]}"
                                     ) from None
            time.sleep(0.1)
