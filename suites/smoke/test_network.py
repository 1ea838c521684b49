"""Services and cluster DNS, seen from a client pod on each node: the web pods on every node
answer through the ClusterIP, through the node's own NodePort, and by the Service's DNS
name."""

from __future__ import annotations

import pytest

from .kube import node_ip
from .workloads import ROLE, WEB_BODY, WEB_PORT

pytestmark = [pytest.mark.per_node, pytest.mark.timeout(150)]

SERVICE = "web"
CATCH_UP = 20.0  # endpoints, kube-proxy rules and DNS records follow the pods within seconds


@pytest.fixture(scope="session")
def service(k, pods):
    """A NodePort Service (it has a ClusterIP too) in front of the web pods of all nodes."""
    return k.core.create_namespaced_service(k.ns, {
        "metadata": {"name": SERVICE},
        "spec": {"type": "NodePort", "selector": {ROLE: "web"},
                 "ports": [{"port": 80, "targetPort": WEB_PORT}]}})


def fetch(k, pod: str, url: str) -> str:
    # busybox 1.35's `wget -T` segfaults (exit 139): bound it with timeout(1) instead.
    return k.exec_ok(pod, ["timeout", "3", "wget", "-q", "-O", "-", url], retry_for=CATCH_UP)


def test_service_answers_on_its_cluster_ip(k, service, pods, node):
    """A Service's spec.clusterIP:port reaches a ready endpoint pod from any pod (kube-proxy's
    rules on the client's node)."""
    client = k.running(pods("client", node)).metadata.name
    url = f"http://{service.spec.cluster_ip}:80/"
    assert fetch(k, client, url) == WEB_BODY


def test_service_answers_on_the_node_port(k, service, pods, nodes, node):
    """A NodePort Service answers on spec.ports[].nodePort of the node's InternalIP."""
    client = k.running(pods("client", node)).metadata.name
    url = f"http://{node_ip(nodes[node])}:{service.spec.ports[0].node_port}/"
    assert fetch(k, client, url) == WEB_BODY


def test_service_name_resolves_through_cluster_dns(k, service, pods, node):
    """<service>.<namespace>.svc.cluster.local resolves to spec.clusterIP through the
    cluster DNS the kubelet puts in the pod's resolv.conf, and the name serves the page."""
    client = k.running(pods("client", node)).metadata.name
    fqdn = f"{SERVICE}.{k.ns}.svc.cluster.local"
    answer = k.exec_ok(client, ["nslookup", fqdn], retry_for=CATCH_UP)
    assert service.spec.cluster_ip in answer.split(fqdn, 1)[-1], answer
    assert fetch(k, client, f"http://{fqdn}/") == WEB_BODY
