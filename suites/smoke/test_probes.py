"""Probes on each node: exec, httpGet and tcpSocket readiness probes make their containers
ready; a failing liveness probe restarts the container."""

from __future__ import annotations

import pytest

from .kube import wait_until

pytestmark = [pytest.mark.per_node, pytest.mark.timeout(120)]


def ready(k, name: str, container: str) -> None:
    wait_until(f"container {container} of {name} to be ready",
               lambda: k.pod(name).status.container_statuses
               and k.container_status(name, container).ready,
               k.deadline(name), lambda: k.describe(name))


def test_exec_readiness_probe_makes_the_container_ready(k, pods, node):
    """containerStatuses[].ready turns true once an exec readinessProbe's command exits 0."""
    ready(k, pods("probes", node), "exec")


def test_http_readiness_probe_makes_the_container_ready(k, pods, node):
    """containerStatuses[].ready turns true once an httpGet readinessProbe gets a 2xx."""
    ready(k, pods("probes", node), "http")


def test_tcp_readiness_probe_makes_the_container_ready(k, pods, node):
    """containerStatuses[].ready turns true once a tcpSocket readinessProbe connects."""
    ready(k, pods("probes", node), "tcp")


def test_failing_liveness_probe_restarts_the_container(k, pods, node):
    """When the livenessProbe fails failureThreshold times, the kubelet kills the container
    and restarts it: restartCount increases and a ProbeWarning/Unhealthy event names it."""
    name = pods("liveness", node)
    wait_until(f"{name} to be restarted by its liveness probe",
               lambda: k.pod(name).status.container_statuses
               and k.container_status(name, "web").restart_count >= 1,
               k.deadline(name), lambda: k.describe(name))
    assert "Liveness probe failed" in k.describe(name)
