"""Benchmark: `harness lab up` time from a cached node image, and memory per idle node.

Both are reported against a baseline measured in the same invocation: a 1-node lab, so the
ratio shows what each extra node costs on this machine. Target: 2 nodes up in under 30 s.

    .venv/bin/python bench/lab_up.py [--nodes 2] [--settle 10]

Memory is read from each node's memory cgroup (the machine with systemd, sshd, containerd and
dockerd): `usage` includes page cache, `rss` is anonymous memory only."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from harness.lab import lifecycle, state
from harness.lab.image import ensure_image

TARGET_SECONDS = 30.0


def timed_up(name: str, nodes: int) -> float:
    lifecycle.down(name)
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "harness", "lab", "up", "--name", name,
                    "--nodes", str(nodes)], check=True, capture_output=True)
    return time.monotonic() - start


def node_memory(name: str) -> list[dict[str, float]]:
    """MiB per node: cgroup usage (with page cache) and rss."""
    result = []
    for node in state.load(name).nodes:
        memory = Path(next(c for c in node.cgroups if "/memory/" in c))
        stat = dict(line.split() for line in (memory / "memory.stat").read_text().splitlines())
        usage = int((memory / "memory.usage_in_bytes").read_text())
        result.append({"usage_mib": usage / 2**20, "rss_mib": int(stat["total_rss"]) / 2**20})
    return result


def measure(name: str, nodes: int, settle: float) -> dict:
    seconds = timed_up(name, nodes)
    time.sleep(settle)  # idle: let boot-time work (journal flush, docker start) finish
    memory = node_memory(name)
    lifecycle.down(name)
    return {
        "nodes": nodes, "seconds": round(seconds, 2),
        "usage_mib_per_node": round(sum(m["usage_mib"] for m in memory) / nodes, 1),
        "rss_mib_per_node": round(sum(m["rss_mib"] for m in memory) / nodes, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before memory")
    args = parser.parse_args()
    ensure_image()  # cached: a rebuild is not what this measures
    try:
        baseline = measure("hlbench", 1, args.settle)
        result = measure("hlbench", args.nodes, args.settle)
    finally:
        lifecycle.down("hlbench")
    verdict = "PASS" if result["seconds"] < TARGET_SECONDS else "FAIL"
    print(f"lab up, {args.nodes} nodes from the cached image: {result['seconds']:.1f} s "
          f"(target < {TARGET_SECONDS:.0f} s: {verdict}); "
          f"{result['seconds'] / baseline['seconds']:.2f}x the 1-node baseline "
          f"({baseline['seconds']:.1f} s)")
    print(f"memory per idle node: {result['usage_mib_per_node']:.0f} MiB with page cache, "
          f"{result['rss_mib_per_node']:.0f} MiB rss; "
          f"{result['usage_mib_per_node'] / baseline['usage_mib_per_node']:.2f}x the 1-node "
          f"baseline ({baseline['usage_mib_per_node']:.0f} MiB)")
    print(json.dumps({"baseline": baseline, "result": result, "target_seconds": TARGET_SECONDS}))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
