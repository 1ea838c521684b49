"""The `lab` provider: nodes the harness creates on this machine (harness.lab)."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import InputError
from harness.inventory import Inventory, load_inventory
from harness.lab import lifecycle, machine, state
from harness.lab.docker_node import INSECURE_REGISTRY_PORT, TLS_REGISTRY_PORT, trust_registry_ca
from harness.lab.recipe import DEFAULT_DEBIAN
from harness.nodes.health import check_node
from harness.progress import progress
from harness.providers.base import NodeStatus, Provider, TlsRegistry
from harness.transport import open_transport


class LabProvider(Provider):
    name = "lab"

    def __init__(self, lab: str = state.DEFAULT_LAB, nodes: int = 2,
                 kubernetes: str | None = None, kubeadm: bool = False,
                 debian: str = DEFAULT_DEBIAN):
        self.lab = state.check_name(lab)
        self.nodes = nodes
        self.debian = debian  # the nodes' Debian release, and so their Docker line
        self.kubernetes = kubernetes  # also run a cluster of this version
        self.kubeadm = kubeadm  # made by kubeadm on the nodes, not on this host

    def up(self) -> Inventory:
        """The lab's nodes, and its cluster when asked for one; a lab and cluster already up
        (in whatever state an earlier run left them: migrated, upgraded) are reused."""
        inventory = lifecycle.up(self.lab, self.nodes, self.debian)
        if self.kubernetes is None:
            return inventory
        from harness.kube import cluster  # the Kubernetes client, only with a cluster

        record = cluster.ClusterRecord.load(self.lab)
        if inventory.cluster.kubeconfig and record and record.kubeadm == self.kubeadm \
                and record.running():
            progress(self.lab, f"kubernetes {record.version} already up, nothing to do")
            return inventory
        cluster.check_version(self.kubernetes)
        if self.kubeadm:
            from harness.kube import kubeadm_cluster

            kubeadm_cluster.up(self.lab, inventory, self.kubernetes)
        else:
            cluster.up(self.lab, inventory, self.kubernetes)
        return self.inventory()

    @contextmanager
    def smoke_registry(self) -> Iterator[object | None]:
        """A registry with basic auth where the nodes already expect one: the lab bridge's host
        address, on the port their Docker (and, once migrated, containerd) treats as plain
        HTTP."""
        from harness.daemons.registry import Registry, RegistryConfig
        from harness.smoke import Registry as SmokeRegistry

        gateway = state.load(self.lab).network.gateway
        user, password = "smoke", secrets.token_urlsafe(16)
        with tempfile.TemporaryDirectory(prefix="harness-registry-") as work_dir, \
                Registry(RegistryConfig(Path(work_dir), auth=(user, password),
                                        port=INSECURE_REGISTRY_PORT, host=gateway)) as registry:
            yield SmokeRegistry(registry.host, user, password)

    @contextmanager
    def tls_registry(self) -> Iterator[TlsRegistry]:
        """A registry over HTTPS on the lab bridge, its CA (kept in the lab's state, so it
        stays the same across runs) given to each node's Docker as an organisation's private
        CA is: the migration must carry it over to containerd for the TLS pull to pass."""
        from harness.daemons.registry import Registry, RegistryConfig

        gateway = state.load(self.lab).network.gateway
        config = RegistryConfig(state.lab_dir(self.lab) / "tls-registry", tls=True,
                                host=gateway, port=TLS_REGISTRY_PORT)
        with Registry(config) as registry:
            ca_on_node = ""
            for node in self.inventory().nodes:
                with open_transport(node) as t:
                    ca_on_node = trust_registry_ca(t, registry.host, registry.ca.read_bytes())
            yield TlsRegistry(registry.host, ca_on_node)

    def down(self) -> bool:
        """The lab's cluster daemons first (their state is in the lab's directory), then the
        lab; False if there was no lab."""
        from harness.kube import cluster  # the Kubernetes client, only when tearing down

        cluster.down(self.lab)
        return lifecycle.down(self.lab)

    def inventory(self) -> Inventory:
        path = lifecycle.inventory_path(self.lab)
        if not path.exists():
            raise InputError(f"lab {self.lab!r} has no inventory ({path} is missing)",
                             hint=f"run `harness lab up --name {self.lab}`")
        return load_inventory(path)

    def status(self) -> list[NodeStatus]:
        record = state.load(self.lab)
        if record is None or not record.nodes:
            raise InputError(f"no lab named {self.lab!r}",
                             hint=f"create it with `harness lab up --name {self.lab}`")
        by_name = {}
        if lifecycle.inventory_path(self.lab).exists():
            by_name = {n.name: n for n in self.inventory().nodes}
        result = []
        for node in record.nodes:
            root = record.node_dir(node.name) / "root"
            up = machine.running(node.machine_pid, root)
            ssh_ok, runtime_ok = (check_node(by_name[node.name])
                                 if up and node.name in by_name else (False, False))
            result.append(NodeStatus(node.name, node.address, "running" if up else "stopped",
                                     ssh_ok, runtime_ok))
        return result
