"""The `inventory` provider: machines that already exist, listed in an inventory file. Nothing
is created or removed; status() says which nodes answer over SSH and Docker."""

from __future__ import annotations

from pathlib import Path

from harness.inventory import Inventory, load_inventory
from harness.nodes.health import check_node
from harness.providers.base import NodeStatus, Provider


class InventoryProvider(Provider):
    name = "inventory"

    def __init__(self, path: str | Path, kubeconfig: Path | None = None):
        self.path = Path(path)
        self.kubeconfig = kubeconfig  # instead of the inventory's own

    def inventory(self) -> Inventory:
        inventory = load_inventory(self.path)
        if self.kubeconfig is not None:
            inventory.cluster.kubeconfig = self.kubeconfig
        return inventory

    def up(self) -> Inventory:
        """The machines exist already: nothing to create. Whether each answers is that node's
        own first step (the pipeline's `connect`, `harness inventory ping`), so one dead node
        is reported as such while the others still run."""
        return self.inventory()

    def down(self) -> bool:
        """The machines are not ours: nothing to remove."""
        return False

    def status(self) -> list[NodeStatus]:
        return self._status(self.inventory())

    @staticmethod
    def _status(inventory: Inventory) -> list[NodeStatus]:
        result = []
        for node in inventory.nodes:
            ssh_ok, runtime_ok = check_node(node)
            result.append(NodeStatus(node.name, node.address,
                                     "reachable" if ssh_ok else "unreachable", ssh_ok, runtime_ok))
        return result
