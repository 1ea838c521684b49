"""`harness lab up --kubernetes 1.23.17 --nodes 2`: two kubelets on Docker (dockershim) joined
to the host control plane, pods on both nodes, pod networking across nodes, Service DNS."""

from __future__ import annotations

import time

import pytest
from kubernetes import client
from kubernetes.stream import stream

from harness import images
from harness.kube import cluster
from harness.transport import open_transport

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]

# Debian bookworm's docker.io in the lab nodes; it reports its package version, 20.10.24+dfsg1.
DOCKER_VERSION = "20.10.24"
WEB_BODY = "harness web fixture"  # fixtures/images/web.yaml


def _pod(name: str, node: str, image: str, labels: dict | None = None, command=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
        spec=client.V1PodSpec(
            node_name=node,
            termination_grace_period_seconds=0,
            containers=[
                client.V1Container(
                    name="main", image=image, image_pull_policy="Never", command=command
                )
            ],
        ),
    )


def _wait_running(core: client.CoreV1Api, name: str, timeout: float = 120) -> client.V1Pod:
    deadline = time.monotonic() + timeout
    pod = None
    while time.monotonic() < deadline:
        pod = core.read_namespaced_pod(name, "default")
        if pod.status.phase == "Running" and pod.status.pod_ip:
            return pod
        time.sleep(0.5)
    pytest.fail(f"pod {name} not Running within {timeout}s: {pod.status if pod else None}")


def _exec(core: client.CoreV1Api, pod: str, command: list[str]) -> tuple[int, str]:
    """Run `command` in the pod through the apiserver -> kubelet exec stream."""
    resp = stream(core.connect_get_namespaced_pod_exec, pod, "default", command=command,
                  stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    resp.run_forever(timeout=60)
    out = resp.read_stdout() + resp.read_stderr()
    return resp.returncode, out


def _http_get(core: client.CoreV1Api, pod: str, host: str, port: int) -> tuple[int, str]:
    """GET / from inside `pod` with busybox nc (the fixture's static busybox wget crashes)."""
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 {host} {port} | tail -n 1"
    return _exec(core, pod, ["sh", "-c", request])


@pytest.fixture(scope="module")
def pods(kube_cluster):
    """A busybox pod on each node and the web fixture on the last node, Running."""
    api, node_names = kube_cluster.api, kube_cluster.node_names
    core = client.CoreV1Api(api)
    busybox, web = images.build("busybox").ref, images.build("web").ref
    names = []
    for i, node in enumerate(node_names, start=1):
        core.create_namespaced_pod(
            "default", _pod(f"hk-busybox-{i}", node, busybox, command=["sleep", "3600"])
        )
        names.append(f"hk-busybox-{i}")
    core.create_namespaced_pod("default", _pod("hk-web", node_names[-1], web, {"app": "hk-web"}))
    core.create_namespaced_service("default", client.V1Service(
        metadata=client.V1ObjectMeta(name="hk-web"),
        spec=client.V1ServiceSpec(selector={"app": "hk-web"},
                                  ports=[client.V1ServicePort(port=80, target_port=8080)])))
    return {name: _wait_running(core, name) for name in [*names, "hk-web"]}


def test_nodes_ready_with_docker_runtime(kube_cluster, kube_binaries):
    """NodeStatus.nodeInfo.containerRuntimeVersion is docker://<version> on every node: the
    kubelet talks to dockerd through its built-in dockershim (Kubernetes <= 1.23)."""
    api, node_names = kube_cluster.api, kube_cluster.node_names
    nodes = {n.metadata.name: n for n in client.CoreV1Api(api).list_node().items}
    assert sorted(nodes) == sorted(node_names)
    for node in nodes.values():
        info = node.status.node_info
        assert info.container_runtime_version.startswith(f"docker://{DOCKER_VERSION}")
        assert info.kubelet_version == f"v{kube_binaries.version}"
        ready = [c for c in node.status.conditions if c.type == "Ready"]
        assert ready[0].status == "True"


def test_nodes_carry_kubeadm_cri_socket_annotation(kube_cluster):
    """kubeadm records the CRI socket on each Node (kubeadm.alpha.kubernetes.io/cri-socket);
    on a 1.23 Docker node it is dockershim's, the value the migration rewrites."""
    api = kube_cluster.api
    for node in client.CoreV1Api(api).list_node().items:
        annotations = node.metadata.annotations or {}
        assert annotations.get(cluster.CRI_SOCKET_ANNOTATION) == "/var/run/dockershim.sock"


def test_node_layout_is_kubeadms(kube_cluster):
    """The files a migration edits are where kubeadm puts them: kubeadm-flags.env with the
    dockershim flags, config.yaml, the kubelet unit with its 10-kubeadm.conf drop-in."""
    with open_transport(kube_cluster.nodes[0]) as node:
        flags = node.run(["cat", "/var/lib/kubelet/kubeadm-flags.env"], check=True).stdout
        assert "--container-runtime=docker" in flags
        unit = node.run(["systemctl", "cat", "kubelet.service"], check=True).stdout
        assert "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf" in unit
        assert "--config=/var/lib/kubelet/config.yaml" in unit
        assert node.run(["systemctl", "is-active", "kubelet", "kube-proxy"]).stdout.split() == [
            "active", "active"]


def test_busybox_pod_runs_on_each_node(kube_cluster, pods):
    """A pod (image harness.local/busybox, imagePullPolicy Never) reaches Running on every
    node, with a pod IP from that node's pod CIDR."""
    node_names = kube_cluster.node_names
    for i, node in enumerate(node_names, start=1):
        pod = pods[f"hk-busybox-{i}"]
        assert pod.spec.node_name == node
        assert pod.status.pod_ip.startswith(f"10.244.{i}.")


def test_pod_reaches_pod_on_the_other_node(kube_cluster, pods):
    """The busybox pod on the first node fetches the web pod's page on the last node by pod
    IP: bridge CNI plus routes between nodes."""
    web_ip = pods["hk-web"].status.pod_ip
    code, out = _http_get(client.CoreV1Api(kube_cluster.api), "hk-busybox-1", web_ip, 8080)
    assert (code, out.strip()) == (0, WEB_BODY)


def test_service_name_resolves_in_a_pod(kube_cluster, pods):
    """hk-web.default.svc.cluster.local resolves (CoreDNS via the kube-dns Service) to the
    Service's cluster IP, and the short name reaches the web pod through kube-proxy."""
    core = client.CoreV1Api(kube_cluster.api)
    cluster_ip = core.read_namespaced_service("hk-web", "default").spec.cluster_ip
    code, out = _exec(core, "hk-busybox-1", ["nslookup", "hk-web.default.svc.cluster.local"])
    assert code == 0, out
    assert cluster_ip in out
    code, out = _http_get(core, "hk-busybox-1", "hk-web", 80)
    assert (code, out.strip()) == (0, WEB_BODY)


def test_down_stops_every_host_daemon(kube_cluster, pods):
    """`lab down` (cluster.down) stops the control plane and CoreDNS processes it recorded,
    though they outlived the process that started them. Runs last: it ends the cluster."""
    record = cluster.ClusterRecord.load("hk")
    assert set(record.pids) == {"etcd", "kube-apiserver", "kube-controller-manager",
                                "kube-scheduler", "coredns"}
    assert cluster.down("hk")
    assert not [name for name, pid in record.pids.items()
                if cluster.process_runs(pid, record.argv0[name])]
