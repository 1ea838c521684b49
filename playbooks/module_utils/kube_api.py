"""The Kubernetes API for the playbooks' controller-side modules (they run on the Ansible
controller, delegated to localhost, with the `kubernetes` Python client)."""

from __future__ import annotations

import time

CRI_SOCKET_ANNOTATION = "kubeadm.alpha.kubernetes.io/cri-socket"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# hostPath volumes through which a pod reaches Docker or reads its containers' logs
# (kubernetes "check whether dockershim removal affects you"; a parent directory counts too).
DOCKER_PATHS = ("/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run",
                "/var/lib/docker", "/var/lib/docker/containers")


def core_api(kubeconfig: str):
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))


def node_summary(node) -> dict:
    conditions = {c.type: c for c in node.status.conditions or []}
    ready = conditions.get("Ready")
    return {
        "name": node.metadata.name,
        "runtime_version": node.status.node_info.container_runtime_version,
        "kubelet_version": node.status.node_info.kubelet_version,
        "ready": bool(ready and ready.status == "True"),
        "ready_message": ready.message if ready else "",
        "unschedulable": bool(node.spec.unschedulable),
        "cri_socket": (node.metadata.annotations or {}).get(CRI_SOCKET_ANNOTATION),
    }


def pods_on(core, node_name: str) -> list:
    return core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node_name}").items


def docker_dependents(pods: list) -> list[str]:
    """`namespace/pod: path` for every hostPath volume that reaches Docker."""
    found = []
    for pod in pods:
        for volume in pod.spec.volumes or []:
            path = volume.host_path.path.rstrip("/") if volume.host_path else None
            if path in DOCKER_PATHS:
                found.append(f"{pod.metadata.namespace}/{pod.metadata.name}: {path}")
    return found


def not_running(pods: list) -> list[str]:
    """`namespace/pod (phase)` for pods that are neither Running with every container ready
    nor Succeeded."""
    out = []
    for pod in pods:
        phase = pod.status.phase
        ready = all(c.ready for c in pod.status.container_statuses or [])
        if phase == "Succeeded" or (phase == "Running" and ready):
            continue
        out.append(f"{pod.metadata.namespace}/{pod.metadata.name} ({phase}"
                   f"{'' if ready else ', not ready'})")
    return out


def pod_images(pods: list) -> list[str]:
    """Every image the pods' containers and init containers run."""
    return sorted({c.image for pod in pods
                   for c in [*(pod.spec.init_containers or []), *pod.spec.containers]})


def pod_runtime_classes(pods: list) -> list[str]:
    """The RuntimeClasses the pods name: their handlers must exist wherever they run."""
    return sorted({p.spec.runtime_class_name for p in pods if p.spec.runtime_class_name})


def is_daemonset_pod(pod) -> bool:
    return any(ref.kind == "DaemonSet" for ref in pod.metadata.owner_references or [])


def is_mirror_pod(pod) -> bool:
    return MIRROR_ANNOTATION in (pod.metadata.annotations or {})


def wait_until(predicate, timeout: float, interval: float = 1.0):
    """predicate() until it returns something truthy (returned) or the time is up (None)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)
