"""Benchmark: `harness lab up --kubernetes VERSION --nodes N` from the cached node image and
cached Kubernetes binaries, against a plain `harness lab up` of the same size.

    .venv/bin/python bench/kube_lab_up.py [--version 1.23.17] [--nodes 2]

The difference is what the cluster costs: control plane start, node join, all nodes Ready.
Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from harness.kube import build, cluster, dns
from harness.lab import lifecycle

LAB = "hkbench"


def timed_up(nodes: int, version: str | None) -> float:
    cluster.down(LAB)
    lifecycle.down(LAB)
    argv = [sys.executable, "-m", "harness", "lab", "up", "--name", LAB, "--nodes", str(nodes)]
    if version:
        argv += ["--kubernetes", version]
    start = time.monotonic()
    try:
        subprocess.run(argv, check=True, capture_output=True)
        return time.monotonic() - start
    finally:
        cluster.down(LAB)
        lifecycle.down(LAB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args()
    build.build(args.version)  # cached binaries: the build is benchmarked in kube_build.py
    dns.build_coredns()
    plain = timed_up(args.nodes, None)
    with_kube = timed_up(args.nodes, args.version)
    print(json.dumps({"version": args.version, "nodes": args.nodes,
                      "lab_up_seconds": round(plain, 1),
                      "lab_up_kubernetes_seconds": round(with_kube, 1),
                      "cluster_seconds": round(with_kube - plain, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
