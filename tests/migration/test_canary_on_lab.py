"""Canary and locks on a real 2-node lab (`hflt`, Kubernetes 1.23.17 on Docker): a canary named
out of inventory order goes first, and when it fails the run stops before the other node is
touched; a node held by another run is refused over SSH; with the fault gone, Ctrl-C during
the canary lets it finish and starts no other batch, and the run again migrates the other node;
the lock is gone after each run. The tests share the lab and
run in file order (170 s here, of which the lab 56 s to make and remove)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from kubernetes import client
from labs import module_kube_lab

from harness.migration import phase
from harness.nodes import lock
from harness.transport import open_transport

from .test_migration_on_lab import snapshot

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]

LAB = "hflt"
# A pod that reaches Docker through its socket: a real reason for migrate to refuse its node.
DOCKER_USER = "docker-socket-user"


lab = module_kube_lab(LAB)


def lock_present(node) -> bool:
    with open_transport(node) as t:
        return t.run(["test", "-e", f"{phase.state_dir(node)}/{lock.LOCK_FILE}"]).ok


def node_state(api, name: str) -> tuple[str, bool]:
    node = client.CoreV1Api(api).read_node(name)
    return node.status.node_info.container_runtime_version, bool(node.spec.unschedulable)


def test_a_failed_canary_stops_the_run_before_the_other_node(lab, harness_cli, tmp_path):
    first, canary = lab.node_names  # the canary is the inventory's second node
    other = lab.inventory.node(first)
    before = snapshot(other)
    runtime_before = node_state(lab.api, first)
    client.CoreV1Api(lab.api).create_namespaced_pod("default", {
        "metadata": {"name": DOCKER_USER},
        "spec": {"nodeName": canary, "containers": [
            {"name": "agent", "image": "registry.invalid/agent:1", "imagePullPolicy": "Never",
             "volumeMounts": [{"name": "docker", "mountPath": "/var/run/docker.sock"}]}],
            "volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]}})
    try:
        done = harness_cli("migrate", "-i", str(lab.inventory_path), "--canary", canary,
                           "--out", str(tmp_path))
    finally:
        client.CoreV1Api(lab.api).delete_namespaced_pod(DOCKER_USER, "default",
                                                        grace_period_seconds=0)
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]  # refused, nothing changed
    assert f"FAILED {canary}: Refuse a node that preflight blocks: {canary}: pod reaches " \
        f"Docker: default/{DOCKER_USER}" in done.stdout
    ran = json.loads((tmp_path / "ansible" / "migrate" / "nodes" / f"{canary}.json")
                     .read_text())
    assert ran["counts"]["changed"] == 0
    assert not (tmp_path / "ansible" / "migrate" / "nodes" / f"{first}.json").exists()
    assert f"[{first}]" not in done.stderr  # not one task ran on the other node
    assert snapshot(other) == before
    assert node_state(lab.api, first) == runtime_before
    assert not any(lock_present(n) for n in lab.inventory.nodes)


def test_a_node_held_by_another_run_is_refused_over_ssh(lab, harness_cli, tmp_path):
    node = lab.inventory.node(lab.node_names[0])
    with lock.held([node], "harness rollback", phase.state_dir) as holder:
        done = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(tmp_path))
        assert lock_present(node)
    lines = done.stderr.splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stdout + done.stderr
    assert lines[0].startswith(f"harness migrate: node {node.name} is locked by `harness "
                                f"rollback` (pid {holder.pid}, "), lines
    assert not (tmp_path / "ansible").exists()
    assert not lock_present(node)


@pytest.mark.long
def test_ctrl_c_lets_the_canary_finish_and_starts_no_other_batch(lab, tmp_path):
    """SIGINT while the canary migrates (what a terminal's Ctrl-C sends the harness; Ansible
    runs in a session of its own): the canary finishes its migration, on containerd and
    schedulable; the other node is not touched; the run names both and exits 130."""
    first, canary = lab.node_names
    other = lab.inventory.node(first)
    before = snapshot(other)
    run = subprocess.Popen(
        [sys.executable, "-m", "harness", "migrate", "-i", str(lab.inventory_path), "--canary",
         canary, "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "CI": "true"})
    deadline = time.monotonic() + 300
    while not node_state(lab.api, canary)[1]:  # cordoned: the canary's migration is under way
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=900)
    assert run.returncode == 130, out + err[-3000:]
    assert "Ctrl-C: the nodes in flight finish their batch" in err
    assert (f"INTERRUPTED: {canary} finished their batch; not started: {first}; run `harness "
            "migrate` again to go on") in out, out
    runtime, cordoned = node_state(lab.api, canary)
    assert runtime.startswith("containerd://") and not cordoned
    assert node_state(lab.api, first)[0].startswith("docker://")
    assert snapshot(other) == before
    assert not any(lock_present(n) for n in lab.inventory.nodes)


@pytest.mark.long
def test_the_named_canary_is_migrated_before_the_other_node(lab, harness_cli, tmp_path):
    """The same run again goes through: the canary (second in the inventory, already moved by
    the interrupted run) is done before the first node is drained; no lock is left behind."""
    first, canary = lab.node_names
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--canary", canary,
                       "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert all(node_state(lab.api, n)[0].startswith("containerd://") for n in lab.node_names)
    lines = done.stderr.splitlines()
    last_canary = max(i for i, line in enumerate(lines) if line.startswith(f"[{canary}]"))
    first_drain = min(i for i, line in enumerate(lines) if line.startswith(f"[{first}]")
                      and "Cordon and drain" in line)
    assert last_canary < first_drain, "the other node started before the canary finished"
    assert not any(lock_present(n) for n in lab.inventory.nodes)
