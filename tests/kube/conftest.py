"""Fixtures for the kube tests: the pinned Kubernetes binaries (built once and cached in
~/.cache/harness/kube; a cold build takes 15-25 minutes on 2 cores) and a control plane on
loopback shared by a module."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.inventory import Node
from harness.kube import build
from harness.kube.controlplane import ControlPlane

VERSION = "1.23.17"


@dataclass(frozen=True)
class KubeLab:
    api: object  # kubernetes.client.ApiClient as kubernetes-admin
    nodes: list[Node]  # the lab inventory's nodes (SSH transport)

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


@pytest.fixture(scope="session")
def kube_binaries() -> build.Built:
    return build.build(VERSION)


@pytest.fixture(scope="module")
def control_plane(kube_binaries):
    """etcd + apiserver + controller-manager + scheduler on 127.0.0.1, removed afterwards."""
    state = Path(tempfile.mkdtemp(prefix="hk-cp-"))
    try:
        with ControlPlane(kube_binaries, state, "127.0.0.1") as cp:
            yield cp
    finally:
        shutil.rmtree(state, ignore_errors=True)


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
