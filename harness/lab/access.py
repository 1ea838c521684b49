"""How users and the harness reach lab nodes: the lab's user key, an ssh_config naming every
node, a known_hosts file pinning each node's own host key, and the inventory file."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.lab.host import run


def ensure_user_key(lab_dir: Path) -> Path:
    key = lab_dir / "id_ed25519"
    if not (key.exists() and key.with_suffix(".pub").exists()):
        key.unlink(missing_ok=True)
        key.with_suffix(".pub").unlink(missing_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"harness-lab@{lab_dir.name}",
             "-f", str(key)])
    return key


def write_ssh_files(lab_dir: Path, nodes: dict[str, str], host_keys: dict[str, str]) -> Path:
    """ssh_config and known_hosts for `nodes` (name -> address); returns the ssh_config path."""
    key = lab_dir / "id_ed25519"
    known = lab_dir / "known_hosts"
    known.write_text("".join(f"{name},{addr} {host_keys[name]}\n" for name, addr in nodes.items()))
    blocks = [
        f"Host {name}\n  HostName {addr}\n  User root\n  IdentityFile {key}\n"
        f"  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n"
        f"  ConnectTimeout 5\n  LogLevel ERROR\n"
        for name, addr in nodes.items()
    ]
    config = lab_dir / "ssh_config"
    config.write_text("\n".join(blocks))
    return config


def write_inventory(lab_dir: Path, lab: str, nodes: dict[str, str]) -> Path:
    """The lab's inventory in Ansible's YAML shape: `ansible-playbook -i` and the harness
    (harness.inventory.load_inventory) read the same file. Host keys are pinned through the
    lab's own known_hosts for both (ssh args for Ansible, `known_hosts` for the harness)."""
    known = lab_dir / "known_hosts"
    # Connection settings belong to the lab's group, not to `all`: Ansible's implicit localhost
    # (where the Kubernetes API tasks run) takes `all` vars too.
    connection = {
        "ansible_connection": "ssh",
        "ansible_user": "root",
        "ansible_port": 22,
        "ansible_ssh_private_key_file": str(lab_dir / "id_ed25519"),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known} "
                                   "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
        "ansible_python_interpreter": "/usr/bin/python3",
        "docker_endpoint": "unix:///run/docker.sock",
    }
    doc = {"all": {
        "vars": {"lab": lab, "ssh_config": str(lab_dir / "ssh_config"), "known_hosts": str(known)},
        "children": {"lab": {"children": {f"lab_{lab}": {
            "vars": connection,
            "hosts": {name: {"ansible_host": addr} for name, addr in nodes.items()},
        }}}},
    }}
    path = lab_dir / "inventory.yaml"
    _write_yaml(path, doc)
    return path


def set_cluster(inventory: Path, kubeconfig: str | None, version: str | None) -> None:
    """Record the lab's cluster in its inventory (all.vars), or remove it (None): the
    playbooks and the harness reach the Kubernetes API through this kubeconfig."""
    doc = yaml.safe_load(inventory.read_text())
    all_vars = doc["all"]["vars"]
    for key, value in (("kubeconfig", kubeconfig), ("kubernetes_version", version)):
        if value is None:
            all_vars.pop(key, None)
        else:
            all_vars[key] = value
    _write_yaml(inventory, doc)


def _write_yaml(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("# Written by `harness lab up` for this lab's nodes (Ansible YAML inventory).\n"
                   + yaml.safe_dump(doc, sort_keys=False))
    tmp.replace(path)
