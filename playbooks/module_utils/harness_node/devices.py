"""Fact: the host's first disk, the device blkio/io cgroup rules can name.

Node-side (see harness_node): standard library only; the source is the probe run on a node."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceFacts:
    first_disk: str | None  # "major:minor"; None where /proc/partitions lists no disk


def probe() -> dict:
    with open("/proc/partitions") as f:
        for line in f.read().splitlines()[2:]:
            fields = line.split()
            if len(fields) == 4 and fields[0].isdigit() and not fields[3].startswith(
                    ("loop", "ram")):
                return {"first_disk": f"{fields[0]}:{fields[1]}"}
    return {"first_disk": None}


def record(raw: dict) -> DeviceFacts:
    return DeviceFacts(**raw)


if __name__ == "__main__":
    print(json.dumps(probe()))
