"""Benchmark: `harness lab up --kubernetes VERSION --nodes N` from the cached node image and
cached Kubernetes binaries, against a plain `harness lab up` of the same size in the same
invocation.

    .venv/bin/python bench/kube_lab_up.py [--version 1.23.17] [--nodes 2]

The difference is what the cluster costs: control plane start, node join, all nodes Ready.
The lab is named hbkube (brought down before and after each run)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from harness.kube import build, cluster, dns  # noqa: E402
from harness.lab import lifecycle  # noqa: E402

LAB = "hbkube"


def timed_up(nodes: int, version: str | None) -> float:
    cluster.down(LAB)
    lifecycle.down(LAB)
    argv = [sys.executable, "-m", "harness", "lab", "up", "--name", LAB, "--nodes", str(nodes)]
    if version:
        argv += ["--kubernetes", version]
    start = time.monotonic()
    try:
        subprocess.run(argv, check=True, capture_output=True, cwd=REPO)
        return time.monotonic() - start
    finally:
        cluster.down(LAB)
        lifecycle.down(LAB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args()
    build.build(args.version)  # cached binaries: the build is benchmarked in builds.py
    dns.build_coredns()
    plain = timed_up(args.nodes, None)
    with_kube = timed_up(args.nodes, args.version)
    entry = results.record("kube_lab_up", [results.Figure(
        f"lab up with Kubernetes {args.version}, {args.nodes} nodes", round(with_kube, 1), "s",
        f"plain lab up, {args.nodes} nodes", round(plain, 1),
        note="the difference: control plane, join, all nodes Ready")])
    print("\n".join(f"{f['name']}: {f['value']} {f['unit']}" for f in entry["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
