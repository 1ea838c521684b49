"""The files of a kubeadm-style worker node, rendered from explicit inputs.

A migration edits exactly these, so they sit where kubeadm puts them:
    /etc/systemd/system/kubelet.service                   the package's unit
    /etc/systemd/system/kubelet.service.d/10-kubeadm.conf kubeadm's drop-in
    /var/lib/kubelet/config.yaml                          KubeletConfiguration
    /var/lib/kubelet/kubeadm-flags.env                    KUBELET_KUBEADM_ARGS (runtime flags)
    /etc/kubernetes/kubelet.conf                          the node's kubeconfig
    /etc/kubernetes/pki/ca.crt                            cluster CA (client authentication)
plus what a CNI DaemonSet and kube-proxy DaemonSet would install: the bridge CNI config in
/etc/cni/net.d and kube-proxy as a systemd service (no kube-proxy image exists offline).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import yaml

KUBELET_BIN = "/usr/bin/kubelet"
KUBE_PROXY_BIN = "/usr/bin/kube-proxy"
KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"
KUBEADM_FLAGS = "/var/lib/kubelet/kubeadm-flags.env"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
BOOTSTRAP_KUBELET_CONF = "/etc/kubernetes/bootstrap-kubelet.conf"
CA_CERT = "/etc/kubernetes/pki/ca.crt"
KUBELET_SERVING_CERT = "/var/lib/kubelet/pki/kubelet.crt"
KUBELET_SERVING_KEY = "/var/lib/kubelet/pki/kubelet.key"
KUBELET_UNIT = "/etc/systemd/system/kubelet.service"
KUBEADM_DROPIN = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
KUBE_PROXY_CONF = "/var/lib/kube-proxy/kubeconfig.conf"
KUBE_PROXY_CONFIG = "/var/lib/kube-proxy/config.conf"
KUBE_PROXY_UNIT = "/etc/systemd/system/kube-proxy.service"
CNI_CONFLIST = "/etc/cni/net.d/10-harness-bridge.conflist"
CNI_BIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
CNI_BRIDGE = "cni0"  # inside the node's own network namespace, as on a real node
NODE_NET_UNIT = "/etc/systemd/system/harness-pod-network.service"
# The kubelet insists on these kernel settings and fails to start if it cannot write them
# (container_manager_linux.go setupKernelTunables). A lab node shares the host's kernel, whose
# /proc/sys (outside net) nspawn keeps read-only; the node unit below shows the kubelet the
# values it wants through bind-mounted files instead of changing the host's kernel.
KUBELET_KERNEL_TUNABLES = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}
TUNABLES_DIR = "/run/harness-kubelet-sysctl"


@dataclass(frozen=True)
class NodeNetwork:
    """One node's place in the pod network."""

    name: str
    address: str  # on the lab network
    pod_cidr: str  # 10.244.<n>.0/24


@dataclass(frozen=True)
class KubeletSettings:
    cgroup_driver: str  # must equal Docker's (docker info CgroupDriver)
    cluster_dns: str
    cluster_domain: str
    pause_image: str
    cluster_cidr: str
    dockershim: bool  # Kubernetes <= 1.23: the kubelet talks to dockerd itself


def kubelet_config(s: KubeletSettings) -> str:
    """KubeletConfiguration v1beta1 as kubeadm writes it, with the lab's choices."""
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": CA_CERT},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": s.cgroup_driver,
        "clusterDNS": [s.cluster_dns],
        "clusterDomain": s.cluster_domain,
        "tlsCertFile": KUBELET_SERVING_CERT,
        "tlsPrivateKeyFile": KUBELET_SERVING_KEY,
        "rotateCertificates": False,
        "staticPodPath": "/etc/kubernetes/manifests",
        "resolvConf": "/etc/resolv.conf",
        # Lab nodes share 2 host cores and the host's disk: eviction thresholds sized for a
        # real disk would evict the fixture images.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "failSwapOn": False,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kubeadm_flags(s: KubeletSettings, node: NodeNetwork) -> str:
    """/var/lib/kubelet/kubeadm-flags.env: the runtime flags a migration rewrites."""
    flags = [f"--node-ip={node.address}", f"--pod-infra-container-image={s.pause_image}"]
    if s.dockershim:
        flags = [
            "--container-runtime=docker",
            "--network-plugin=cni",
            f"--cni-bin-dir={CNI_BIN_DIR}",
            *flags,
        ]
    return f'KUBELET_KUBEADM_ARGS="{" ".join(flags)}"\n'


def kubelet_unit() -> str:
    """The unit the kubelet package installs; everything else comes from the drop-in."""
    return f"""[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={KUBELET_BIN}
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""


def kubeadm_dropin(bootstrap: bool = False) -> str:
    """kubeadm's 10-kubeadm.conf: kubeconfig, config file, then the flag files. `bootstrap`:
    with kubeadm's TLS bootstrap kubeconfig, which `kubeadm join` writes for the kubelet to
    get its client certificate (the host-control-plane lab hands out kubelet.conf itself)."""
    args = "$KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS"
    kubeconfig = f"--kubeconfig={KUBELET_CONF}"
    if bootstrap:
        kubeconfig = f"--bootstrap-kubeconfig={BOOTSTRAP_KUBELET_CONF} {kubeconfig}"
    return f"""[Service]
Environment="KUBELET_KUBECONFIG_ARGS={kubeconfig}"
Environment="KUBELET_CONFIG_ARGS=--config={KUBELET_CONFIG}"
EnvironmentFile=-{KUBEADM_FLAGS}
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart={KUBELET_BIN} {args}
"""


def kube_proxy_config(cluster_cidr: str) -> str:
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": KUBE_PROXY_CONF},
        "mode": "iptables",
        "clusterCIDR": cluster_cidr,
        # nf_conntrack_max is global to the host's kernel: leave it as it is.
        "conntrack": {"maxPerCore": 0},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kube_proxy_unit() -> str:
    return f"""[Unit]
Description=kube-proxy: Kubernetes Service proxy (iptables mode)
After=network-online.target

[Service]
ExecStart={KUBE_PROXY_BIN} --config={KUBE_PROXY_CONFIG} --hostname-override=%H
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
"""


def cni_conflist(node: NodeNetwork) -> str:
    """bridge + host-local on the node's pod CIDR, portmap for hostPort, loopback."""
    subnet = ipaddress.ip_network(node.pod_cidr)
    doc = {
        "cniVersion": "0.4.0",
        "name": "harness-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": CNI_BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(subnet), "gateway": str(subnet[1])}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def pod_network_unit(node: NodeNetwork, peers: list[NodeNetwork],
                     cluster_cidr: str) -> str:
    """A oneshot unit, before the kubelet, that routes the other nodes' pod CIDRs over the lab
    network and lets forwarded pod traffic through (as flannel's host-gw does), and bind-mounts
    the kernel tunables the kubelet checks.
    """
    # Bridged pod-to-pod traffic must pass iptables for Service DNAT (kube-proxy); both
    # sysctls belong to the node's network namespace.
    lines = [
        "ExecStart=/usr/sbin/sysctl -w net.ipv4.ip_forward=1",
        "ExecStart=/usr/sbin/sysctl -w net.bridge.bridge-nf-call-iptables=1",
        # NodePorts on 127.0.0.1; kube-proxy sets it too, where it may write /proc/sys.
        "ExecStart=/usr/sbin/sysctl -w net.ipv4.conf.all.route_localnet=1",
    ]
    # Docker sets the FORWARD policy to DROP: without these, a NodePort or a node reaching a
    # pod on another node is dropped there (a CNI DaemonSet adds the same two rules).
    for direction in ("-s", "-d"):
        rule = f"FORWARD {direction} {cluster_cidr} -j ACCEPT"
        lines.append(f"ExecStart=/bin/sh -c '/usr/sbin/iptables -C {rule} 2>/dev/null || "
                     f"/usr/sbin/iptables -A {rule}'")
    lines += [f"ExecStart=/usr/sbin/ip route replace {p.pod_cidr} via {p.address}" for p in peers]
    lines.append(f"ExecStart=/bin/mkdir -p {TUNABLES_DIR}")
    for key, value in KUBELET_KERNEL_TUNABLES.items():
        file = f"{TUNABLES_DIR}/{key.replace('/', '.')}"
        lines.append(f"ExecStart=/bin/sh -c 'echo {value} > {file}'")
        lines.append(f"ExecStart=/bin/mount --bind {file} /proc/sys/{key}")
    body = "\n".join(lines)
    return f"""[Unit]
Description=harness lab: pod routes to the other nodes, kernel settings the kubelet checks
Before=kubelet.service
After=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
{body}

[Install]
WantedBy=multi-user.target
"""
