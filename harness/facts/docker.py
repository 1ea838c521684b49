"""Fact: Docker Engine as the node runs it (version, cgroup driver, runtimes), from `docker info`;
absent (all None) where Docker is not installed or not running.

Standard library only: the module's source is the probe run on a node (see harness.facts)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class DockerFacts:
    version: str | None = None
    cgroup_driver: str | None = None  # what dockerd is configured with, as it reports it
    default_runtime: str | None = None
    runtimes: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.version is not None


def probe() -> dict:
    try:
        out = subprocess.run(["docker", "info", "--format", "{{json .}}"], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if out.returncode != 0:
        return {}
    info = json.loads(out.stdout)
    return {"version": info.get("ServerVersion"), "cgroup_driver": info.get("CgroupDriver"),
            "default_runtime": info.get("DefaultRuntime"),
            "runtimes": sorted(info.get("Runtimes") or {})}


def record(raw: dict) -> DockerFacts:
    return DockerFacts(**{**raw, "runtimes": tuple(raw.get("runtimes", ()))})


if __name__ == "__main__":
    print(json.dumps(probe()))
