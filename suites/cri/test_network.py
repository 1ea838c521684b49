"""Pod networking: pod IP, reachability, port mappings (CNI portmap), DNS config and hostname
(CRI v1 PodSandboxStatus.network, PodSandboxConfig.port_mappings, dns_config, hostname)."""

import socket
import urllib.request

import pytest

from harness.daemons.process import free_tcp_port

pytestmark = [pytest.mark.network, pytest.mark.conformance]
WEB_BODY = b"harness web fixture\n"


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - pod/loopback URL
        return reply.status, reply.read()


def _web_pod(pods, images, **sandbox):
    pod = pods("web", **sandbox)
    container_id = pod.start("web", [], image=images["web"].ref)
    assert pod.wait_listening(container_id, 8080)
    return pod


def test_sandbox_reports_pod_ip(cri, pod):
    """PodSandboxStatus.network.ip is the pod's IPv4 address from CNI."""
    parts = pod.ip.split(".")
    assert len(parts) == 4 and all(p.isdigit() for p in parts), pod.ip


def test_pod_ip_is_reachable_from_the_host(pods, images, facts):
    """The node reaches a server in the pod at its pod IP (what kubelet probes rely on)."""
    if not facts.local_socket:
        pytest.skip("the suite must run on the node to reach the pod network")
    pod = _web_pod(pods, images)
    assert _get(f"http://{pod.ip}:8080/") == (200, WEB_BODY)


def test_port_mapping_with_container_port_only(cri, pods, images, facts):
    """PortMapping with container_port only: the port is served at the pod IP."""
    if not facts.local_socket:
        pytest.skip("the suite must run on the node to reach the pod network")
    mapping = cri.pb.PortMapping(protocol=cri.pb.TCP, container_port=8080)
    pod = _web_pod(pods, images, port_mappings=[mapping])
    assert _get(f"http://{pod.ip}:8080/") == (200, WEB_BODY)


def test_port_mapping_with_host_port(cri, pods, images, facts):
    """PortMapping host_port -> container_port: the node's port forwards to the pod (CNI
    portmap); checked at the node's address on the pod bridge."""
    if not facts.local_socket:
        pytest.skip("the suite must run on the node to reach its host port")
    host_port = free_tcp_port()
    mapping = cri.pb.PortMapping(protocol=cri.pb.TCP, container_port=8080, host_port=host_port)
    pod = _web_pod(pods, images, port_mappings=[mapping])
    node_address = _source_address_towards(pod.ip)
    assert _get(f"http://{node_address}:{host_port}/") == (200, WEB_BODY)


def _source_address_towards(ip: str) -> str:
    """The node's own address on the route to `ip` (its side of the pod network, whatever the
    network's size): what the kernel picks as source. Connecting a UDP socket sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((ip, 9))
        return probe.getsockname()[0]


def test_dns_config_is_written_to_resolv_conf(cri, pods):
    """DNSConfig servers, searches and options become the pod's /etc/resolv.conf."""
    dns = cri.pb.DNSConfig(servers=["10.10.10.10"], searches=["example.test"],
                           options=["ndots:8"])
    pod = pods("dns", dns=dns)
    resolv = pod.sh(pod.start("reader"), "cat /etc/resolv.conf").stdout.decode()
    assert "nameserver 10.10.10.10" in resolv
    assert "search example.test" in resolv
    assert "options ndots:8" in resolv


def test_hostname_is_set(pods):
    """PodSandboxConfig.hostname is the hostname containers of the pod see."""
    pod = pods("named", hostname="hc-test-hostname")
    assert pod.sh(pod.start("reader"), "hostname").stdout == b"hc-test-hostname\n"
