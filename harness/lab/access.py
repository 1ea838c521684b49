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
    """A harness-native inventory (harness.inventory.load_inventory reads it)."""
    doc = {
        "defaults": {"user": "root", "port": 22, "ssh_key": str(lab_dir / "id_ed25519"),
                     "connection": "ssh", "groups": ["lab", f"lab-{lab}"],
                     "docker_endpoint": "unix:///run/docker.sock",
                     "vars": {"lab": lab, "ssh_config": str(lab_dir / "ssh_config"),
                              "known_hosts": str(lab_dir / "known_hosts")}},
        "nodes": [{"name": name, "host": addr} for name, addr in nodes.items()],
    }
    path = lab_dir / "inventory.yaml"
    path.write_text("# Written by `harness lab up` for this lab's nodes.\n"
                    + yaml.safe_dump(doc, sort_keys=False))
    return path

