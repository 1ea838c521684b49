"""Cluster DNS: CoreDNS built from its Go module, serving cluster names through its
`kubernetes` plugin, run as a host daemon beside the control plane.

Pods reach it the way they reach kube-dns on any cluster: the kubelet puts CLUSTER_DNS_IP
(10.96.0.10) in their resolv.conf, and the Service kube-system/kube-dns with that cluster IP
has no selector, its Endpoints name the host's lab bridge address, where CoreDNS listens;
kube-proxy on each node does the DNAT. Only cluster zones are served: there is no upstream to
forward to (no traffic leaves this machine), so other names get REFUSED.

CoreDNS 1.8.6 is the version kubeadm 1.23 deploys; its go.mod has no replace lines, so
`go install module@version` builds it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from filelock import FileLock
from kubernetes import client

from harness.daemons.process import Daemon, tcp_port_answers
from harness.kube import build
from harness.kube.controlplane import CLUSTER_DNS_IP, CLUSTER_DOMAIN

COREDNS_MODULE = "github.com/coredns/coredns"
COREDNS_VERSION = "1.8.6"
DNS_USER = "system:coredns"


def build_coredns(say=build.progress) -> Path:
    """The verified coredns binary, built once into ~/.cache/harness/kube/coredns-<v>/bin."""
    work = build.cache_root() / f"coredns-{COREDNS_VERSION}"
    bin_dir = work / "bin"
    hint = f"remove {work} and run again"
    work.mkdir(parents=True, exist_ok=True)
    with FileLock(str(work) + ".lock"):
        if (bin_dir / "SHA256SUMS").exists():
            build.verify(bin_dir, hint)
            return bin_dir / "coredns"
        say(f"coredns {COREDNS_VERSION}: building from {COREDNS_MODULE} (log: {work}/build.log)")
        started = time.monotonic()
        go = build.GoRunner(build.GO_1_19, work)
        out = work / ".bin-new"
        shutil.rmtree(out, ignore_errors=True)
        go.env["GOBIN"] = str(out)
        go.env["GOFLAGS"] = ""  # `go install mod@version` ignores the work dir's module
        go.run("install", f"{COREDNS_MODULE}@v{COREDNS_VERSION}")
        build.write_checksums(out, ("coredns",))
        shutil.rmtree(bin_dir, ignore_errors=True)
        os.rename(out, bin_dir)
        say(f"coredns {COREDNS_VERSION}: built in {time.monotonic() - started:.0f}s")
    return bin_dir / "coredns"


def corefile(address: str, kubeconfig: Path) -> str:
    return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {address}
    errors
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 5
}}
"""


def daemon(binary: Path, state_dir: Path, address: str, kubeconfig: Path) -> Daemon:
    conf = state_dir / "Corefile"
    conf.write_text(corefile(address, kubeconfig))
    return Daemon(
        "coredns",
        [str(binary), "-conf", str(conf)],
        state_dir / "logs" / "coredns.log",
        ready=lambda: tcp_port_answers(address, 53),
    )


def publish(api: client.ApiClient, address: str) -> None:
    """RBAC for CoreDNS's identity, and Service kube-system/kube-dns pointing at `address`."""
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role(
        client.V1ClusterRole(
            metadata=client.V1ObjectMeta(name=DNS_USER),
            rules=[
                client.V1PolicyRule(
                    api_groups=[""],
                    resources=["endpoints", "services", "pods", "namespaces"],
                    verbs=["list", "watch"],
                ),
                client.V1PolicyRule(
                    api_groups=["discovery.k8s.io"],
                    resources=["endpointslices"],
                    verbs=["list", "watch"],
                ),
            ],
        )
    )
    rbac.create_cluster_role_binding(
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=DNS_USER),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=DNS_USER
            ),
            subjects=[
                client.RbacV1Subject(
                    api_group="rbac.authorization.k8s.io", kind="User", name=DNS_USER
                )
            ],
        )
    )
    core = client.CoreV1Api(api)
    ports = [("dns", "UDP"), ("dns-tcp", "TCP")]
    core.create_namespaced_service(
        "kube-system",
        client.V1Service(
            metadata=client.V1ObjectMeta(name="kube-dns", labels={"k8s-app": "kube-dns"}),
            spec=client.V1ServiceSpec(
                cluster_ip=CLUSTER_DNS_IP,
                ports=[client.V1ServicePort(name=n, port=53, protocol=p) for n, p in ports],
            ),
        ),
    )
    core.create_namespaced_endpoints(
        "kube-system",
        client.V1Endpoints(
            metadata=client.V1ObjectMeta(name="kube-dns", labels={"k8s-app": "kube-dns"}),
            subsets=[
                client.V1EndpointSubset(
                    addresses=[client.V1EndpointAddress(ip=address)],
                    ports=[
                        client.CoreV1EndpointPort(name=n, port=53, protocol=p) for n, p in ports
                    ],
                )
            ],
        ),
    )
