"""Fixtures for the migration tests: one Kubernetes lab (`hm`, 2 nodes, 1.23.17 on Docker)
shared by the whole session, since the migration tests walk it through one life: preflight,
plan, migrate, verify, suites, rollback. Removed afterwards even if a test failed."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.inventory import Inventory

VERSION = "1.23.17"
LAB = "hm"


@dataclass(frozen=True)
class MigrationLab:
    name: str
    inventory: Inventory
    api: object  # kubernetes.client.ApiClient as kubernetes-admin

    @property
    def inventory_path(self) -> Path:
        return self.inventory.source

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.inventory.nodes]


@pytest.fixture(scope="session")
def migration_lab():
    from kubernetes import config

    from harness.inventory import load_inventory
    from harness.kube import cluster
    from harness.lab import lifecycle

    cluster.down(LAB)
    lifecycle.down(LAB)  # leftovers of an aborted earlier run
    try:
        inventory = lifecycle.up(LAB, 2)
        record = cluster.up(LAB, inventory, VERSION)
        inventory = load_inventory(inventory.source)  # now with the cluster's kubeconfig
        yield MigrationLab(LAB, inventory, config.new_client_from_config(record.kubeconfig))
    finally:
        cluster.down(LAB)
        lifecycle.down(LAB)


@pytest.fixture
def harness_cli(tmp_path):
    """Run `harness ARGS` as a user would (a new process); returns the CompletedProcess."""
    def run(*args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
        env = {**os.environ, "CI": "true"}
        return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                              text=True, timeout=timeout, env=env)
    return run
