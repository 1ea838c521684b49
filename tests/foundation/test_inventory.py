"""Inventory files: both shapes load into the same typed nodes, and every bad input is one line
`FILE:LINE: FIELD: problem` with exit 2 (through the real CLI)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path, PosixPath

import pytest
import yaml

from harness.errors import InputError
from harness.inventory import load_inventory, load_inventory_or_none

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def inventory(tmp_path):
    def write(text: str, name: str = "inventory.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


@pytest.fixture
def key(new_key):
    return new_key("hf-inv-key")


@pytest.mark.parametrize("name", ["inventory.yaml", "inventory-ansible.yaml"])
def test_example_inventories_check_clean(harness, name):
    """Both documented examples validate and list their three nodes."""
    proc = harness("inventory", "check", EXAMPLES / name)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split()[:3] for line in proc.stdout.splitlines()]
    assert ["worker-2", "192.0.2.12:2222", "admin"] in rows
    assert "3 node(s); kubernetes 1.24.17" in proc.stdout


def test_both_example_shapes_describe_the_same_nodes():
    native = load_inventory(EXAMPLES / "inventory.yaml")
    ansible = load_inventory(EXAMPLES / "inventory-ansible.yaml")
    assert native.nodes == ansible.nodes
    assert native.cluster == ansible.cluster


def test_every_ansible_read_value_is_plain_python(inventory, key):
    """ansible-core 2.19 tags what it parses (a str subclass): such values broke yaml.safe_dump
    of a kubeadm config naming the node. Every field of every node is a plain type."""
    inv = load_inventory(inventory(f"""
all:
  vars: {{ansible_user: ops, ansible_ssh_private_key_file: {key}, color: blue, ids: [1, 2]}}
  children:
    workers:
      hosts:
        w1: {{ansible_host: 10.0.0.11}}
"""))
    (node,) = inv.nodes
    found = [dataclasses.asdict(node)]
    while found:
        value = found.pop()
        if isinstance(value, dict):
            found += [*value.keys(), *value.values()]
        elif isinstance(value, list | tuple):
            found += value
        else:
            assert type(value) in (str, int, float, bool, type(None), PosixPath), (value,
                                                                                  type(value))
    yaml.safe_dump(dataclasses.asdict(node) | {"ssh_key": str(node.ssh_key)})


def test_native_defaults_apply_unless_a_node_overrides(inventory, key):
    inv = load_inventory(inventory(f"""
defaults: {{user: admin, ssh_key: {key}, become: true}}
nodes:
  - {{name: a, host: 10.0.0.1}}
  - {{name: b, host: 10.0.0.2, user: root, port: 2200}}
"""))
    a, b = inv.nodes
    assert (a.user, a.port, a.ssh_key, a.become) == ("admin", 22, key, True)
    assert (b.user, b.port) == ("root", 2200)


def test_ansible_group_vars_are_inherited_and_host_vars_win(inventory, key):
    inv = load_inventory(inventory(f"""
all:
  vars: {{ansible_user: ops, ansible_ssh_private_key_file: {key}, kubernetes_version: v1.24.17}}
  children:
    workers:
      vars: {{ansible_port: 2222, cri_endpoint: "unix:///run/containerd/containerd.sock"}}
      hosts:
        w1: {{ansible_host: 10.0.0.11}}
        w2: {{ansible_host: 10.0.0.12, ansible_port: 22, color: blue}}
    ungrouped:
      hosts:
        solo:
"""))
    w1, w2, solo = (inv.node(name) for name in ("w1", "w2", "solo"))
    assert (w1.host, w1.port, w1.user, w1.ssh_key, w1.groups) == (
        "10.0.0.11", 2222, "ops", key, ("workers",))
    assert w1.cri_endpoint == "unix:///run/containerd/containerd.sock"
    assert (w2.port, w2.vars) == (22, {"color": "blue"})
    assert (solo.host, solo.port) == ("solo", 22)
    assert inv.cluster.kubernetes_version == "v1.24.17"
    assert "kubernetes_version" not in w1.vars


def test_no_inventory_given_means_the_local_lab(monkeypatch, inventory):
    monkeypatch.delenv("HARNESS_INVENTORY", raising=False)
    assert load_inventory_or_none(None) is None
    path = inventory("nodes: [{name: a, host: h}]\n")
    monkeypatch.setenv("HARNESS_INVENTORY", str(path))
    assert load_inventory_or_none(None).nodes[0].name == "a"


# --- bad input: one line naming file, line and field ----------------------------------------


def test_malformed_yaml(harness_error, inventory):
    path = inventory("nodes:\n  - name: a\n    host: [unclosed\n  - name: b\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:4: malformed YAML" in line


def test_unknown_field_suggests_the_right_one(harness_error, inventory):
    path = inventory("nodes:\n  - name: a\n    host: h\n    prot: 22\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:4: nodes[0].prot: unknown field" in line
    assert "did you mean 'port'?" in line


def test_unknown_top_level_field(harness_error, inventory):
    path = inventory("cluster: {}\nnodes: [{name: a, host: h}]\nnode_defaults: {}\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:3: node_defaults: unknown field" in line


def test_missing_key_file(harness_error, inventory, tmp_path):
    path = inventory("nodes:\n  - name: a\n    host: h\n    ssh_key: nowhere/id_ed25519\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:4: nodes[0].ssh_key: SSH key {tmp_path}/nowhere/id_ed25519 does not exist" \
        in line


def test_key_readable_by_others_is_refused(harness_error, inventory, key):
    key.chmod(0o644)
    path = inventory(f"defaults:\n  ssh_key: {key}\nnodes: [{{name: a, host: h}}]\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:2: defaults.ssh_key: SSH key {key} is readable by group or others " \
        "(mode 0644)" in line
    assert f"chmod 600 {key}" in line


def test_duplicate_node_names(harness_error, inventory):
    path = inventory("nodes:\n  - {name: a, host: h1}\n  - {name: a, host: h2}\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:3: nodes[1].name: duplicate node name 'a' (first at line 2)" in line


def test_duplicate_yaml_key(harness_error, inventory):
    path = inventory("nodes:\n  - name: a\n    host: h\n    host: h2\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:4: host: duplicate key (first at line 3)" in line


@pytest.mark.parametrize("port", ["ssh", "70000"])
def test_bad_port(harness_error, inventory, port):
    path = inventory(f"nodes:\n  - name: a\n    host: h\n    port: {port}\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:4: nodes[0].port: expected a port number 1-65535" in line


def test_missing_host(harness_error, inventory):
    path = inventory("nodes:\n  - name: a\n    port: 22\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:2: nodes[0]: missing required field 'host'" in line


def test_unquoted_version_number(harness_error, inventory):
    path = inventory("cluster:\n  kubernetes_version: 1.20\nnodes: [{name: a, host: h}]\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}:2: cluster.kubernetes_version: expected a Kubernetes version such as " \
        "1.24.17, got float 1.2" in line
    assert 'quote it: "1.2"' in line


def test_ansible_typo_in_connection_variable(harness_error, inventory):
    path = inventory("all:\n  hosts:\n    w1:\n      ansible_hots: 10.0.0.1\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}: host w1: ansible_hots: unknown variable" in line
    assert "did you mean 'ansible_host'?" in line


def test_ansible_playbook_variables_pass_through(inventory):
    """Variables are free-form in Ansible: only near-identical names count as typos."""
    inv = load_inventory(inventory("all:\n  hosts:\n    w1:\n      ansible_ssh_user: ops\n"
                                   "      ansible_timeout: 30\n      kubelet_config: /k.yaml\n"))
    assert inv.nodes[0].user == "ops"
    assert inv.nodes[0].vars == {"ansible_timeout": 30, "kubelet_config": "/k.yaml"}


def test_ansible_bad_group_var_names_the_host(harness_error, inventory):
    path = inventory("all:\n  children:\n    workers:\n      vars:\n        ansible_port: ssh\n"
                     "      hosts:\n        w1:\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}: host w1: ansible_port: expected a port number 1-65535, got str 'ssh'" \
        in line


def test_what_ansible_warns_about_is_refused(harness_error, inventory):
    """Ansible skips an unknown group key with a warning; the harness stops there instead."""
    path = inventory("all:\n  host:\n    w1:\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}: Ansible warns: Skipping unexpected key (host) in group (all)" in line


def test_a_warning_counts_every_time_the_file_is_read(inventory):
    """Ansible prints a warning once per process; the harness reads inventories more often."""
    path = inventory("all:\n  host:\n    w1:\n  hosts:\n    w2:\n")
    for _ in range(2):
        with pytest.raises(InputError, match="Ansible warns: Skipping unexpected key"):
            load_inventory(path)


def test_passwords_are_refused_and_never_echoed(harness_error, inventory):
    secret = "hf-s3cret-value"
    path = inventory(f"all:\n  hosts:\n    w1:\n      ansible_password: {secret}\n")
    line = harness_error("inventory", "check", path)
    assert f"{path}: host w1: ansible_password: passwords are not accepted" in line
    assert secret not in line


def test_missing_file(harness_error, tmp_path):
    line = harness_error("inventory", "check", tmp_path / "absent.yaml")
    assert f"inventory file {tmp_path}/absent.yaml not found" in line


def test_empty_file(harness_error, inventory):
    path = inventory("# nothing yet\n")
    assert f"{path}: the file is empty" in harness_error("inventory", "check", path)


def test_check_exits_zero_with_a_node_table(harness, inventory, key):
    path = inventory(f"nodes:\n  - {{name: hf-a, host: 127.0.0.1, ssh_key: {key}}}\n")
    proc = harness("inventory", "check", path)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[1].split()[:3] == ["hf-a", "127.0.0.1:22", "root"]
    assert os.fspath(key) in proc.stdout


def test_a_file_ansible_cannot_read_says_why(harness_error, inventory):
    path = inventory("[web\nw1\n", name="hosts.ini")
    line = harness_error("inventory", "check", path)
    assert line.startswith(f"harness inventory: {path}: Ansible cannot read it as an inventory "
                           "(Failed to parse inventory with 'ini' plugin: ")
    assert line.endswith(f"run: ansible-inventory -i {path} --list")


def test_an_ini_inventory_reads_as_ansible_reads_it(inventory):
    """INI values are strings to Ansible until it converts them: `yes` becomes true."""
    inv = load_inventory(inventory("[web]\nw1 ansible_host=10.0.0.1 ansible_become=yes "
                                   "ansible_port=2222\n", name="hosts.ini"))
    w1 = inv.node("w1")
    assert (w1.host, w1.port, w1.become, w1.groups) == ("10.0.0.1", 2222, True, ("web",))
