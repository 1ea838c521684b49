"""The smoke suite's small Kubernetes toolkit: one namespace per run, pods created up front and
waited for with deadlines counted from their creation, exec, logs, port-forward, and failure
messages that carry the pod's status and events.

Deadlines start when an object is created, not when a test starts to wait: the suite creates
most pods at once, so on a broken node every test of that node fails within one timeout
instead of one timeout each.
"""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward, stream

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "harness-smoke"
NAMESPACE_PREFIX = "harness-smoke-"
START_TIMEOUT = 90.0  # a pod created with all the others: sandbox, containers, probes


class Timeout(AssertionError):
    """A wait ran out; the message says what was awaited and the object's status and events."""


@dataclass(frozen=True)
class ExecResult:
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.rc}, stdout {self.out.strip()!r}, stderr {self.err.strip()!r}"


def wait_until(what: str, probe: Callable[[], object], deadline: float,
               explain: Callable[[], str] = lambda: "", interval: float = 0.5):
    """Call `probe` until it returns something truthy (returned) or `deadline` (monotonic)
    passes (Timeout naming `what` and `explain()`). Always probes at least once."""
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out waiting for {what}; {explain()}")
        time.sleep(interval)


class Kube:
    """The API groups the suite uses, bound to the run's namespace."""

    def __init__(self, api: client.ApiClient, namespace: str):
        self.api = api
        self.ns = namespace
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.batch = client.BatchV1Api(api)
        self._created: dict[str, float] = {}

    # -- objects -------------------------------------------------------------------------

    def create_pod(self, manifest: dict) -> str:
        name = manifest["metadata"]["name"]
        self.core.create_namespaced_pod(self.ns, manifest)
        self._created[name] = time.monotonic()
        return name

    def pod(self, name: str) -> client.V1Pod:
        return self.core.read_namespaced_pod(name, self.ns)

    def deadline(self, name: str, timeout: float = START_TIMEOUT) -> float:
        return self._created.get(name, time.monotonic()) + timeout

    def describe(self, name: str, kind: str = "Pod") -> str:
        """One paragraph: the pod's phase and container states (if a pod), then its events."""
        parts = []
        if kind == "Pod":
            try:
                pod = self.pod(name)
            except ApiException as err:
                return f"pod {name}: {err.reason}"
            parts.append(f"pod {name} on {pod.spec.node_name}: phase {pod.status.phase}")
            statuses = (pod.status.init_container_statuses or []) + (
                pod.status.container_statuses or [])
            parts += [f"{s.name}: {container_state(s)}" for s in statuses]
        events = self.core.list_namespaced_event(
            self.ns, field_selector=f"involvedObject.name={name}").items
        parts += [f"event {e.reason}: {e.message}" for e in events[-8:]]
        return "; ".join(parts) or f"{kind} {name}: no status, no events"

    def wait_pod(self, name: str, what: str, check: Callable[[client.V1Pod], bool],
                 timeout: float = START_TIMEOUT) -> client.V1Pod:
        """The pod once `check(pod)` holds, within `timeout` of its creation."""
        def probe():
            pod = self.pod(name)
            return pod if check(pod) else None
        return wait_until(f"pod {name} {what}", probe, self.deadline(name, timeout),
                          lambda: self.describe(name))

    def running(self, name: str, timeout: float = START_TIMEOUT) -> client.V1Pod:
        """The pod with every container running and ready (ready only if it has a probe)."""
        return self.wait_pod(name, "to run with all containers ready", all_ready, timeout)

    def finished(self, name: str, timeout: float = START_TIMEOUT) -> client.V1Pod:
        return self.wait_pod(name, "to finish (Succeeded or Failed)",
                             lambda p: p.status.phase in ("Succeeded", "Failed"), timeout)

    def container_status(self, name: str, container: str) -> client.V1ContainerStatus:
        pod = self.pod(name)
        for status in (pod.status.init_container_statuses or []) + (
                pod.status.container_statuses or []):
            if status.name == container:
                return status
        raise AssertionError(f"pod {name} has no status for container {container}")

    # -- streams ---------------------------------------------------------------------------

    def exec(self, name: str, command: list[str], container: str | None = None,
             timeout: float = 30.0) -> ExecResult:
        """Run `command` in the pod (the exec subresource) and wait for its exit code."""
        kwargs = {"container": container} if container else {}
        ws = stream(self.core.connect_get_namespaced_pod_exec, name, self.ns, command=command,
                    stdin=False, stdout=True, stderr=True, tty=False,
                    _preload_content=False, **kwargs)
        try:
            ws.run_forever(timeout=timeout)
            if ws.is_open():
                raise Timeout(f"exec {command} in {name} still running after {timeout}s")
            return ExecResult(ws.returncode, ws.read_stdout() or "", ws.read_stderr() or "")
        finally:
            ws.close()

    def exec_ok(self, name: str, command: list[str], container: str | None = None,
                retry_for: float = 0.0) -> str:
        """stdout of `command`, which must exit 0; retried for `retry_for` seconds where the
        answer depends on the cluster catching up (endpoints, proxy rules, DNS)."""
        deadline = time.monotonic() + retry_for
        last: list[ExecResult] = []

        def attempt():
            last[:] = [self.exec(name, command, container)]
            return last[0].rc == 0
        wait_until(f"{' '.join(command)} in pod {name} to succeed", attempt, deadline,
                   lambda: f"last try: {last[0]}", interval=1.0)
        return last[0].out

    def logs(self, name: str, container: str | None = None, previous: bool = False) -> str:
        kwargs = {"container": container} if container else {}
        return self.core.read_namespaced_pod_log(name, self.ns, previous=previous, **kwargs)

    def http_get_forwarded(self, name: str, port: int, timeout: float = 15.0) -> bytes:
        """GET / through the pod's portforward subresource; the raw HTTP response. A refused
        forward raises with the kubelet's reason (its error stream), e.g. dockershim's
        "socat not found"."""
        pf = portforward(self.core.connect_get_namespaced_pod_portforward, name, self.ns,
                         ports=str(port))
        sock = pf.socket(port)
        data, deadline = b"", time.monotonic() + timeout
        try:
            sock.setblocking(True)
            sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            while time.monotonic() < deadline:
                ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
                chunk = sock.recv(4096) if ready else b""
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass  # the kubelet closed the stream: its error channel says why
        finally:
            sock.close()
        if not data:
            # The reason comes on the error channel, possibly after the data channel closed.
            until = time.monotonic() + 3
            while pf.error(port) is None and time.monotonic() < until:
                time.sleep(0.2)
            raise AssertionError(f"port-forward to {name}:{port} failed: "
                                 f"{pf.error(port) or 'no data'}")
        return data

    # -- cleanup ---------------------------------------------------------------------------

    def delete_pod(self, name: str, grace: int | None = None) -> None:
        with contextlib.suppress(ApiException):
            self.core.delete_namespaced_pod(name, self.ns, grace_period_seconds=grace)

    def gone(self, name: str) -> bool:
        try:
            self.pod(name)
        except ApiException as err:
            if err.status == 404:
                return True
            raise
        return False


def container_state(status: client.V1ContainerStatus) -> str:
    """`running`, `waiting (ErrImagePull: ...)` or `terminated (OOMKilled, exit 137)`, plus
    the restart count, as one short string for messages."""
    state = status.state
    if state.running:
        text = "running"
    elif state.waiting:
        text = f"waiting ({state.waiting.reason}: {state.waiting.message or ''})"
    elif state.terminated:
        text = f"terminated ({state.terminated.reason}, exit {state.terminated.exit_code})"
    else:
        text = "unknown"
    return f"{text}, restarts {status.restart_count}"


def all_ready(pod: client.V1Pod) -> bool:
    statuses = pod.status.container_statuses or []
    return (pod.status.phase == "Running" and bool(statuses)
            and all(s.ready and s.state.running for s in statuses))


def is_ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def target_nodes(core: client.CoreV1Api, settle: float = 120.0) -> list[client.V1Node]:
    """The schedulable Ready nodes: where a workload can land. A schedulable node that is not
    Ready yet (its kubelet just restarted: after an upgrade, a CRI suite run) gets `settle`
    seconds to become Ready before it is left out."""
    deadline = time.monotonic() + settle
    while True:
        nodes = [n for n in core.list_node().items if not n.spec.unschedulable]
        if all(is_ready(n) for n in nodes) or time.monotonic() > deadline:
            return sorted((n for n in nodes if is_ready(n)), key=lambda n: n.metadata.name)
        time.sleep(2)


def node_ip(node: client.V1Node) -> str:
    return next(a.address for a in node.status.addresses if a.type == "InternalIP")


def sweep_namespaces(core: client.CoreV1Api, older_than: float = 3600.0) -> list[str]:
    """Delete the suite's namespaces older than `older_than` seconds: leftovers of runs that
    were killed before their teardown (SIGKILL, a lost machine)."""
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    swept = []
    for ns in core.list_namespace(label_selector=f"{MANAGED_BY}={MANAGER}").items:
        age = (now - ns.metadata.creation_timestamp).total_seconds()
        if age > older_than and ns.status.phase != "Terminating":
            with contextlib.suppress(ApiException):
                core.delete_namespace(ns.metadata.name)
                swept.append(ns.metadata.name)
    return swept
