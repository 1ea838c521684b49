"""A service written the way a zero-downtime one is (2 replicas, readiness probe, preStop delay,
a PodDisruptionBudget with minAvailable 1, a NodePort Service), and a prober that asks it for
its page the whole time a migration runs. The prober only ever targets the lab's own nodes
(addresses on this machine's lab bridge), with a bounded number of requests."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

from kubernetes import client

from harness import images

NAMESPACE = "default"
NAME = "zero-downtime"
BODY = "harness web fixture"  # fixtures/images/web.yaml


def deploy(api, node_port: int = 30080) -> None:
    """Create (or replace) the Deployment, its PDB and its NodePort Service; wait until both
    replicas are ready."""
    delete(api)
    labels = {"app": NAME}
    container = {
        "name": "web", "image": images.build("web").ref, "imagePullPolicy": "Never",
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1,
                           "failureThreshold": 1},
        # Keep serving while endpoints are withdrawn from every kube-proxy.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
    }
    client.AppsV1Api(api).create_namespaced_deployment(NAMESPACE, {
        "metadata": {"name": NAME, "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"terminationGracePeriodSeconds": 20,
                                       "containers": [container]}}}})
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget(NAMESPACE, {
        "metadata": {"name": NAME},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}})
    client.CoreV1Api(api).create_namespaced_service(NAMESPACE, {
        "metadata": {"name": NAME},
        "spec": {"type": "NodePort", "selector": labels,
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": node_port}]}})
    wait_ready(api)


def wait_ready(api, timeout: float = 180) -> None:
    apps = client.AppsV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = apps.read_namespaced_deployment(NAME, NAMESPACE).status
        if (status.ready_replicas or 0) >= 2:
            return
        time.sleep(1)
    raise AssertionError(f"{NAME}: 2 ready replicas not reached within {timeout}s")


def delete(api) -> None:
    for call in (lambda: client.AppsV1Api(api).delete_namespaced_deployment(NAME, NAMESPACE),
                 lambda: client.PolicyV1Api(api).delete_namespaced_pod_disruption_budget(
                     NAME, NAMESPACE),
                 lambda: client.CoreV1Api(api).delete_namespaced_service(NAME, NAMESPACE)):
        try:
            call()
        except client.exceptions.ApiException as err:
            if err.status != 404:
                raise


@dataclass
class Prober:
    """GET / through the NodePort of each lab node in turn, every `interval` seconds, from a
    background thread, for at most `max_requests` requests."""

    addresses: list[str]
    node_port: int = 30080
    interval: float = 0.2
    max_requests: int = 20000
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Prober:
        self._wait_answering()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _wait_answering(self, timeout: float = 60) -> None:
        """Until every node's kube-proxy has the NodePort: probing starts from a working
        service, so a failure counted later is the migration's."""
        deadline = time.monotonic() + timeout
        while any(self._get(a) for a in self.addresses):
            if time.monotonic() > deadline:
                raise AssertionError(f"{NAME} does not answer on every node: "
                                     f"{[self._get(a) for a in self.addresses]}")
            time.sleep(0.5)

    def _get(self, address: str) -> str | None:
        """None if the page came back, else what went wrong."""
        try:
            conn = http.client.HTTPConnection(address, self.node_port, timeout=3)
            conn.request("GET", "/")
            response = conn.getresponse()
            body = response.read().decode(errors="replace")
            conn.close()
        except OSError as err:
            return f"{address}: {err}"
        if response.status == 200 and BODY in body:
            return None
        return f"{address}: HTTP {response.status}"

    def _loop(self) -> None:
        for n in range(self.max_requests):
            if self._stop.is_set():
                return
            failure = self._get(self.addresses[n % len(self.addresses)])
            if failure:
                self.failures.append(f"{time.strftime('%X')} {failure}")
            else:
                self.ok += 1
            self._stop.wait(self.interval)


def run_pod(api, name: str) -> str:
    """A pod of the copied fixture image: its phase once Running (or the last seen)."""
    core = client.CoreV1Api(api)
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(
        containers=[client.V1Container(name="web", image="harness.local/web:1.0",
                                       image_pull_policy="Never")]))
    core.create_namespaced_pod("default", pod)
    try:
        deadline = time.monotonic() + 120
        while (phase := core.read_namespaced_pod(name, "default").status.phase) != "Running":
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        return phase
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
