"""Benchmark: migrating lab nodes from Docker to containerd with `harness migrate`: one node
against the official steps done by hand on the same kind of node, and fleets of several
nodes by batch size, in one invocation.

    .venv/bin/python bench/migration.py [--version 1.23.17] [--fleet 1,2,4] [--batch-sizes 1,2]

Each run gets a fresh lab with Kubernetes (lab hbmig, brought down afterwards). One node:
- harness: `harness migrate --lab hbmig`; its per-task seconds come from its JUnit
  (reports/junit/junit-<node>-migrate.xml under a scratch --out), the ten longest in the
  details;
- by hand: the runbook's steps, each timed: kubectl drain, stop the kubelet,
  `docker save <every tagged image> | ctr -n k8s.io images import -`, stop and disable Docker,
  `containerd config default` with the kubelet's sandbox image and CNI directory, restart
  containerd, switch kubeadm-flags.env to containerd, start the kubelet, wait for the Node
  Ready on containerd, uncordon. No backups, checks, crictl or annotation: the harness does
  more than this baseline.
Fleet: `harness migrate --canary 0 --batch-size B` on N nodes, for each N of --fleet and B of
--batch-sizes (B <= N), each batch size against batch size 1 on as many nodes; the curve is
seconds over nodes, a line per batch size. Slow: a lab with a cluster per run, about 15
minutes in all on 2 shared cores."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from junitparser import JUnitXml  # noqa: E402

from bench import results  # noqa: E402
from harness.inventory import Inventory, load_inventory  # noqa: E402
from harness.kube import cluster, kubeadm_cluster  # noqa: E402
from harness.lab import lifecycle  # noqa: E402
from harness.transport import open_transport  # noqa: E402

LAB = "hbmig"
SOCKET = "unix:///run/containerd/containerd.sock"
FLAGS = "/var/lib/kubelet/kubeadm-flags.env"
# The runbook's node steps, each one shell command on the node.
NODE_STEPS = {
    "stop kubelet": "systemctl stop kubelet",
    "copy images (docker save | ctr import)":
        "docker save $(docker images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>') "
        "| ctr -n k8s.io images import -",
    "stop docker": "systemctl disable --now docker.service docker.socket",
    "write containerd config and restart it":
        "pause=$(grep -o -- '--pod-infra-container-image=[^ \"]*' " + FLAGS + " | cut -d= -f2); "
        "cni=$(grep -o -- '--cni-bin-dir=[^ \"]*' " + FLAGS + " | cut -d= -f2); "
        "containerd config default "
        "| sed -e \"s|sandbox_image = .*|sandbox_image = \\\"$pause\\\"|\" "
        "-e \"s|bin_dir = .*|bin_dir = \\\"$cni\\\"|\" "
        # Lab nodes refuse a negative oom_score_adj (lab-notes), as containers in containers
        # do; an operator who missed it would get no pod sandbox at all.
        "-e 's|restrict_oom_score_adj = false|restrict_oom_score_adj = true|' "
        "> /etc/containerd/config.toml && "
        "systemctl restart containerd",
    # kubeadm itself writes no --container-runtime (docker is the default); the lab's other
    # cluster does: either way the runbook's line ends the same.
    "edit kubeadm-flags.env":
        f"sed -i -e 's|--container-runtime=docker ||' -e 's|--network-plugin=[^ \"]* ||' "
        f"-e 's|--cni-bin-dir=[^ \"]* ||' -e 's|ARGS=\"|ARGS=\"--container-runtime=remote "
        f"--container-runtime-endpoint={SOCKET} |' {FLAGS}",
    "start kubelet": "systemctl start kubelet",
}


def fresh_lab(version: str, nodes: int = 1, kubeadm: bool = False) -> tuple[Inventory, Path]:
    """A lab of `nodes` nodes with a cluster (made by kubeadm on the nodes with `kubeadm`):
    its inventory and the admin kubeconfig."""
    down()
    inventory = lifecycle.up(LAB, nodes)
    record = (kubeadm_cluster if kubeadm else cluster).up(LAB, inventory, version)
    return load_inventory(inventory.source), Path(record.kubeconfig)


def down() -> None:
    cluster.down(LAB)
    lifecycle.down(LAB)


def timed(fn) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def kubectl(kubeconfig: Path, *args: str) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], check=True,
                          capture_output=True, text=True, timeout=600).stdout


def wait_ready_on_containerd(kubeconfig: Path, node: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    query = ("jsonpath={.status.nodeInfo.containerRuntimeVersion} "
             "{.status.conditions[?(@.type=='Ready')].status}")
    while time.monotonic() < deadline:
        try:
            answer = kubectl(kubeconfig, "get", "node", node, "-o", query)
        except subprocess.CalledProcessError:  # a control-plane node's API server restarts
            time.sleep(1)
            continue
        runtime, _, ready = answer.partition(" ")
        if runtime.startswith("containerd://") and ready == "True":
            return
        time.sleep(1)
    raise TimeoutError(f"{node} not Ready on containerd after {timeout:.0f} s")


def by_hand(version: str) -> dict[str, float]:
    return runbook(*fresh_lab(version))


def runbook(inventory: Inventory, kubeconfig: Path) -> dict[str, float]:
    """The runbook's steps on the inventory's first node, each timed."""
    node = inventory.nodes[0]
    transport = open_transport(node)
    steps = {"cordon and drain": timed(lambda: kubectl(
        kubeconfig, "drain", node.name, "--ignore-daemonsets", "--delete-emptydir-data"))}
    for step, command in NODE_STEPS.items():
        steps[step] = timed(lambda c=command: transport.run(["sh", "-c", c], timeout=600,
                                                            check=True))
    steps["wait Ready on containerd"] = timed(
        lambda: wait_ready_on_containerd(kubeconfig, node.name))
    steps["uncordon"] = timed(lambda: kubectl(kubeconfig, "uncordon", node.name))
    return steps


def migrate(out: Path, *args: str) -> float:
    return timed(lambda: subprocess.run(
        [sys.executable, "-m", "harness", "migrate", "--lab", LAB, "--out", str(out), *args],
        check=True, capture_output=True, cwd=REPO, timeout=3600))


def with_harness(version: str, out: Path) -> tuple[float, list[tuple[str, float]]]:
    inventory, _ = fresh_lab(version)
    seconds = migrate(out)
    junit = out / "junit" / f"junit-{inventory.nodes[0].name}-migrate.xml"
    tasks = [(case.name, case.time) for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    return seconds, tasks


def fleet(version: str, sizes: list[int], batch_sizes: list[int]) -> dict[int, dict]:
    """Seconds of `harness migrate` by batch size, by fleet size."""
    seconds: dict[int, dict] = {}
    for batch in batch_sizes:
        for nodes in (n for n in sizes if n >= batch):
            fresh_lab(version, nodes)
            with tempfile.TemporaryDirectory(prefix="hb-mig-bench-") as tmp:
                seconds.setdefault(batch, {})[nodes] = migrate(
                    Path(tmp), "--canary", "0", "--batch-size", str(batch))
    return seconds


def fleet_figures(seconds: dict[int, dict]) -> list[results.Figure]:
    """Each fleet one at a time against the smallest fleet one at a time (what a node more
    costs), and each larger batch size against one at a time on as many nodes."""
    (first, serial), *others = seconds.items()
    smallest = min(serial)
    return [
        *(results.Figure(f"migrate {nodes} nodes, batch size {first}", round(s, 1), "s",
                         f"{smallest} node(s), batch size {first}", round(serial[smallest], 1),
                         note="--canary 0")
          for nodes, s in serial.items() if nodes != smallest),
        *(results.Figure(f"migrate {nodes} nodes, batch size {batch}", round(s, 1), "s",
                         f"{nodes} nodes, batch size {first}", round(serial[nodes], 1),
                         note="--canary 0")
          for batch, by_nodes in others for nodes, s in by_nodes.items() if nodes in serial),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    parser.add_argument("--fleet", default="1,2,4", help="fleet sizes (nodes)")
    parser.add_argument("--batch-sizes", default="1,2", help="the first is the baseline")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="hb-mig-bench-") as tmp:
            harness_seconds, tasks = with_harness(args.version, Path(tmp))
        steps = by_hand(args.version)
        fleet_seconds = fleet(args.version, [int(n) for n in args.fleet.split(",")],
                              [int(b) for b in args.batch_sizes.split(",")])
    finally:
        down()
    hand = sum(steps.values())
    longest = sorted(tasks, key=lambda task: task[1], reverse=True)[:10]
    short = [t for _, t in tasks if t < 1]
    details = [
        "by hand, seconds per step: " + "; ".join(f"{k} {v:.1f}" for k, v in steps.items()),
        f"harness migrate: {len(tasks)} tasks; the ten longest: "
        + "; ".join(f"{name} {t:.1f}" for name, t in longest),
        # Where the rest goes: tasks that each do little cost a module start over SSH apiece.
        f"harness migrate: {len(short)} tasks under 1 s take {sum(short):.1f} s in all; the "
        f"controller's own (outside the node's tasks) "
        f"{harness_seconds - sum(t for _, t in tasks):.1f} s",
    ]
    figures = [results.Figure(
        "migrate one node, harness", round(harness_seconds, 1), "s", "the steps by hand",
        round(hand, 1), note="the harness also backs up, checks, installs crictl and annotates"),
        *fleet_figures(fleet_seconds)]
    curve = results.Curve("fleet-migration", "nodes", "seconds", {
        f"batch size {batch}": sorted(by_nodes.items())
        for batch, by_nodes in fleet_seconds.items()})
    entry = results.record("migration", figures, [curve], details=details)
    print("\n".join(entry["details"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
