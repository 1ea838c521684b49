"""Benchmark: how long a migrating node is out of service (drained, from the drain to the
uncordon) now that Docker's images are staged into containerd before the drain, and what
staging costs the pods still running beside it, as ratios measured in one invocation.

    .venv/bin/python bench/drained_window.py [--version 1.23.17] [--gib 4]

One lab with Kubernetes (lab hbmig, one node, brought down afterwards); each run is `harness
migrate` followed by `harness rollback`, which removes what the migration copied, so that
every run copies everything again. Three runs:
- small: the node with the lab's own images only (the sandbox image and the fixtures);
- big, staged: the node with --gib GiB more, in images of 1 GiB each (one layer of random
  bytes each, built in the node's Docker);
- big, copied after the drain: the same node with --no-staging, as migrations ran before.
The drained window is the sum of the node's task seconds from "Cordon and drain" to "Uncordon
the node", from the run's per-node task record (a node's tasks run one after another).
Workload: a pod on the node, there for every run (each drain evicts the same pods), hashes
random bytes in a loop (CPU and I/O), appending a timestamp per round to a hostPath file; its
rounds per second while staging's import runs (its start and end noted on the node by a
watcher) against the minute just before that run.
Targets (issue 25): big staged within 1.2x of small; big staged within 0.2x of big copied
after the drain; the workload at 0.8x or more of its rate without staging."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402
from bench.migration import LAB, down, fresh_lab, kubectl  # noqa: E402
from harness.transport import open_transport  # noqa: E402

BIG = "harness.local/bench-big"
WORK_LOG = "/var/lib/bench-workload/rounds"
IMPORT_SPAN = "/run/bench-import-span"
# Times are the kernel's uptime, which the node and the pod read alike (/proc/uptime).
NOW = 'cut -d" " -f1 /proc/uptime'  # inside the watcher's single quotes
# On the node: when staging's first import starts, and when no import has run for 3 s.
SPAN_WATCHER = ("systemd-run --collect --quiet --unit bench-import-span sh -c '"
                "until pgrep -f \"[c]tr .*images import\" >/dev/null; do sleep 0.05; done; "
                f"{NOW} > {IMPORT_SPAN}; idle=0; while [ $idle -lt 60 ]; do "
                "if pgrep -f \"[c]tr .*images import\" >/dev/null; then idle=0; "
                "else idle=$((idle + 1)); fi; sleep 0.05; done; "
                f"{NOW} >> {IMPORT_SPAN}'")
# A Deployment, so that the drain may evict it (its replacement waits for the uncordon).
WORKLOAD = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench-workload"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bench-workload"}},
             "template": {"metadata": {"labels": {"app": "bench-workload"}}, "spec": {
                 "terminationGracePeriodSeconds": 0, "containers": [{
                     "name": "hash", "image": "harness.local/busybox:1.0",
                     "imagePullPolicy": "Never",
                     "command": ["sh", "-c", "while :; do head -c 8388608 /dev/urandom > "
                                 "/work/chunk; md5sum /work/chunk >/dev/null; cut -d' ' -f1 "
                                 "/proc/uptime >> /work/rounds; done"],
                     "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
                 "volumes": [{"name": "work", "hostPath": {
                     "path": str(Path(WORK_LOG).parent), "type": "DirectoryOrCreate"}}]}}}}
TARGET_VS_SMALL, TARGET_VS_AFTER, TARGET_WORKLOAD = 1.2, 0.2, 0.8


def node_run(inventory, command: str, timeout: float = 1800) -> str:
    with open_transport(inventory.nodes[0]) as t:
        return t.run(["sh", "-c", command], timeout=timeout, check=True).stdout


def harness(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "harness", *args, "--lab", LAB], check=True,
                   capture_output=True, cwd=REPO, timeout=3600)


def drained_window(out: Path, node: str) -> tuple[float, str]:
    """The window's seconds, and its five longest tasks (where a difference comes from)."""
    tasks = json.loads((out / "ansible" / "migrate" / "nodes" / f"{node}.json").read_text())
    names = [task["task"] for task in tasks["tasks"]]
    first = names.index("Cordon and drain the node (Eviction API, PodDisruptionBudgets honoured)")
    window = tasks["tasks"][first:names.index("Uncordon the node") + 1]
    longest = sorted(window, key=lambda task: task["seconds"], reverse=True)[:5]
    return (sum(task["seconds"] for task in window),
            "; ".join(f"{task['task']} {task['seconds']:.1f}" for task in longest))


def migrate_and_back(inventory, *args: str) -> tuple[float, str]:
    """The drained window of one `harness migrate` (and its longest tasks), the node returned
    to Docker after."""
    with tempfile.TemporaryDirectory(prefix="hb-win-") as tmp:
        harness("migrate", "--out", tmp, *args)
        window = drained_window(Path(tmp), inventory.nodes[0].name)
    with tempfile.TemporaryDirectory(prefix="hb-win-") as tmp:
        harness("rollback", "--out", tmp)
    return window


def add_big_images(inventory, gib: int) -> None:
    for n in range(gib):
        node_run(inventory, f"d=$(mktemp -d) && head -c 1073741824 /dev/urandom > $d/blob && "
                 f"printf 'FROM harness.local/busybox:1.0\\nCOPY blob /blob\\n' > $d/Dockerfile "
                 f"&& docker build -q -t {BIG}:{n} $d >/dev/null && rm -rf $d")


def rate(stamps: list[float], start: float, end: float) -> float:
    return sum(start <= s < end for s in stamps) / (end - start)


def workload_rates(inventory, since: float) -> tuple[float, float]:
    """(rounds per second during staging's import, from `since` until it began)."""
    stamps = [float(s) for s in node_run(inventory, f"cat {WORK_LOG}").split()]
    start, end = (float(s) for s in node_run(inventory, f"cat {IMPORT_SPAN}").split())
    return rate(stamps, start, end), rate(stamps, since, start)


def deploy_workload(kubeconfig: Path) -> None:
    """The hashing pod, on the node for every run, so that each drain evicts the same pods."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as manifest:
        json.dump(WORKLOAD, manifest)
        manifest.flush()
        kubectl(kubeconfig, "apply", "-f", manifest.name)
    kubectl(kubeconfig, "rollout", "status", "deployment/bench-workload", "--timeout=300s")


def staged_with_workload(inventory, kubeconfig: Path) -> tuple[tuple[float, str],
                                                                tuple[float, float]]:
    """The drained window of a staged run, and the workload's rates around staging."""
    kubectl(kubeconfig, "rollout", "status", "deployment/bench-workload", "--timeout=300s")
    since = float(node_run(inventory, NOW))
    time.sleep(60)  # the workload's rate alone, before staging
    node_run(inventory, SPAN_WATCHER)
    return migrate_and_back(inventory), workload_rates(inventory, since)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    parser.add_argument("--gib", type=int, default=4, help="GiB of images on the big node")
    args = parser.parse_args()
    try:
        inventory, kubeconfig = fresh_lab(args.version)
        deploy_workload(kubeconfig)
        (small, small_tasks) = migrate_and_back(inventory)
        add_big_images(inventory, args.gib)
        (after, after_tasks) = migrate_and_back(inventory, "--no-staging")
        (staged, staged_tasks), (during, before) = staged_with_workload(inventory, kubeconfig)
    finally:
        down()
    details = [f"drained window, longest tasks: {label}: {tasks}" for label, tasks in (
        ("small", small_tasks), ("big, copied after the drain", after_tasks),
        ("big, staged", staged_tasks))]
    big = f"{args.gib} GiB more images"
    figures = [
        results.Figure(f"drained window, {big}, staged", round(staged, 1), "s",
                       "the lab's own images only, staged", round(small, 1),
                       results.Target(TARGET_VS_SMALL, "ratio")),
        results.Figure(f"drained window, {big}, staged", round(staged, 1), "s",
                       f"{big}, copied after the drain (--no-staging)", round(after, 1),
                       results.Target(TARGET_VS_AFTER, "ratio")),
        results.Figure("hashing pod's rounds per second while staging copies", round(during, 3),
                       "rounds/s", "the same pod just before staging", round(before, 3),
                       results.Target(TARGET_WORKLOAD, "ratio", at_most=False),
                       note="docker.service, containerd.service and the copy's own scope at "
                       "CPUQuota 50%, IOWeight 10"),
    ]
    entry = results.record("drained_window", figures, details=details)
    print("\n".join([*(f"{f['name']}: {f['value']} {f['unit']} vs {f['baseline_value']} "
                       f"({f['ratio']}x, {results.verdict(f['met'])})" for f in entry["figures"]),
                     *entry["details"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
