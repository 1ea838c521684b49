"""The provider interface: bring nodes up, take them down, report their state, and name them in
an Inventory. Later providers (qemu, cloud) implement the same four methods."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from harness.facts import NodeFacts, gather
from harness.inventory import Inventory
from harness.transport import open_transport


@dataclass(frozen=True)
class NodeStatus:
    name: str
    address: str
    state: str  # "running", "stopped", "missing" (provider-specific words allowed)
    ssh_ok: bool
    runtime_ok: bool


@dataclass(frozen=True)
class TlsRegistry:
    host: str  # host:port
    ca_on_node: str  # where each node keeps its CA certificate


class Provider(ABC):
    name: str

    @abstractmethod
    def up(self) -> Inventory:
        """Make the nodes exist and answer; return how to reach them."""

    @abstractmethod
    def down(self) -> bool:
        """Remove what up() created (nothing, for machines the provider does not own); False
        when there was nothing to remove."""

    @abstractmethod
    def status(self) -> list[NodeStatus]:
        """One entry per node, looked at now."""

    @abstractmethod
    def inventory(self) -> Inventory:
        """The nodes as an Inventory, without changing anything."""

    @contextmanager
    def smoke_registry(self) -> Iterator[object | None]:
        """A registry the nodes pull from, for the smoke suite's imagePullSecrets test, as a
        harness.smoke.Registry, its storage and htpasswd in a temporary directory (never the
        reports, which travel); None when the provider has none (the suite then reads
        $HARNESS_SMOKE_REGISTRY, or skips that test saying so)."""
        yield None

    @contextmanager
    def tls_registry(self) -> Iterator[TlsRegistry | None]:
        """A registry over HTTPS whose CA the nodes trust, for the CRI suite's TLS pull test;
        None when the provider has none (the test then skips, and --strict-skips says so)."""
        yield None

    def facts(self) -> dict[str, NodeFacts]:
        """Properties detected on each node (kernel, cgroups, oom_score_adj, Docker)."""
        result = {}
        for node in self.inventory().nodes:
            with open_transport(node) as t:
                result[node.name] = gather(t)
        return result
