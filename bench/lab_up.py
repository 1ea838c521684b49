"""Benchmark: the lab's node image, cached and (on request) cold, `harness lab up` per node, and
memory per idle node, each against a baseline measured in the same invocation.

    .venv/bin/python bench/lab_up.py [--nodes 2] [--settle 10]
    HARNESS_BENCH_COLD=1 .venv/bin/python bench/lab_up.py    # also a cold image build

- node image: `ensure_image()` from the cache against the interpreter importing the same
  module (what remains is the cache lookup); with HARNESS_BENCH_COLD=1 also a build from
  nothing (debootstrap + apt, minutes) into a throwaway cache (XDG_CACHE_HOME), against the
  cached figure. Without it the cold figure is left out, and the table says so.
- lab up: an N-node lab against a 1-node lab, both from the cached image; target (issue 16):
  2 nodes up in under 30 s.
- memory per idle node, read from each node's memory cgroup (the machine with systemd, sshd,
  containerd and dockerd) after --settle seconds: usage with page cache, and rss, N-node lab
  against the 1-node lab.
The lab is named hbup (it is brought down before and after)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from harness.lab import lifecycle, state  # noqa: E402
from harness.lab.image import ensure_image  # noqa: E402

LAB = "hbup"
TARGET_SECONDS = 30.0
COLD = os.environ.get("HARNESS_BENCH_COLD") == "1"


def timed_python(code: str, env: dict | None = None) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def image_figures() -> list[results.Figure]:
    ensure_image()  # filled, so the next call measures the cached path
    imported = timed_python("import harness.lab.image")
    cached = timed_python("from harness.lab.image import ensure_image; ensure_image()")
    figures = [results.Figure("node image, cached", round(cached, 2), "s",
                              "importing harness.lab.image", round(imported, 2))]
    if COLD:
        scratch = tempfile.mkdtemp(prefix="hb-image-bench-")
        try:
            cold = timed_python("from harness.lab.image import ensure_image; ensure_image()",
                                env={**os.environ, "XDG_CACHE_HOME": scratch})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        figures.append(results.Figure("node image, cold", round(cold, 1), "s",
                                      "node image, cached", round(cached, 2),
                                      note="debootstrap + apt from the mirror"))
    return figures


def timed_up(nodes: int) -> float:
    lifecycle.down(LAB)
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "harness", "lab", "up", "--name", LAB,
                    "--nodes", str(nodes)], check=True, capture_output=True, cwd=REPO)
    return time.monotonic() - start


def node_memory_mib() -> tuple[float, float]:
    """Mean MiB per node of the running lab: cgroup usage (with page cache) and rss."""
    usage = rss = 0.0
    nodes = state.load(LAB).nodes
    for node in nodes:
        memory = Path(next(c for c in node.cgroups if "/memory/" in c))
        stat = dict(line.split() for line in (memory / "memory.stat").read_text().splitlines())
        usage += int((memory / "memory.usage_in_bytes").read_text()) / 2**20
        rss += int(stat["total_rss"]) / 2**20
    return usage / len(nodes), rss / len(nodes)


def measure(nodes: int, settle: float) -> dict:
    try:
        seconds = timed_up(nodes)
        time.sleep(settle)  # idle: let boot-time work (journal flush, docker start) finish
        usage, rss = node_memory_mib()
    finally:
        lifecycle.down(LAB)
    return {"seconds": seconds, "usage": usage, "rss": rss}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before memory")
    args = parser.parse_args()
    figures = image_figures()
    one = measure(1, args.settle)
    many = measure(args.nodes, args.settle)
    n = args.nodes
    figures += [
        results.Figure(f"lab up, {n} nodes", round(many["seconds"], 1), "s",
                       "lab up, 1 node", round(one["seconds"], 1),
                       results.Target(TARGET_SECONDS), note="from the cached node image"),
        results.Figure(f"lab up per node, {n} nodes", round(many["seconds"] / n, 1), "s",
                       "lab up, 1 node", round(one["seconds"], 1)),
        results.Figure(f"memory per idle node, {n} nodes", round(many["usage"]), "MiB",
                       "1-node lab", round(one["usage"]),
                       note=f"cgroup usage with page cache, after {args.settle:g} s idle"),
        results.Figure(f"rss per idle node, {n} nodes", round(many["rss"]), "MiB",
                       "1-node lab", round(one["rss"]), note="anonymous memory only"),
    ]
    details = [] if COLD else ["node image, cold: not measured (HARNESS_BENCH_COLD=1 builds one "
                               "into a throwaway cache: debootstrap + apt, minutes)"]
    entry = results.record("lab_up", figures, [results.Curve(
        "lab-up", "nodes", "seconds", {"lab up": [(1, one["seconds"]), (n, many["seconds"])]})],
        details=details)
    print("\n".join(f"{f['name']}: {f['value']} {f['unit']}" for f in entry["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
