"""Fixtures for the kube tests: a lab with a cluster over it. The pinned binaries and the
control plane on loopback (kube_binaries, control_plane) are in tests/conftest.py, shared with
the tests that need an API server without nodes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.inventory import Node

VERSION = "1.23.17"


@dataclass(frozen=True)
class KubeLab:
    api: object  # kubernetes.client.ApiClient as kubernetes-admin
    nodes: list[Node]  # the lab inventory's nodes (SSH transport)

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


@pytest.fixture(scope="module")
def kube_cluster(kube_binaries):
    """Lab `hk` with 2 nodes and a 1.23.17 cluster over it, as `harness lab up --kubernetes`
    makes it; removed afterwards even if a test failed."""
    from kubernetes import config

    from harness.kube import cluster
    from harness.lab import lifecycle

    name = "hk"
    cluster.down(name)
    lifecycle.down(name)  # leftovers of an aborted earlier run
    try:
        inventory = lifecycle.up(name, 2)
        record = cluster.up(name, inventory, VERSION)
        yield KubeLab(config.new_client_from_config(record.kubeconfig), inventory.nodes)
    finally:
        cluster.down(name)
        lifecycle.down(name)
