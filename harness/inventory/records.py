"""The typed records every command works with, whichever inventory shape they were read from,
and the error that points at one place of an inventory file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError


@dataclass
class Node:
    """One machine to migrate or test, and how to reach it."""

    name: str
    host: str
    port: int = 22
    user: str = "root"
    ssh_key: Path | None = None
    become: bool = False
    connection: str = "ssh"
    groups: tuple[str, ...] = ()
    cri_endpoint: str | None = None
    docker_endpoint: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Cluster:
    kubeconfig: Path | None = None
    kubernetes_version: str | None = None


@dataclass
class Inventory:
    nodes: list[Node]
    cluster: Cluster = field(default_factory=Cluster)
    source: Path | None = None
    # "ansible": the file is Ansible's own inventory and goes to the playbooks as it is;
    # "native": the harness shape, written out for Ansible (runner.ansible_inventory).
    shape: str = "native"

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes) or "none"
        raise InputError(f"{self.source}: no node named {name!r}", hint=f"nodes are: {known}")


class InventoryError(InputError):
    """A problem at one place in an inventory file: `FILE[:LINE]: FIELD: problem: remedy`."""

    def __init__(self, source: Path, line: int | None, path: str, problem: str,
                 hint: str | None = None):
        where = f"{source}:{line}" if line else str(source)
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}",
                         hint=hint)


@dataclass(frozen=True)
class At:
    """Where a value came from, for messages: the file, its line if known, the field."""

    source: Path
    line: int | None
    path: str

    def error(self, problem: str, hint: str | None = None) -> InventoryError:
        return InventoryError(self.source, self.line, self.path, problem, hint)
