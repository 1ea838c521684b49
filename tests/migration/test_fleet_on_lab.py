"""Batches past two nodes, on a real 4-node lab (`hfleet`, Kubernetes 1.23.17 on Docker): the
canary, then batches of two. A node of the second batch is refused for a real reason (a pod on
it mounts the Docker socket): with --max-fail 0 the run stops there, and the last batch is never
touched; with --max-fail 50 one failure in a batch of two is tolerated and the run goes on to
the last batch; with the reason gone, the rest follows. The tests share the lab, in file order."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from labs import module_kube_lab

from .test_canary_on_lab import DOCKER_USER, node_state

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(2400)]

LAB = "hfleet"


lab = module_kube_lab(LAB, nodes=4)


@pytest.fixture(scope="module")
def docker_user(lab):
    """A pod on the third node that reaches Docker through its socket, until the last test."""
    third = lab.node_names[2]
    client.CoreV1Api(lab.api).create_namespaced_pod("default", {
        "metadata": {"name": DOCKER_USER},
        "spec": {"nodeName": third, "containers": [
            {"name": "agent", "image": "harness.local/busybox:1.0", "imagePullPolicy": "Never",
             "command": ["sleep", "3600"],
             "volumeMounts": [{"name": "docker", "mountPath": "/var/run/docker.sock"}]}],
            "volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]}})
    return third


def runtimes(lab) -> list[str]:
    return [node_state(lab.api, name)[0].split("://")[0] for name in lab.node_names]


def ran_on(out, node: str) -> bool:
    return (out / "ansible" / "migrate" / "nodes" / f"{node}.json").exists()


def changed_on(out, node: str) -> int:
    ran = json.loads((out / "ansible" / "migrate" / "nodes" / f"{node}.json").read_text())
    return ran["counts"]["changed"]


def test_a_failure_in_a_batch_stops_the_run_before_the_next_batch(
        lab, docker_user, harness_cli, tmp_path):
    first, second, third, fourth = lab.node_names
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--canary", "1",
                       "--batch-size", "2", "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]  # refused, not broken
    assert f"FAILED {third}: Refuse a node that preflight blocks: {third}: pod reaches Docker" \
        in done.stdout, done.stdout
    assert runtimes(lab) == ["containerd", "docker", "docker", "docker"]
    assert changed_on(tmp_path, second) == changed_on(tmp_path, third) == 0  # stopped together
    assert not ran_on(tmp_path, fourth)  # the last batch never started
    assert not any(node_state(lab.api, n)[1] for n in lab.node_names)  # none left cordoned


@pytest.mark.long
def test_max_fail_50_lets_one_failure_in_a_batch_of_two_pass_and_the_run_go_on(
        lab, docker_user, harness_cli, tmp_path):
    first, second, third, fourth = lab.node_names
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--canary", "1",
                       "--batch-size", "2", "--max-fail", "50", "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    assert runtimes(lab) == ["containerd", "containerd", "docker", "containerd"]
    assert changed_on(tmp_path, first) == 0  # the canary was done already
    assert not any(node_state(lab.api, n)[1] for n in lab.node_names)


@pytest.mark.long
def test_with_the_reason_gone_the_rest_of_the_fleet_follows(lab, docker_user, harness_cli,
                                                             tmp_path):
    client.CoreV1Api(lab.api).delete_namespaced_pod(DOCKER_USER, "default",
                                                    grace_period_seconds=0)
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--batch-size", "2",
                       "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert runtimes(lab) == ["containerd"] * 4
    verify = harness_cli("verify", "-i", str(lab.inventory_path), "--out", str(tmp_path / "v"))
    assert verify.returncode == 0, verify.stdout[-3000:]
