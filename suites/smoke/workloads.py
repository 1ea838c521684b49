"""The pods the per-node tests look at, as manifests, one function per kind. The session
creates every kind on every target node at once (pinned with spec.nodeName, so the scheduler
is not what is tested), then each test waits for the state it checks.

All pods use the fixture images already on the nodes (imagePullPolicy Never), and a short
terminationGracePeriodSeconds so the namespace goes quickly at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import images

WEB_BODY = "harness web fixture\n"  # fixtures/images/web.yaml
WEB_PORT = 8080
LOG_MARKER = "harness-smoke: web pod started"
ROLE = "smoke.harness/role"
CONFIG_NAME = "smoke-config"  # the ConfigMap and the Secret of the volume tests
CONFIG_DATA = {"greeting": "hello from a ConfigMap\n"}
SECRET_DATA = {"password": "s3cr3t-for-smoke\n"}
GRACE_SECONDS = 6  # the graceful-termination pod's terminationGracePeriodSeconds
OOM_LIMIT = "24Mi"
OOM_ALLOC = "64M"  # dd's buffer: well above the limit
OOM_HEADROOM = "32Mi"  # the pod's limit is OOM_LIMIT plus this (see oom())
DROPPED_CAPS = ("CHOWN", "NET_RAW")
ADDED_CAPS = ("NET_ADMIN",)


@dataclass(frozen=True)
class Refs:
    busybox: str
    web: str

    @classmethod
    def fixture(cls) -> Refs:
        return cls(images.build("busybox").ref, images.build("web").ref)


def host_dir(namespace: str) -> str:
    """The per-run hostPath directory under /tmp on every node."""
    return f"/tmp/{namespace}"


def pod_name(kind: str, node: str) -> str:
    return f"{kind}-{node}"


def container(name: str, image: str, command: list[str] | None = None, **more) -> dict:
    spec = {"name": name, "image": image, "imagePullPolicy": "Never", **more}
    if command:
        spec["command"] = command
    return spec


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def pod(kind: str, node: str, containers: list[dict], labels: dict | None = None,
        **spec) -> dict:
    spec.setdefault("terminationGracePeriodSeconds", 1)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name(kind, node),
                     "labels": {ROLE: kind, "smoke.harness/node": node, **(labels or {})}},
        "spec": {"nodeName": node, "containers": containers, **spec},
    }


SLEEP = ["sleep", "3600"]


def web(node: str, refs: Refs, ns: str) -> dict:
    """The web fixture behind the Service; it logs a marker first (logs tests) and is ready
    once its page answers."""
    return pod("web", node, [container(
        "web", refs.web, sh(f"echo '{LOG_MARKER}'; exec httpd -f -v -p {WEB_PORT} -h /www"),
        ports=[{"containerPort": WEB_PORT}],
        readinessProbe={"httpGet": {"path": "/", "port": WEB_PORT}, "periodSeconds": 1})])


def client(node: str, refs: Refs, ns: str) -> dict:
    """A busybox to run wget and nslookup from (Service and DNS tests)."""
    return pod("client", node, [container("client", refs.busybox, SLEEP)])


def log_reader(node: str, refs: Refs, ns: str) -> dict:
    """Sees the node's /var read-only, as a log shipper DaemonSet does (/var/log/pods and,
    on Docker, the json-file logs the /var/log/pods symlinks point to)."""
    return pod("log-reader", node, [container(
        "reader", refs.busybox, SLEEP,
        volumeMounts=[{"name": "var", "mountPath": "/host/var", "readOnly": True}])],
        volumes=[{"name": "var", "hostPath": {"path": "/var", "type": "Directory"}}])


def volumes(node: str, refs: Refs, ns: str) -> dict:
    """Every volume type of the volume tests in one pod; an init container fills the emptyDir
    (what one container writes there, another sees)."""
    mounts = [{"name": "config", "mountPath": "/config"},
              {"name": "secret", "mountPath": "/secret"},
              {"name": "scratch", "mountPath": "/scratch"},
              {"name": "host", "mountPath": "/host-dir"},
              {"name": "host-tmp", "mountPath": "/host-tmp"},
              {"name": "projected", "mountPath": "/projected"}]
    return pod("volumes", node, [container("app", refs.busybox, SLEEP, volumeMounts=mounts)],
               initContainers=[container(
                   "fill", refs.busybox, sh("echo written-by-init > /scratch/from-init"),
                   volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}])],
               volumes=[
                   {"name": "config", "configMap": {"name": CONFIG_NAME}},
                   {"name": "secret", "secret": {"secretName": CONFIG_NAME}},
                   {"name": "scratch", "emptyDir": {}},
                   {"name": "host", "hostPath": {"path": host_dir(ns),
                                                 "type": "DirectoryOrCreate"}},
                   {"name": "host-tmp", "hostPath": {"path": "/tmp", "type": "Directory"}},
                   {"name": "projected", "projected": {"sources": [
                       {"configMap": {"name": CONFIG_NAME}},
                       {"secret": {"name": CONFIG_NAME}},
                       {"downwardAPI": {"items": [{"path": "pod-name", "fieldRef": {
                           "fieldPath": "metadata.name"}}]}}]}}])


def probes(node: str, refs: Refs, ns: str) -> dict:
    """Three containers, each made ready by one probe type: exec, httpGet and tcpSocket."""
    fast = {"periodSeconds": 1, "failureThreshold": 1}
    return pod("probes", node, [
        container("exec", refs.busybox, sh("touch /tmp/ready; exec sleep 3600"),
                  readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}, **fast}),
        container("http", refs.web, readinessProbe={
            "httpGet": {"path": "/", "port": WEB_PORT}, **fast}),
        container("tcp", refs.web, ["httpd", "-f", "-p", "8081", "-h", "/www"],
                  readinessProbe={"tcpSocket": {"port": 8081}, **fast})])


def liveness(node: str, refs: Refs, ns: str) -> dict:
    """A web server whose liveness probe asks for a missing page (404: a failure)."""
    return pod("liveness", node, [container("web", refs.web, livenessProbe={
        "httpGet": {"path": "/missing", "port": WEB_PORT},
        "periodSeconds": 1, "failureThreshold": 1})])


def init_order(node: str, refs: Refs, ns: str) -> dict:
    """Two init containers and the app append to one emptyDir file; the app prints it."""
    mount = [{"name": "order", "mountPath": "/order"}]
    return pod("init", node,
               [container("app", refs.busybox,
                          sh("echo app >> /order/log; cat /order/log; exec sleep 3600"),
                          volumeMounts=mount)],
               initContainers=[container(f"init{i}", refs.busybox,
                                         sh(f"echo init{i} >> /order/log"), volumeMounts=mount)
                               for i in (1, 2)],
               volumes=[{"name": "order", "emptyDir": {}}])


def exits(policy: str, code: int):
    """A pod whose only container exits with `code` under restartPolicy `policy`."""
    def manifest(node: str, refs: Refs, ns: str) -> dict:
        return pod(f"restart-{policy.lower()}", node,
                   [container("main", refs.busybox, sh(f"exit {code}"))], restartPolicy=policy)
    manifest.__name__ = f"restart_{policy.lower()}"
    return manifest


def oom(node: str, refs: Refs, ns: str) -> dict:
    """dd's buffer is larger than the memory limit: the kernel OOM-kills the container.

    The kubelet limits the pod's cgroup to the sum of its containers' limits, and the pod's
    cgroup also holds the pause process: with one container, the pod's limit could be hit
    first, and an OOM kill there is no OOM event of the container's (its status then says
    Error, exit 137). A second, short-lived container with its own limit gives the pod
    headroom, so the container's own limit is the one the kernel enforces."""
    limits = {"memory": OOM_LIMIT}
    headroom = {"memory": OOM_HEADROOM}
    return pod("oom", node, [
        container("hog", refs.busybox, ["dd", "if=/dev/zero", "of=/dev/null",
                                        f"bs={OOM_ALLOC}", "count=1"],
                  resources={"limits": limits, "requests": limits}),
        container("headroom", refs.busybox, ["true"],
                  resources={"limits": headroom, "requests": headroom}),
    ], restartPolicy="Never")


def security(node: str, refs: Refs, ns: str) -> dict:
    """`user`: uid 1000 on a read-only root; `caps`: root without CHOWN and NET_RAW, with
    NET_ADMIN. Each first process reports what it could do, in its log."""
    probe = ("id -u; touch /written-by-container 2>/dev/null && echo rootfs=writable "
             "|| echo rootfs=read-only; exec sleep 3600")
    return pod("security", node, [
        container("user", refs.busybox, sh(probe), securityContext={
            "runAsUser": 1000, "runAsGroup": 1000, "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False}),
        container("caps", refs.busybox, sh(
            "touch /tmp/f; chown 1000 /tmp/f 2>/dev/null && echo chown=allowed "
            "|| echo chown=refused; exec sleep 3600"),
            securityContext={"runAsUser": 0, "capabilities": {
                "drop": list(DROPPED_CAPS), "add": list(ADDED_CAPS)}})])


def graceful(node: str, refs: Refs, ns: str) -> dict:
    """Logs SIGTERM and keeps running: the kubelet must wait the grace period, then kill."""
    return pod("graceful", node, [container("main", refs.busybox, sh(
        "trap 'echo got SIGTERM' TERM; echo started; while true; do sleep 1; done"))],
        terminationGracePeriodSeconds=GRACE_SECONDS)


PER_NODE = (web, client, log_reader, volumes, probes, liveness, init_order,
            exits("Never", 3), exits("OnFailure", 3), exits("Always", 0), oom, security,
            graceful)
