"""A node for the pipeline: this machine reached over a real sshd on loopback."""

import pytest
import yaml

from harness.daemons.sshd import SshServer


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    with SshServer(tmp_path_factory.mktemp("pipeline-sshd")) as server:
        yield server


@pytest.fixture
def node_entry(sshd):
    """An inventory entry for a node behind `sshd` (or behind another port, to be unreachable)."""
    def entry(name: str, port: int | None = None) -> dict:
        node = sshd.inventory_node(name)
        return {"name": name, "host": node.host, "port": port or node.port, "user": node.user,
                "ssh_key": str(node.ssh_key), "vars": dict(node.vars)}
    return entry


@pytest.fixture
def write_inventory(tmp_path):
    def write(*entries: dict):
        path = tmp_path / "inventory.yaml"
        path.write_text(yaml.safe_dump({"nodes": list(entries)}))
        return path
    return write
