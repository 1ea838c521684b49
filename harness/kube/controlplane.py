"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler as private host daemons.

The control plane runs on the host, not in a node: lab nodes are the kubelets under test (they
get migrated, restarted, broken), and the API server must outlive all of that. Every daemon
listens on one address only: the lab bridge's host address when nodes join (they reach it over
the lab network, and the host reaches it too), or 127.0.0.1 when no node is involved (tests).
etcd listens on loopback only (plain HTTP: only the apiserver on this host talks to it). All
ports are picked free, so several control planes (other engineers, CI jobs) coexist.

State (PKI, etcd data, logs) lives in one directory the caller owns and removes.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.daemons.process import Daemon, free_tcp_port, tcp_port_answers
from harness.kube import pki as pki_mod
from harness.kube.build import Built

SERVICE_CIDR = "10.96.0.0/12"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service: first address of SERVICE_CIDR
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
POD_CIDR = "10.244.0.0/16"
ETCD = "/usr/bin/etcd"  # Debian etcd-server 3.4


# The Kubernetes components, in start order; etcd (and its data) outlives a restart of these.
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass
class ControlPlane:
    built: Built
    state_dir: Path
    address: str  # where the apiserver (and thus the cluster) is reached
    port: int = 0  # the apiserver's; 0: a free one
    etcd_url: str = ""  # an etcd that already runs (start_components()); "": start() starts one
    daemons: list[Daemon] = field(default_factory=list, init=False)

    def __post_init__(self):
        self.port = self.port or free_tcp_port(self.address)
        self.server = f"https://{self.address}:{self.port}"
        self.pki = pki_mod.ControlPlanePKI(self.state_dir / "pki")

    @classmethod
    def existing(cls, built: Built, state_dir: Path, server: str, etcd_url: str) -> ControlPlane:
        """The control plane an earlier start() left in `state_dir` (PKI, etcd data), served at
        `server` with its etcd still at `etcd_url`, to run with `built`'s binaries."""
        host, _, port = server.removeprefix("https://").rstrip("/").rpartition(":")
        return cls(built, state_dir, host, int(port), etcd_url)

    @property
    def admin_kubeconfig(self) -> Path:
        return self.pki / "admin.conf"

    def start(self) -> ControlPlane:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        pki_mod.create_control_plane(
            self.pki.directory,
            self.server,
            service_ip=SERVICE_IP,
            addresses=tuple(dict.fromkeys((self.address, "127.0.0.1"))),
        )
        self._start_daemons((self._etcd, *self._components()))
        return self

    def start_components(self) -> ControlPlane:
        """Start the apiserver, controller-manager and scheduler over the existing state and
        etcd (see existing()): same PKI, etcd data, address and port. Only these are in
        `daemons` afterwards; etcd keeps running under whoever started it."""
        if not self.etcd_url:
            raise ValueError("start_components() needs the running etcd's URL (existing())")
        self._start_daemons(self._components())
        return self

    def _components(self) -> tuple:
        return (self._apiserver, self._controller_manager, self._scheduler)

    def _start_daemons(self, makers) -> None:
        try:
            for make in makers:
                daemon = make()
                self.daemons.append(daemon)
                daemon.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
        self.daemons.clear()

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def api_client(self):
        """A kubernetes.client.ApiClient authenticated as kubernetes-admin."""
        from kubernetes import config

        return config.new_client_from_config(str(self.admin_kubeconfig))

    def _log(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def _etcd(self) -> Daemon:
        client, peer = free_tcp_port(), free_tcp_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        return Daemon(
            "etcd",
            [
                ETCD,
                "--name=hk-etcd",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=hk-etcd=http://127.0.0.1:{peer}",
                "--initial-cluster-state=new",
            ],
            self._log("etcd"),
            ready=lambda: _http_ok(f"{self.etcd_url}/health", '"health":"true"'),
        )

    def _apiserver(self) -> Daemon:
        p = self.pki
        return Daemon(
            "kube-apiserver",
            [
                str(self.built.path("kube-apiserver")),
                f"--advertise-address={self.address}",
                f"--bind-address={self.address}",
                f"--secure-port={self.port}",
                f"--cert-dir={self.state_dir / 'apiserver-certs'}",
                f"--etcd-servers={self.etcd_url}",
                f"--client-ca-file={p / 'ca.crt'}",
                f"--tls-cert-file={p / 'apiserver.crt'}",
                f"--tls-private-key-file={p / 'apiserver.key'}",
                f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={p / 'ca.crt'}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                f"--service-account-key-file={p / 'sa.pub'}",
                f"--service-account-signing-key-file={p / 'sa.key'}",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                "--profiling=false",
            ],
            self._log("kube-apiserver"),
            ready=lambda: _http_ok(f"{self.server}/readyz", "ok", ca=p / "ca.crt"),
            start_timeout=90.0,
        )

    def _controller_manager(self) -> Daemon:
        p, port = self.pki, free_tcp_port()
        conf = p / "controller-manager.conf"
        return Daemon(
            "kube-controller-manager",
            [
                str(self.built.path("kube-controller-manager")),
                f"--kubeconfig={conf}",
                f"--authentication-kubeconfig={conf}",
                f"--authorization-kubeconfig={conf}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.state_dir / 'controller-manager-certs'}",
                f"--root-ca-file={p / 'ca.crt'}",
                f"--service-account-private-key-file={p / 'sa.key'}",
                f"--cluster-signing-cert-file={p / 'ca.crt'}",
                f"--cluster-signing-key-file={p / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={POD_CIDR}",
                # Node pod CIDRs are assigned by the harness when a node joins, so the node's
                # CNI config can be written before its kubelet starts.
                "--allocate-node-cidrs=false",
                "--use-service-account-credentials=true",
                "--leader-elect=false",  # one instance; no lease wait after a restart
            ],
            self._log("kube-controller-manager"),
            ready=lambda: _http_ok(f"https://127.0.0.1:{port}/healthz", "ok"),
            start_timeout=60.0,
        )

    def _scheduler(self) -> Daemon:
        port = free_tcp_port()
        conf = self.pki / "scheduler.conf"
        return Daemon(
            "kube-scheduler",
            [
                str(self.built.path("kube-scheduler")),
                f"--kubeconfig={conf}",
                f"--authentication-kubeconfig={conf}",
                f"--authorization-kubeconfig={conf}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.state_dir / 'scheduler-certs'}",
                "--leader-elect=false",
            ],
            self._log("kube-scheduler"),
            ready=lambda: _http_ok(f"https://127.0.0.1:{port}/healthz", "ok"),
            start_timeout=60.0,
        )


def _http_ok(url: str, expect: str, ca: Path | None = None) -> bool:
    """True if GET `url` answers 200 with `expect` in the body. Without `ca`, the server's
    self-signed cert (controller-manager, scheduler on loopback) is not verified."""
    host, _, port = url.split("/")[2].rpartition(":")
    if not tcp_port_answers(host, int(port)):
        return False
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=str(ca)) if ca else _unverified()
    else:
        context = None
    with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2, context=context) as r:
        return r.status == 200 and expect in r.read().decode()
    return False


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
