"""The `inventory` provider: machines that already exist, listed in an inventory file. Nothing
is created or removed; status() says which nodes answer over SSH and Docker. The registries of
the pull tests are served from this machine and reach the nodes over SSH
(harness.nodes.registries)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.inventory import Inventory, load_inventory
from harness.nodes import registries
from harness.nodes.health import check_node
from harness.providers.base import NodeStatus, Provider, TlsRegistry


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

    @contextmanager
    def smoke_registry(self) -> Iterator[object]:
        """A registry with basic auth on each node's loopback (plain HTTP, which every runtime
        speaks to a loopback registry without being told)."""
        from harness.daemons.registry import RegistryConfig
        from harness.smoke import Registry as SmokeRegistry

        user, password = "smoke", secrets.token_urlsafe(16)
        with tempfile.TemporaryDirectory(prefix="harness-registry-") as work_dir, \
                registries.serve(self.inventory().nodes,
                                 RegistryConfig(Path(work_dir), auth=(user, password))) \
                as (registry, _):
            yield SmokeRegistry(registry.host, user, password)

    @contextmanager
    def tls_registry(self) -> Iterator[TlsRegistry]:
        """A registry over HTTPS on each node's loopback, its CA trusted by the nodes' runtimes
        for that registry only while it runs."""
        with registries.serve(self.inventory().nodes, registries.tls_config()) as (registry, ca):
            yield TlsRegistry(registry.host, ca)

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
