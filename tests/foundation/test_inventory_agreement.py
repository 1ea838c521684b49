"""The harness and Ansible see the same machines: for tricky Ansible inventories, every host's
address, port, user and key as the harness reads them equal what the real `ansible-inventory
-i FILE --list` says. Where Ansible's answer depends on where it runs (a relative key path),
the harness refuses the inventory instead of guessing."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.inventory import load_inventory

ANSIBLE_INVENTORY = str(Path(sys.executable).parent / "ansible-inventory")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory-ansible.yaml"

# name -> (file name, text, extra files relative to the inventory's directory)
CASES = {
    # Two groups at the same depth set different addresses: Ansible applies them in name order,
    # so `zeta` wins over `alpha` whatever the order in the file.
    "host in two groups": ("two-groups.yaml", """
all:
  children:
    zeta:
      vars: {ansible_host: 10.0.0.1, ansible_port: 2201}
      hosts: {n1: }
    alpha:
      vars: {ansible_host: 10.0.0.2, ansible_port: 2202}
      hosts: {n1: , n2: }
""", {}),
    # A host's own variable, set where it is listed first, beats every group's.
    "host vars beat a later group's vars": ("host-vars.yaml", """
all:
  vars: {ansible_user: ops}
  children:
    a:
      hosts:
        n1: {ansible_host: 10.0.1.1, ansible_port: 2201}
    b:
      vars: {ansible_host: 10.0.1.9, ansible_port: 2300, ansible_user: other}
      hosts: {n1: , n2: {ansible_host: 10.0.1.2}}
""", {}),
    # A child group's vars beat its parent's, even when the parent lists the host too.
    "children groups": ("children.yaml", """
all:
  children:
    linux:
      vars: {ansible_user: linux-admin, ansible_port: 2022}
      hosts: {n1: {ansible_host: 10.0.2.1}}
      children:
        workers:
          vars: {ansible_user: worker-admin}
          hosts: {n1: , n2: {ansible_host: 10.0.2.2}}
""", {}),
    "ranges": ("ranges.yaml", """
all:
  children:
    workers:
      vars: {ansible_user: ops}
      hosts:
        node[1:3]:
        "10.0.3.[1:2]": {ansible_port: 2222}
""", {}),
    "user and key from groups, group_vars beside the file": ("site.yaml", """
all:
  vars: {ansible_ssh_private_key_file: ~/keys/all}
  children:
    workers:
      hosts: {w1: {ansible_host: 10.0.4.1}, w2: {ansible_host: 10.0.4.2}}
""", {"group_vars/workers.yml": "ansible_user: from-group-vars\nansible_port: 2204\n"
      "ansible_ssh_private_key_file: ~/keys/workers\n"}),
    "INI: host in two groups": ("hosts.ini", """
[zeta]
n1 ansible_host=10.0.5.1 ansible_port=2201

[alpha]
n1
n2 ansible_host=10.0.5.2

[alpha:vars]
ansible_port=2300
ansible_user=alpha-admin
""", {}),
    "the documented example": ("example.yaml", EXAMPLE.read_text(), {}),
}

# Ansible takes a relative key path from the directory it runs in (ansible-runner runs it in
# playbooks/), so the harness cannot know which key Ansible will offer.
REFUSED = {
    "relative key path": ("relative-key.yaml", """
all:
  children:
    workers:
      vars: {ansible_ssh_private_key_file: keys/workers}
      hosts: {w1: {ansible_host: 10.0.6.1}}
""", {"keys/workers": "not a real key\n"}),
}


def write_case(base: Path, case) -> Path:
    name, text, extra = case
    for relative, content in extra.items():
        (base / relative).parent.mkdir(parents=True, exist_ok=True)
        (base / relative).write_text(content)
        (base / relative).chmod(0o600)
    path = base / name
    path.write_text(text)
    return path


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A HOME of the test's own with the keys the cases name (mode 0600, as OpenSSH wants)."""
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    for name in ("all", "workers"):
        (home / "keys" / name).write_text("not a real key\n")
        (home / "keys" / name).chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    return home


def ansible_list(path: Path) -> dict:
    """Every host's variables as `ansible-inventory --list` prints them."""
    listed = subprocess.run([ANSIBLE_INVENTORY, "-i", str(path), "--list"], capture_output=True,
                            text=True, check=True, cwd=path.parent, env=os.environ)
    return json.loads(listed.stdout)["_meta"]["hostvars"]


def ansible_sees(name: str, hostvars: dict) -> tuple:
    """How Ansible's ssh connection reaches a host: its address (the inventory name unless
    ansible_host is set), port (ssh's 22), user (ssh's default: whoever runs it) and key."""
    key = hostvars.get("ansible_ssh_private_key_file")
    return (hostvars.get("ansible_host", name), int(hostvars.get("ansible_port", 22)),
            hostvars.get("ansible_user", getpass.getuser()),
            Path(os.path.expanduser(key)) if key else None)


@pytest.mark.parametrize("case", CASES)
def test_harness_and_ansible_see_the_same_hosts(tmp_path, home, case):
    path = write_case(tmp_path, CASES[case])
    ansible = {name: ansible_sees(name, hv) for name, hv in ansible_list(path).items()}
    harness = {n.name: (n.host, n.port, n.user, n.ssh_key) for n in load_inventory(path).nodes}
    assert harness == ansible


@pytest.mark.parametrize("case", REFUSED)
def test_a_key_path_ansible_resolves_elsewhere_is_refused(tmp_path, home, case):
    path = write_case(tmp_path, REFUSED[case])
    assert ansible_list(path)["w1"]["ansible_ssh_private_key_file"] == "keys/workers"
    with pytest.raises(InputError, match="relative path"):
        load_inventory(path)
