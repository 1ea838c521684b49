"""Kubernetes labs for the tests that need a real cluster: 2 systemd-nspawn nodes on Docker and
a 1.23.17 control plane on this machine. A lab is slow to make, so each is shared by the tests
that walk it through one life (see the session fixtures in tests/conftest.py and
tests/migration/conftest.py), and removed afterwards even when a test failed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.inventory import Inventory
from harness.lab.recipe import DEFAULT_DEBIAN

VERSION = "1.23.17"


@dataclass(frozen=True)
class KubeLab:
    name: str
    inventory: Inventory
    api: object  # kubernetes.client.ApiClient as kubernetes-admin

    @property
    def inventory_path(self) -> Path:
        return self.inventory.source

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.inventory.nodes]

    def inventory_with(self, directory: Path, **all_vars) -> Path:
        """The lab's inventory with `all_vars` set for every node, written into `directory`."""
        import yaml

        doc = yaml.safe_load(self.inventory_path.read_text())
        doc["all"]["vars"].update(all_vars)
        path = directory / "inventory.yaml"
        path.write_text(yaml.safe_dump(doc))
        return path


@contextmanager
def plain_lab(name: str, nodes: int) -> Iterator[Inventory]:
    """Lab `name` with `nodes` nodes and no cluster, removed afterwards even when a test
    failed."""
    from harness.lab import lifecycle

    lifecycle.down(name)  # leftovers of an aborted earlier run
    try:
        yield lifecycle.up(name, nodes)
    finally:
        lifecycle.down(name)


@contextmanager
def kube_lab(name: str, version: str = VERSION, nodes: int = 2,
             kubeadm: bool = False, debian: str = DEFAULT_DEBIAN) -> Iterator[KubeLab]:
    """With `kubeadm`, the cluster is made by kubeadm on the nodes (node 1 the control plane),
    not run on this machine; `debian`: the nodes' release (harness lab up --debian)."""
    from kubernetes import config

    from harness.inventory import load_inventory
    from harness.kube import cluster, kubeadm_cluster
    from harness.lab import lifecycle

    cluster.down(name)
    lifecycle.down(name)  # leftovers of an aborted earlier run
    try:
        inventory = lifecycle.up(name, nodes, debian)
        record = (kubeadm_cluster if kubeadm else cluster).up(name, inventory, version)
        inventory = load_inventory(inventory.source)  # now with the cluster's kubeconfig
        yield KubeLab(name, inventory, config.new_client_from_config(record.kubeconfig))
    finally:
        cluster.down(name)
        lifecycle.down(name)


def harness_cli(*args: str, timeout: float = 1200,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `harness ARGS` as a user would (a new process), with `env` added to this one's
    environment."""
    env = {**os.environ, "CI": "true", **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def module_kube_lab(name: str, nodes: int = 2, kubeadm: bool = False):
    """A module-scoped `lab` fixture: kube_lab(name, nodes=nodes, kubeadm=kubeadm) shared by the
    module's tests, which run in file order on it."""

    @pytest.fixture(scope="module")
    def lab():
        with kube_lab(name, nodes=nodes, kubeadm=kubeadm) as made:
            yield made

    return lab
