"""A Kubernetes cluster over a lab: the control plane and CoreDNS on the host, listening on the
lab bridge's host address, and every lab node joined as a kubeadm-style worker on Docker.

The host daemons outlive the `harness lab up` process that started them; their pids are
recorded in <lab dir>/kubernetes/cluster.json, and `down` stops exactly those processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from kubernetes import client

from harness import images
from harness.daemons.process import tcp_port_answers
from harness.errors import HarnessTimeout, InputError, StepFailed
from harness.facts import gather
from harness.inventory import Inventory, Node
from harness.kube import build, dns, pki
from harness.kube import node_config as nc
from harness.kube.controlplane import CLUSTER_DNS_IP, CLUSTER_DOMAIN, POD_CIDR, ControlPlane
from harness.lab import access, state
from harness.progress import progress
from harness.transport import Transport, open_transport

READY_TIMEOUT = 180.0


@dataclass
class ClusterRecord:
    version: str
    server: str
    kubeconfig: str
    kubectl: str
    pids: dict[str, int]  # daemon name -> pid (its process group leader)
    argv0: dict[str, str]  # daemon name -> binary, to recognise the pid as ours
    kubeadm: bool = False  # made by kubeadm on the nodes: no daemon of its own on this host

    @staticmethod
    def path(lab: str) -> Path:
        return cluster_dir(lab) / "cluster.json"

    def save(self, lab: str) -> None:
        self.path(lab).write_text(json.dumps(asdict(self), indent=1))

    def running(self, names=None) -> bool:
        """Whether the recorded daemons (`names`, default all) still run; for a kubeadm
        cluster, whether its API server answers."""
        if self.kubeadm:
            host, _, port = self.server.removeprefix("https://").rpartition(":")
            return tcp_port_answers(host, int(port))
        return all(process_runs(self.pids[n], self.argv0[n]) for n in names or self.pids)

    @classmethod
    def load(cls, lab: str) -> ClusterRecord | None:
        try:
            return cls(**json.loads(cls.path(lab).read_text()))
        except FileNotFoundError:
            return None


def cluster_dir(lab: str) -> Path:
    return state.lab_dir(lab) / "kubernetes"


def pod_cidr(index: int) -> str:
    """Node n gets 10.244.n.0/24 of POD_CIDR."""
    return f"10.244.{index}.0/24"


def check_version(version: str, flag: str = "--kubernetes") -> build.Release:
    """A pinned release whose kubelet can run on the lab's Docker nodes (dockershim)."""
    rel = build.release(version, flag)
    if not rel.dockershim:
        raise InputError(
            f"{flag} {rel.version}: the kubelet has no dockershim since 1.24, and the lab's "
            "nodes run Docker",
            hint=f"use {', '.join(v for v, r in build.RELEASES.items() if r.dockershim)} "
            "(cri-dockerd, the way to Docker past 1.24, is not built yet)",
        )
    return rel


def up(lab: str, inventory: Inventory, version: str) -> ClusterRecord:
    """Start the control plane and DNS for `lab`, join its nodes, wait until all are Ready."""
    check_version(version)
    down(lab)  # a cluster is cheap to recreate; its nodes' kubelets are rewritten below
    built = build.build(version, say=lambda m: progress(lab, m))
    coredns = dns.build_coredns(say=lambda m: progress(lab, m))
    record = state.load(lab)
    address = record.network.gateway
    directory = cluster_dir(lab)
    shutil.rmtree(directory, ignore_errors=True)  # etcd data and PKI of an earlier cluster
    cp = ControlPlane(built, directory, address)
    progress(lab, f"control plane {built.version} on {cp.server}")
    cp.start()
    dns_daemon = None
    try:
        api = cp.api_client()
        dns_conf = directory / "pki" / "coredns.conf"
        ca = cp.pki.ca
        dns_conf.write_text(
            pki.kubeconfig(cp.server, ca.pem, dns.DNS_USER, ca.issue(dns.DNS_USER, client=True))
        )
        dns_conf.chmod(0o600)
        dns.publish(api, address)
        dns_daemon = dns.daemon(coredns, directory, address, dns_conf).start()
        progress(lab, f"CoreDNS on {address}:53 serving {CLUSTER_DOMAIN} as {CLUSTER_DNS_IP}")
        daemons = [*cp.daemons, dns_daemon]
        result = ClusterRecord(
            built.version,
            cp.server,
            str(cp.admin_kubeconfig),
            str(built.path("kubectl")),
            {d.name: d.proc.pid for d in daemons},
            {d.name: d.argv[0] for d in daemons},
        )
        result.save(lab)
        nets = [
            nc.NodeNetwork(n.name, n.host, pod_cidr(i))
            for i, n in enumerate(inventory.nodes, start=1)
        ]
        with ThreadPoolExecutor(len(nets)) as pool:
            list(
                pool.map(
                    lambda pair: _join(cp, built, pair[0], pair[1], nets),
                    zip(inventory.nodes, nets, strict=True),
                )
            )
        wait_ready(api, [n.name for n in nets])
        annotate_cri_socket(api, [n.name for n in nets])
        access.set_cluster(_inventory(lab), result.kubeconfig, result.version)
    except BaseException:
        if dns_daemon:
            dns_daemon.stop()
        cp.stop()
        ClusterRecord.path(lab).unlink(missing_ok=True)
        raise
    progress(lab, f"{len(nets)} node(s) Ready; KUBECONFIG={cp.admin_kubeconfig}")
    return result


def down(lab: str) -> bool:
    """Stop the host daemons of `lab`'s cluster; False if there was no record of one.

    The recorded pids first; then any process still naming the cluster's directory in its
    arguments (every daemon does: data, cert and config paths), which an `up` killed before it
    wrote cluster.json leaves behind."""
    record = ClusterRecord.load(lab)
    if _inventory(lab).exists():
        access.set_cluster(_inventory(lab), None, None)
    if record is not None:
        stop_pids([(record.pids[n], record.argv0[n]) for n in reversed(list(record.pids))])
        ClusterRecord.path(lab).unlink()
    stop_pids(_strays(cluster_dir(lab)))
    return record is not None


def _inventory(lab: str) -> Path:
    return state.lab_dir(lab) / "inventory.yaml"


def _strays(directory: Path) -> list[tuple[int, str]]:
    marker = (str(directory) + "/").encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        pid = int(proc.name)
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            # Only group leaders: daemons start in their own session, and stop_pids kills groups.
            leader = os.getpgid(pid) == pid
        except OSError:
            continue
        if leader and any(marker in arg for arg in argv[1:]):
            found.append((pid, argv[0].decode()))
    return found


# The lab's kube-apiserver and kube-scheduler do not exit on SIGTERM within 30 s (measured);
# etcd, which holds the state, exits at once. So a lab's daemons are signalled together and
# given DOWN_GRACE in all, not 10 s each one after the other (20 s per lab torn down).
DOWN_GRACE = 3.0


def stop_pids(daemons: list[tuple[int, str]], grace: float = DOWN_GRACE) -> None:
    """SIGTERM the process group of each (pid, argv0) still running; SIGKILL those left after
    `grace` seconds in all."""
    running = [(pid, argv0) for pid, argv0 in daemons if process_runs(pid, argv0)]
    for pid, _ in running:
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(process_runs(*d) for d in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, argv0 in running:
        if process_runs(pid, argv0):
            os.killpg(pid, signal.SIGKILL)


def process_runs(pid: int, argv0: str) -> bool:
    """True if `pid` is alive (not a zombie) and runs the binary `argv0`."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return cmdline.decode() == argv0 and status != "Z"


def _join(
    cp: ControlPlane, built: build.Built, node: Node, net: nc.NodeNetwork, all_nets: list
) -> None:
    with open_transport(node) as t:
        facts = gather(t)
        if not facts.docker.cgroup_driver:
            raise StepFailed(f"node {node.name}: Docker does not answer; cannot join a kubelet")
        settings = nc.KubeletSettings(
            cgroup_driver=facts.docker.cgroup_driver,
            cluster_dns=CLUSTER_DNS_IP,
            cluster_domain=CLUSTER_DOMAIN,
            pause_image=images.build("pause").ref,
            cluster_cidr=POD_CIDR,
            dockershim=build.release(built.version).dockershim,
        )
        progress(node.name, f"joining: kubelet {built.version}, Docker cgroup driver "
                 f"{settings.cgroup_driver}, pods {net.pod_cidr}")
        install(t, cp, built, net, [p for p in all_nets if p != net], settings)


def install(
    t: Transport,
    cp: ControlPlane,
    built: build.Built,
    net: nc.NodeNetwork,
    peers: list[nc.NodeNetwork],
    settings: nc.KubeletSettings,
) -> None:
    """Copy the binaries, write the kubeadm-style files and start kubelet and kube-proxy."""
    creds = pki.node_credentials(cp.pki, cp.server, net.name, net.address)
    for binary, remote in (("kubelet", nc.KUBELET_BIN), ("kube-proxy", nc.KUBE_PROXY_BIN)):
        put_binary(t, built.path(binary), remote)
    files = {
        nc.CA_CERT: (creds.ca_pem.decode(), 0o644),
        nc.KUBELET_CONF: (creds.kubelet_conf, 0o600),
        nc.KUBELET_SERVING_CERT: (creds.serving.cert.decode(), 0o644),
        nc.KUBELET_SERVING_KEY: (creds.serving.key.decode(), 0o600),
        nc.KUBELET_CONFIG: (nc.kubelet_config(settings), 0o644),
        nc.KUBEADM_FLAGS: (nc.kubeadm_flags(settings, net), 0o644),
        nc.KUBELET_UNIT: (nc.kubelet_unit(), 0o644),
        nc.KUBEADM_DROPIN: (nc.kubeadm_dropin(), 0o644),
        nc.KUBE_PROXY_CONF: ((cp.pki / "kube-proxy.conf").read_text(), 0o600),
        nc.KUBE_PROXY_CONFIG: (nc.kube_proxy_config(settings.cluster_cidr), 0o644),
        nc.KUBE_PROXY_UNIT: (nc.kube_proxy_unit(), 0o644),
        nc.CNI_CONFLIST: (nc.cni_conflist(net), 0o644),
        nc.NODE_NET_UNIT: (nc.pod_network_unit(net, peers, settings.cluster_cidr),
                           0o644),
    }
    for path, (text, mode) in files.items():
        write_file(t, path, text, mode)
    # The kubelet builds pods' resolv.conf from the node's; nspawn nodes may have none.
    t.run("mkdir -p /etc/kubernetes/manifests && { [ -e /etc/resolv.conf ] || "
          ": > /etc/resolv.conf; }", check=True)
    units = ["harness-pod-network.service", "kubelet.service", "kube-proxy.service"]
    t.run(
        f"systemctl daemon-reload && systemctl enable {' '.join(units)} && "
        f"systemctl restart {' '.join(units)}",
        timeout=90,
        check=True,
    )


def put_binary(t: Transport, local: Path, remote: str) -> None:
    """Copy a binary to the node, renamed into place: a running one cannot be written ("text
    file busy"), and a node's kubelet still runs when its cluster is made again."""
    t.put(local, f"{remote}.new", mode=0o755)
    t.run(f"mv -f {remote}.new {remote}", check=True)


def write_file(t: Transport, path: str, text: str, mode: int) -> None:
    """Write `text` to `path` on the node through stdin (keys never appear in a command)."""
    parent = path.rsplit("/", 1)[0]
    t.run(
        f"mkdir -p {parent} && umask 077 && cat > {path}.tmp && chmod {mode:o} {path}.tmp "
        f"&& mv -f {path}.tmp {path}",
        input=text,
        check=True,
    )


def wait_ready(api: client.ApiClient, names: list[str], timeout: float = READY_TIMEOUT) -> None:
    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout
    ready: set[str] = set()
    while time.monotonic() < deadline:
        ready = {
            n.metadata.name
            for n in core.list_node().items
            if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        }
        if ready >= set(names):
            return
        time.sleep(1)
    missing = sorted(set(names) - ready)
    raise HarnessTimeout(
        f"node(s) {', '.join(missing)} not Ready within {timeout:.0f}s",
        hint="see `journalctl -u kubelet` on the node (ssh -F <lab>/ssh_config NODE)",
    )


# kubeadm (< 1.34) records each node's CRI socket on the Node; `kubeadm upgrade` reads it and the
# migration rewrites it (kubernetes/website change-runtime-containerd, step "Configure the
# kubelet"). A Docker node on 1.23 has dockershim's socket.
CRI_SOCKET_ANNOTATION = "kubeadm.alpha.kubernetes.io/cri-socket"
DOCKERSHIM_SOCKET = "/var/run/dockershim.sock"


def annotate_cri_socket(api: client.ApiClient, names: list[str]) -> None:
    core = client.CoreV1Api(api)
    patch = {"metadata": {"annotations": {CRI_SOCKET_ANNOTATION: DOCKERSHIM_SOCKET}}}
    for name in names:
        core.patch_node(name, patch)
