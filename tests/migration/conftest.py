"""Fixtures for the migration tests: one Kubernetes lab (`hm`, 2 nodes, 1.23.17 on Docker)
shared by the whole session, since the migration tests walk it through one life: preflight,
plan, migrate, verify, rollback. Removed afterwards even if a test failed. The input and lock
tests need only an API server: the loopback control plane with Node objects and no kubelets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from labs import harness_cli as run_harness
from labs import kube_lab

LAB = "hm"


@pytest.fixture(scope="session")
def migration_lab():
    with kube_lab(LAB) as lab:
        yield lab


@pytest.fixture
def harness_cli():
    """Run `harness ARGS` as a user would (a new process); returns the CompletedProcess."""
    return run_harness


# Node objects on the loopback control plane, with the kubelet version each one reports: no
# kubelet runs, so the bad-input and lock tests get a real API server in seconds, not a lab.
API_NODES = {"node-a": "v1.23.17", "node-b": "v1.22.17", "node-c": "v1.24.17"}


@pytest.fixture(scope="module")
def api_cluster(control_plane):
    """The control plane's admin kubeconfig, its API server holding the API_NODES."""
    from kubernetes import client

    core = client.CoreV1Api(control_plane.api_client())
    for name, kubelet in API_NODES.items():
        info = client.V1NodeSystemInfo(
            kubelet_version=kubelet, architecture="amd64", boot_id="", kernel_version="",
            container_runtime_version="docker://20.10.24", kube_proxy_version=kubelet,
            machine_id="", operating_system="linux", os_image="", system_uuid="")
        core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name),
                                       status=client.V1NodeStatus(node_info=info)))
    return control_plane.admin_kubeconfig


def local_inventory(directory: Path, names: list[str], kubeconfig: Path, **node_vars) -> Path:
    """An inventory of `names`, each reached through the local transport, with its migration
    state (and lock) in <directory>/state/<name> so a test sees whether a node was touched."""
    nodes = [{"name": name, "host": "localhost", "connection": "local",
              "vars": {"migration_state_dir": str(directory / "state" / name), **node_vars}}
             for name in names]
    path = directory / "inventory.yaml"
    path.write_text(yaml.safe_dump({"cluster": {"kubeconfig": str(kubeconfig)},
                                    "nodes": nodes}))
    return path
