"""A kubeadm cluster over a lab, as most clusters still on Docker were made: node 1 runs
`kubeadm init` (API server, controller-manager, scheduler and a stacked etcd as static pods on
Docker), the other nodes `kubeadm join`. kube-proxy and CoreDNS are kubeadm's own addons.

Everything kubeadm would pull is built here (harness.kube.kubeadm_images) and loaded into each
node's Docker first, and kubeadm is told never to pull. The pod network is the same bridge CNI
and routes as the host-control-plane cluster (harness.kube.node_config).
"""

from __future__ import annotations

import re
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from kubernetes import client, config

from harness.errors import HarnessTimeout, StepFailed
from harness.facts import gather
from harness.inventory import Inventory, Node
from harness.kube import build, kubeadm_images
from harness.kube import node_config as nc
from harness.kube.cluster import (
    READY_TIMEOUT,
    ClusterRecord,
    cluster_dir,
    pod_cidr,
    wait_ready,
    write_file,
)
from harness.kube.controlplane import CLUSTER_DNS_IP, CLUSTER_DOMAIN, POD_CIDR, SERVICE_CIDR
from harness.lab import access, docker_node, state
from harness.progress import progress
from harness.transport import Transport, open_transport

API_PORT = 6443
KUBEADM_BIN = "/usr/bin/kubeadm"
KUBECTL_BIN = "/usr/bin/kubectl"
KUBEADM_CONFIG = "/root/kubeadm.yaml"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
DOCKERSHIM_SOCKET = "/var/run/dockershim.sock"
# kubeadm's preflight checks that a lab node cannot pass, each ignored by name:
IGNORED_PREFLIGHT = (
    # A node shares the host's kernel: there is no kernel config under /boot or /proc for it
    # to read, and nspawn's cgroup mounts are not what the check expects.
    "SystemVerification",
    # The host may have swap on; the kubelet runs with failSwapOn: false, as in the other lab.
    "Swap",
)
KUBEADM_PHASE_TIMEOUT = 600


def up(lab: str, inventory: Inventory, version: str) -> ClusterRecord:
    """kubeadm init on the first node, join the others, wait until all are Ready."""
    built = build.build(version, say=lambda m: progress(lab, m))
    kubeadm = build.build_kubeadm(version, say=lambda m: progress(lab, m)).path("kubeadm")
    images = kubeadm_images.build_all(version, say=lambda m: progress(lab, m))
    first, *others = inventory.nodes
    nets = [nc.NodeNetwork(n.name, n.host, pod_cidr(i))
            for i, n in enumerate(inventory.nodes, start=1)]
    with ThreadPoolExecutor(len(nets)) as pool:
        list(pool.map(lambda pair: _prepare(built, kubeadm, images, *pair, nets),
                      zip(inventory.nodes, nets, strict=True)))
    with open_transport(first) as t:
        progress(first.name, f"kubeadm init {version}: control plane as static pods on Docker")
        _kubeadm(t, first.name, "init", _init_config(t, first, version))
        join = t.run("kubeadm token create --print-join-command", check=True,
                     sensitive=True).stdout
        admin = t.run(f"cat {ADMIN_CONF}", check=True, sensitive=True).stdout
    token, ca_hash = _join_secrets(join)
    with ThreadPoolExecutor(max(1, len(others))) as pool:
        list(pool.map(lambda n: _join(n, first.host, token, ca_hash), others))
    directory = cluster_dir(lab)
    directory.mkdir(parents=True, exist_ok=True)
    kubeconfig = directory / "admin.conf"
    write_private(kubeconfig, admin)
    api = config.new_client_from_config(config_file=str(kubeconfig))
    wait_ready(api, [n.name for n in nets])
    _local_dns_only(api)
    _fit_kube_proxy(api)
    _wait_system_pods(api)
    record = ClusterRecord(built.version, f"https://{first.host}:{API_PORT}", str(kubeconfig),
                           str(built.path("kubectl")), {}, {}, kubeadm=True)
    record.save(lab)
    access.set_cluster(state.lab_dir(lab) / "inventory.yaml", record.kubeconfig, version)
    progress(lab, f"{len(nets)} node(s) Ready, {first.name} the control plane; "
             f"KUBECONFIG={kubeconfig}")
    return record


def _wait_system_pods(api: client.ApiClient, timeout: float = READY_TIMEOUT) -> None:
    """Until kube-system's pods (static pods, kube-proxy, CoreDNS) are all Running and ready."""
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    while True:
        waiting = [f"{p.metadata.name} ({p.status.phase})"
                   for p in core.list_namespaced_pod("kube-system").items
                   if p.status.phase != "Running"
                   or not all(c.ready for c in p.status.container_statuses or [])]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise HarnessTimeout(f"kube-system pods not ready within {timeout:.0f}s: "
                                 f"{', '.join(waiting)}",
                                 hint="kubectl -n kube-system describe pod NAME")
        time.sleep(2)


def write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text)


def _prepare(built: build.Built, kubeadm: Path, images: list, node: Node,
             net: nc.NodeNetwork, all_nets: list[nc.NodeNetwork]) -> None:
    """What the kubeadm, kubelet and kubectl packages and a CNI DaemonSet put on a node, and
    the images kubeadm would pull."""
    with open_transport(node) as t:
        # An earlier cluster on these nodes (a repeated `lab up`) goes first, as an operator
        # starting over would do it.
        t.run(f"[ ! -x {KUBEADM_BIN} ] || kubeadm reset --force --cri-socket "
              f"{DOCKERSHIM_SOCKET}", timeout=KUBEADM_PHASE_TIMEOUT, check=True)
        progress(node.name, f"installing kubeadm, kubelet, kubectl {built.version}; loading "
            f"{len(images)} images into Docker")
        for binary, remote in (("kubelet", nc.KUBELET_BIN), ("kubectl", KUBECTL_BIN)):
            t.put(built.path(binary), remote, mode=0o755)
        t.put(kubeadm, KUBEADM_BIN, mode=0o755)
        peers = [p for p in all_nets if p != net]
        files = {
            nc.KUBELET_UNIT: nc.kubelet_unit(),
            nc.KUBEADM_DROPIN: nc.kubeadm_dropin(bootstrap=True),
            nc.CNI_CONFLIST: nc.cni_conflist(net),
            nc.NODE_NET_UNIT: nc.pod_network_unit(net, peers, POD_CIDR),
        }
        for path, text in files.items():
            write_file(t, path, text, 0o644)
        # The kubelet builds pods' resolv.conf from the node's; nspawn nodes may have none.
        t.run("{ [ -e /etc/resolv.conf ] || : > /etc/resolv.conf; } && systemctl daemon-reload "
              "&& systemctl enable kubelet.service harness-pod-network.service && systemctl "
              "restart harness-pod-network.service", timeout=90, check=True)
        docker_node.load_fixtures(t, images)


def _node_registration(node: Node) -> dict:
    return {
        "name": node.name,
        "criSocket": DOCKERSHIM_SOCKET,
        "imagePullPolicy": "Never",  # offline: every image is loaded beforehand
        "ignorePreflightErrors": list(IGNORED_PREFLIGHT),
        # Debian's CNI plugins are not in kubeadm's default /opt/cni/bin.
        "kubeletExtraArgs": {"node-ip": node.host, "cni-bin-dir": nc.CNI_BIN_DIR},
    }


def _kubelet_config(t: Transport) -> dict:
    facts = gather(t)
    if not facts.docker.cgroup_driver:
        raise StepFailed(f"node {t.node_name}: Docker does not answer; cannot run kubeadm")
    doc = yaml.safe_load(nc.kubelet_config(nc.KubeletSettings(
        cgroup_driver=facts.docker.cgroup_driver, cluster_dns=CLUSTER_DNS_IP,
        cluster_domain=CLUSTER_DOMAIN, pause_image="", cluster_cidr=POD_CIDR, dockershim=True)))
    # kubeadm writes its own certificates and client CA; the lab's choices are the rest.
    keep = ("cgroupDriver", "evictionHard", "imageGCHighThresholdPercent", "failSwapOn")
    # No resolvers for pods with dnsPolicy Default, CoreDNS among them: the node's may be
    # outside this machine, and no lab traffic may leave it.
    return {"apiVersion": doc["apiVersion"], "kind": doc["kind"], "resolvConf": "",
            **{k: doc[k] for k in keep}}


def _init_config(t: Transport, node: Node, version: str) -> str:
    endpoint = f"{node.host}:{API_PORT}"
    docs = [
        {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration",
         "localAPIEndpoint": {"advertiseAddress": node.host, "bindPort": API_PORT},
         "nodeRegistration": _node_registration(node)},
        {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
         "kubernetesVersion": f"v{version}", "controlPlaneEndpoint": endpoint,
         "networking": {"podSubnet": POD_CIDR, "serviceSubnet": SERVICE_CIDR,
                        "dnsDomain": CLUSTER_DOMAIN},
         "apiServer": {"certSANs": [node.host]}},
        _kubelet_config(t),
        {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
         "mode": "iptables", "clusterCIDR": POD_CIDR,
         # Conntrack settings belong to the host's kernel: leave them as they are (kube-proxy
         # runs unprivileged here, see _fit_kube_proxy, and could not write them).
         "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s",
                       "tcpCloseWaitTimeout": "0s"}},
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def _join_config(node: Node, server: str, token: str, ca_hash: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {"apiServerEndpoint": f"{server}:{API_PORT}",
                                         "token": token, "caCertHashes": [ca_hash]}},
        "nodeRegistration": _node_registration(node)}, sort_keys=False)


def _kubeadm(t: Transport, name: str, command: str, config_text: str) -> None:
    write_file(t, KUBEADM_CONFIG, config_text, 0o600)
    done = t.run(f"kubeadm {command} --config {KUBEADM_CONFIG}", timeout=KUBEADM_PHASE_TIMEOUT)
    if done.exit_code != 0:
        raise StepFailed(f"node {name}: kubeadm {command} failed",
                         hint=f"{(done.stderr or done.stdout).strip()[-400:]} (journalctl -u "
                         "kubelet on the node)")


def _join_secrets(command: str) -> tuple[str, str]:
    """The token and CA hash out of `kubeadm token create --print-join-command`."""
    args = shlex.split(command)
    try:
        return (args[args.index("--token") + 1],
                args[args.index("--discovery-token-ca-cert-hash") + 1])
    except (ValueError, IndexError):
        raise StepFailed(f"unexpected kubeadm join command: {command.strip()}") from None


def _join(node: Node, server: str, token: str, ca_hash: str) -> None:
    with open_transport(node) as t:
        progress(node.name, "kubeadm join: a worker on Docker")
        _kubeadm(t, node.name, "join", _join_config(node, server, token, ca_hash))


# kubeadm's Corefile forwards other names to the node's resolvers; nothing may leave this
# machine, and CoreDNS refuses to start with an empty resolv.conf.
FORWARD_BLOCK = re.compile(r"\n\s*forward \. /etc/resolv\.conf(\s*\{[^}]*\})?")


def _local_dns_only(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    cm = core.read_namespaced_config_map("coredns", "kube-system")
    corefile = FORWARD_BLOCK.sub("", cm.data["Corefile"])
    if corefile != cm.data["Corefile"]:
        core.patch_namespaced_config_map("coredns", "kube-system", {"data": {"Corefile": corefile}})
        core.delete_collection_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns")


# kubeadm's kube-proxy is privileged. Docker 20.10 then asks runc for every capability the
# kernel knows, and a lab node's bounding set lacks CAP_SYS_RESOURCE, so runc refuses to start
# it ("unable to apply caps"); a real node has them all. It gets the two it uses instead, and
# the node's route_localnet is set beforehand (node_config.pod_network_unit), since an
# unprivileged container cannot write /proc/sys.
KUBE_PROXY_CAPS = ["NET_ADMIN", "NET_RAW"]


def _fit_kube_proxy(api: client.ApiClient) -> None:
    client.AppsV1Api(api).patch_namespaced_daemon_set("kube-proxy", "kube-system", {
        "spec": {"template": {"spec": {"containers": [{
            "name": "kube-proxy",
            "securityContext": {"privileged": False,
                                "capabilities": {"add": KUBE_PROXY_CAPS}}}]}}}})
