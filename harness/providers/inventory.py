"""The `inventory` provider: machines that already exist, listed in an inventory file. Nothing
is created or removed; up() checks that every node answers over SSH."""

from __future__ import annotations

from pathlib import Path

from harness.inventory import Inventory, load_inventory
from harness.providers.base import NodeStatus, Provider, check_node
from harness.providers.reach import open_transport


class InventoryProvider(Provider):
    name = "inventory"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def inventory(self) -> Inventory:
        return load_inventory(self.path)

    def up(self) -> Inventory:
        """Every node must answer over SSH; the first that does not raises its own error
        (unreachable, unknown host key, key refused), which names the node and the remedy."""
        inventory = self.inventory()
        for node in inventory.nodes:
            with open_transport(node, connect_timeout=5, connect_retries=1) as t:
                t.run("true", timeout=15, check=True)
        return inventory

    def down(self) -> None:
        """The machines are not ours: nothing to remove."""

    def status(self) -> list[NodeStatus]:
        return self._status(self.inventory())

    @staticmethod
    def _status(inventory: Inventory) -> list[NodeStatus]:
        result = []
        for node in inventory.nodes:
            ssh_ok, docker_ok = check_node(node)
            result.append(NodeStatus(node.name, node.address,
                                     "reachable" if ssh_ok else "unreachable", ssh_ok, docker_ok))
        return result
