"""A 2-node lab, reached the way every suite reaches nodes: the inventory it writes and the
harness SSH transport."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.facts import gather
from harness.images import build
from harness.lab import lifecycle, state
from harness.lab.node_files import OOM_CLAMP_RUNTIME
from harness.providers.inventory import InventoryProvider
from harness.transport import open_transport

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(900)]


def test_docker_runs_a_fixture_image_on_every_node(lab):
    """The "before" state: Docker is the node's runtime and our fixture images are loaded."""
    busybox = build("busybox")
    for node in lab.nodes:
        with open_transport(node) as t:
            result = t.run(["docker", "run", "--rm", busybox.ref, "echo",
                            f"hello from {node.name}"], timeout=60, check=True)
        assert result.stdout.strip() == f"hello from {node.name}"


def test_nodes_reach_each_other_over_the_lab_network(lab):
    """Node 1 opens a TCP connection to node 2's sshd at its lab address."""
    first, second = lab.nodes
    with open_transport(first) as t:
        probe = (f"import socket; socket.create_connection(('{second.host}', 22), 5)"
                 ".recv(64).startswith(b'SSH-') or exit(1)")
        assert t.run(["python3", "-c", probe], timeout=30).ok


def test_docker_is_enabled_and_configured_like_a_production_node(lab):
    """daemon.json carries log options, a registry mirror, an insecure registry and the cgroup
    driver; docker.service is enabled and active; containerd keeps Debian's own config."""
    with open_transport(lab.nodes[0]) as t:
        config = json.loads(t.run("cat /etc/docker/daemon.json", check=True).stdout)
        enabled = t.run("systemctl is-enabled docker.service").stdout.strip()
        active = t.run("systemctl is-active docker.service containerd.service").stdout.split()
        containerd = t.run("cat /etc/containerd/config.toml", check=True).stdout
    assert config["log-driver"] == "json-file" and config["log-opts"]["max-size"]
    assert config["registry-mirrors"] and config["insecure-registries"]
    assert config["exec-opts"] == ["native.cgroupdriver=cgroupfs"]
    assert (enabled, active) == ("enabled", ["active", "active"])
    assert 'disabled_plugins' not in containerd and "io.containerd.grpc.v1.cri" in containerd


def test_node_facts_are_detected_and_docker_clamps_oom_score_adj(lab):
    """This host refuses a negative oom_score_adj: the probe detects it on the node, and Docker's
    default runtime is the clamping wrapper, so `--oom-score-adj=-998` (what dockershim gives the
    pause container) starts with 0."""
    with open_transport(lab.nodes[0]) as t:
        facts = gather(t)
        result = t.run(["docker", "run", "--rm", "--oom-score-adj=-998", build("busybox").ref,
                        "cat", "/proc/self/oom_score_adj"], timeout=60, check=True)
    assert facts.system.init == "systemd" and facts.cgroups.version == 1
    assert facts.oom.negative_refused
    assert facts.docker.default_runtime == OOM_CLAMP_RUNTIME
    assert result.stdout.strip() == "0"


def test_lab_up_again_keeps_the_running_nodes(lab):
    """A second `lab up` of a healthy lab changes nothing: same machines, same host keys."""
    before = state.load("hlt")
    known_hosts = (state.lab_dir("hlt") / "known_hosts").read_text()
    again = lifecycle.up("hlt", 2)
    after = state.load("hlt")
    assert [n.machine_pid for n in after.nodes] == [n.machine_pid for n in before.nodes]
    assert (state.lab_dir("hlt") / "known_hosts").read_text() == known_hosts
    assert [n.host for n in again.nodes] == [n.host for n in lab.nodes]


def test_lab_status_shows_every_node_running_with_ssh_and_docker(lab, harness_lab):
    """`harness lab status`: one row per node with address, state, ssh ok, runtime ok."""
    result = harness_lab("status", "--name", "hlt")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["NODE", "ADDRESS", "STATE", "SSH", "RUNTIME"]
    assert rows[1:] == [[n.name, n.host, "running", "ok", "ok"] for n in lab.nodes]


def test_ansible_reads_the_lab_inventory(lab):
    """One file for both: `ansible-inventory` lists the lab's nodes with the addresses, key and
    pinned known_hosts the harness uses."""
    listed = subprocess.run([str(Path(sys.executable).parent / "ansible-inventory"), "-i",
                             str(lab.source), "--list"], capture_output=True, text=True,
                            check=True)
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]
    assert {name: v["ansible_host"] for name, v in hostvars.items()} == {
        n.name: n.host for n in lab.nodes}
    for node in lab.nodes:
        assert hostvars[node.name]["ansible_ssh_private_key_file"] == str(node.ssh_key)
        assert f"UserKnownHostsFile={node.vars['known_hosts']}" in \
            hostvars[node.name]["ansible_ssh_common_args"]


def test_inventory_provider_reaches_existing_nodes(lab):
    """The `inventory` provider creates nothing: up() names the nodes, facts() probes them."""
    provider = InventoryProvider(lab.source)
    assert [n.name for n in provider.up().nodes] == [n.name for n in lab.nodes]
    assert all(f.system.init == "systemd" for f in provider.facts().values())


def test_inventory_provider_reports_an_unreachable_node(lab, tmp_path):
    """A listed node that does not answer SSH is `unreachable` in status(), beside the nodes
    that answer (one dead node must not hide the others)."""
    net = state.load("hlt").network
    inventory = tmp_path / "inventory.yaml"
    doc = yaml.safe_load(lab.source.read_text())
    doc["all"]["children"]["lab"]["children"]["lab_hlt"]["hosts"]["ghost"] = {
        "ansible_host": net.node_address(99)}
    inventory.write_text(yaml.safe_dump(doc))
    status = {s.name: s for s in InventoryProvider(inventory).status()}
    assert (status["ghost"].state, status["ghost"].ssh_ok) == ("unreachable", False)
    assert all(status[n.name].ssh_ok and status[n.name].runtime_ok for n in lab.nodes)


def test_runtime_data_lives_on_plain_directories_not_on_the_overlay_root(lab):
    """Docker's overlay2 and containerd's snapshots cannot sit on an overlay: their directories
    are bind mounts of plain host directories, while / is the overlay on the cached image."""
    with open_transport(lab.nodes[0]) as t:
        fstypes = t.run(["stat", "-f", "-c", "%T", "/", "/var/lib/docker",
                         "/var/lib/containerd"], check=True).stdout.split()
    assert fstypes[0] == "overlayfs"
    assert "overlayfs" not in fstypes[1:]


def test_nodes_are_prepared_for_runtimes_and_a_kubelet(lab):
    """Inside a node: cgroup controllers writable (runtimes create cgroups), / shared (mount
    propagation into pods), /dev/kmsg readable (kubelet's OOM watcher), the node's own network
    sysctls writable (Docker, kube-proxy)."""
    with open_transport(lab.nodes[0]) as t:
        cgroup = t.run("mkdir /sys/fs/cgroup/cpu/hl-probe && rmdir /sys/fs/cgroup/cpu/hl-probe")
        sysctl = t.run(["sysctl", "-w", "net.ipv4.conf.all.route_localnet=1"])
        propagation = t.run(["findmnt", "-n", "-o", "PROPAGATION", "/"], check=True).stdout
        kmsg = t.run("test -c /dev/kmsg && test -r /dev/kmsg")
    assert cgroup.ok, cgroup.stderr
    assert sysctl.ok, sysctl.stderr
    assert propagation.strip() == "shared"
    assert kmsg.ok
