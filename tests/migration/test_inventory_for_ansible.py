"""The playbooks read any inventory the harness reads: an Ansible-shaped file is passed as it
is, a harness-shaped one is written out in Ansible's shape with the same nodes, connection
settings, pinned host keys and cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from harness.inventory import load_inventory
from harness.migration.runner import ansible_inventory

ANSIBLE_INVENTORY = str(Path(sys.executable).parent / "ansible-inventory")


def hostvars(path: Path) -> dict:
    listed = subprocess.run([ANSIBLE_INVENTORY, "-i", str(path), "--list"], capture_output=True,
                            text=True, check=True)
    return json.loads(listed.stdout)["_meta"]["hostvars"]


def test_a_harness_shaped_inventory_is_written_for_ansible(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    key.chmod(0o600)
    kubeconfig = tmp_path / "admin.conf"
    kubeconfig.write_text("{}\n")
    source = tmp_path / "nodes.yaml"
    source.write_text(yaml.safe_dump({
        "cluster": {"kubeconfig": str(kubeconfig), "kubernetes_version": "1.23.17"},
        "defaults": {"user": "admin", "ssh_key": str(key), "become": True,
                     "vars": {"known_hosts": str(tmp_path / "known_hosts")}},
        "nodes": [{"name": "worker-1", "host": "192.0.2.11"},
                  {"name": "worker-2", "host": "192.0.2.12", "port": 2222,
                   "docker_endpoint": "unix:///var/run/docker.sock"}]}))
    written = ansible_inventory(load_inventory(source), tmp_path)
    assert written != source
    found = hostvars(written)
    assert sorted(found) == ["worker-1", "worker-2"]
    one, two = found["worker-1"], found["worker-2"]
    assert (one["ansible_host"], one["ansible_user"], one["ansible_become"]) == (
        "192.0.2.11", "admin", True)
    assert two["ansible_port"] == 2222
    assert two["docker_endpoint"] == "unix:///var/run/docker.sock"
    assert one["ansible_ssh_private_key_file"] == str(key)
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in one["ansible_ssh_common_args"]
    assert one["kubeconfig"] == str(kubeconfig)


def test_an_ansible_shaped_inventory_is_used_as_it_is(tmp_path):
    source = Path(__file__).resolve().parents[2] / "examples" / "inventory-ansible.yaml"
    assert ansible_inventory(load_inventory(source), tmp_path) == source


def test_the_written_inventory_reads_back_as_the_same_nodes(tmp_path):
    """What Ansible gets for a harness-shaped file, read through ansible-core, reaches the same
    machines the harness reaches."""
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    key.chmod(0o600)
    source = tmp_path / "nodes.yaml"
    source.write_text(yaml.safe_dump({
        "defaults": {"user": "admin", "ssh_key": "id_ed25519", "become": True},
        "nodes": [{"name": "w1", "host": "192.0.2.11", "groups": ["workers"]},
                  {"name": "w2", "host": "192.0.2.12", "port": 2222, "user": "ops",
                   "connection": "local"}]}))
    native = load_inventory(source)
    written = load_inventory(ansible_inventory(native, tmp_path))

    def reach(inventory):
        return [(n.name, n.host, n.port, n.user, n.ssh_key, n.become, n.connection)
                for n in inventory.nodes]

    assert (native.shape, written.shape) == ("native", "ansible")
    assert reach(written) == reach(native)
