"""The host control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler built
from the Go modules, with certificates from harness.kube.pki."""

from __future__ import annotations

import time

import pytest
from kubernetes import client

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]  # a cold build


def test_version_is_the_pinned_release(control_plane, kube_binaries):
    """GET /version (the apiserver's version.Info) names the version the binaries were built as."""
    info = client.VersionApi(control_plane.api_client()).get_code()
    assert info.git_version == f"v{kube_binaries.version}"
    assert (info.major, info.minor) == tuple(kube_binaries.version.split(".")[:2])


def test_admin_lists_the_system_namespaces(control_plane):
    """kubernetes-admin (group system:masters) lists namespaces; the apiserver creates
    default, kube-system, kube-public and kube-node-lease itself."""
    core = client.CoreV1Api(control_plane.api_client())
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_controller_manager_creates_default_service_accounts(control_plane):
    """The serviceaccount controller (kube-controller-manager) gives every namespace a `default`
    ServiceAccount, which pod admission needs."""
    core = client.CoreV1Api(control_plane.api_client())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if core.list_namespaced_service_account("default").items:
            return
        time.sleep(0.5)
    pytest.fail("no ServiceAccount in namespace default after 60s")


def test_kubernetes_service_has_the_first_service_ip(control_plane):
    """The apiserver publishes itself as Service default/kubernetes at 10.96.0.1, the address
    its serving certificate names."""
    core = client.CoreV1Api(control_plane.api_client())
    assert core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.96.0.1"
