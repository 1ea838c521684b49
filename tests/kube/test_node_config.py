"""The kubeadm-style node files a migration edits (kubernetes/website change-runtime-containerd:
kubeadm-flags.env, the kubelet config file, the 10-kubeadm.conf drop-in)."""

from __future__ import annotations

import json

import yaml

from harness.kube import node_config as nc

NODE = nc.NodeNetwork("hk-node1", "10.251.9.11", "10.244.1.0/24")


def _settings(dockershim: bool = True, driver: str = "cgroupfs") -> nc.KubeletSettings:
    return nc.KubeletSettings(driver, "10.96.0.10", "cluster.local", "harness.local/pause:3.9",
                              "10.244.0.0/16", dockershim)


def _flags(text: str) -> list[str]:
    assert text.startswith('KUBELET_KUBEADM_ARGS="') and text.endswith('"\n')
    return text.split('"')[1].split()


def test_dockershim_flags_select_docker_and_cni():
    """Kubernetes <= 1.23 on Docker: --container-runtime=docker with --network-plugin=cni, the
    flags the migration replaces with --container-runtime=remote and an endpoint."""
    flags = _flags(nc.kubeadm_flags(_settings(), NODE))
    assert "--container-runtime=docker" in flags
    assert "--network-plugin=cni" in flags
    assert "--pod-infra-container-image=harness.local/pause:3.9" in flags
    assert "--node-ip=10.251.9.11" in flags


def test_no_dockershim_flags_past_1_24():
    """Kubernetes 1.24 removed dockershim and --network-plugin/--cni-* (PR #106907)."""
    flags = _flags(nc.kubeadm_flags(_settings(dockershim=False), NODE))
    assert not [f for f in flags if f.startswith(("--container-runtime=", "--network-plugin",
                                                   "--cni-"))]


def test_kubelet_config_uses_dockers_cgroup_driver_and_cluster_dns():
    """KubeletConfiguration.cgroupDriver must equal the runtime's; clusterDNS is the kube-dns
    Service IP."""
    doc = yaml.safe_load(nc.kubelet_config(_settings(driver="systemd")))
    assert doc["kind"] == "KubeletConfiguration"
    assert doc["cgroupDriver"] == "systemd"
    assert doc["clusterDNS"] == ["10.96.0.10"]
    assert doc["authentication"]["x509"]["clientCAFile"] == nc.CA_CERT


def test_dropin_reads_kubeadm_flags_and_config():
    """10-kubeadm.conf: EnvironmentFile kubeadm-flags.env and --config, as kubeadm writes it."""
    dropin = nc.kubeadm_dropin()
    assert f"EnvironmentFile=-{nc.KUBEADM_FLAGS}" in dropin
    assert f"--config={nc.KUBELET_CONFIG}" in dropin
    assert "$KUBELET_KUBEADM_ARGS" in dropin.splitlines()[-1]


def test_cni_uses_the_node_pod_cidr():
    conf = json.loads(nc.cni_conflist(NODE))
    bridge = conf["plugins"][0]
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24", "gateway": "10.244.1.1"}]]


def test_pod_network_unit_routes_peer_pod_cidrs_via_peer_nodes():
    peer = nc.NodeNetwork("hk-node2", "10.251.9.12", "10.244.2.0/24")
    unit = nc.pod_network_unit(NODE, [peer], "10.244.0.0/16")
    assert "ExecStart=/usr/sbin/ip route replace 10.244.2.0/24 via 10.251.9.12" in unit


def test_pod_network_unit_lets_pod_traffic_through_dockers_forward_drop():
    """Docker sets FORWARD's policy to DROP; a NodePort reaching a pod on another node needs
    the pod CIDR accepted both ways, as a CNI DaemonSet adds it."""
    unit = nc.pod_network_unit(NODE, [], "10.244.0.0/16")
    for direction in ("-s", "-d"):
        assert f"iptables -A FORWARD {direction} 10.244.0.0/16 -j ACCEPT" in unit
