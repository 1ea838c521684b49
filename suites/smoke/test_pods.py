"""A pod on each node: it runs, its logs are readable (API and node files), exec and
port-forward reach it, init containers run first and in order, restartPolicy is honoured, and
deletion waits terminationGracePeriodSeconds."""

from __future__ import annotations

import time

import pytest

from .kube import wait_until
from .workloads import GRACE_SECONDS, LOG_MARKER, WEB_BODY, WEB_PORT

pytestmark = [pytest.mark.per_node, pytest.mark.timeout(150)]


def test_pod_runs_and_its_logs_are_readable(k, pods, node):
    """The pod reaches phase Running with its container ready, and GET
    /api/v1/namespaces/{ns}/pods/{name}/log returns what the container wrote to stdout."""
    name = pods("web", node)
    k.running(name)
    assert LOG_MARKER in k.logs(name), k.describe(name)


def test_exec_runs_a_command_in_the_container(k, pods, node):
    """The exec subresource runs a command in the container's namespaces: it sees the
    container's root filesystem and returns stdout and the exit code."""
    name = pods("web", node)
    k.running(name)
    assert k.exec_ok(name, ["cat", "/www/index.html"]) == WEB_BODY
    assert k.exec(name, ["sh", "-c", "exit 7"]).rc == 7


def test_port_forward_reaches_the_container_port(k, pods, node):
    """The portforward subresource (kubectl port-forward) connects to a port in the pod's
    network namespace: the web fixture's page comes back over it."""
    name = pods("web", node)
    k.running(name)
    response = k.http_get_forwarded(name, WEB_PORT)
    assert response.startswith(b"HTTP/1.") and b" 200 " in response.split(b"\r\n")[0], response
    assert response.endswith(WEB_BODY.encode()), response


def test_container_log_file_is_under_var_log_pods(k, pods, node):
    """The kubelet keeps each container's log at /var/log/pods/<namespace>_<pod>_<uid>/
    <container>/0.log (a symlink to Docker's json-file log under dockershim, the CRI log file
    itself under containerd): the path log shippers read, on the node of the pod."""
    web, reader = pods("web", node), pods("log-reader", node)
    uid = k.running(web).metadata.uid
    k.running(reader)
    path = f"/host/var/log/pods/{k.ns}_{web}_{uid}/web/0.log"
    # A symlink's target is absolute on the node: follow it under /host ourselves.
    script = f'f={path}; t=$(readlink {path}) && case "$t" in /*) f=/host$t;; esac; cat "$f"'
    text = k.exec_ok(reader, ["sh", "-c", script])
    assert LOG_MARKER in text, f"{path} has no line {LOG_MARKER!r}: {text[:300]!r}"


def test_init_containers_run_in_order_before_the_app(k, pods, node):
    """Init containers run one after another to completion, in spec order, before any app
    container starts (pod lifecycle: init containers)."""
    name = pods("init", node)
    pod = k.running(name)
    assert k.logs(name).split() == ["init1", "init2", "app"]
    init1, init2 = (s.state.terminated for s in pod.status.init_container_statuses)
    app_started = pod.status.container_statuses[0].state.running.started_at
    assert init1.exit_code == init2.exit_code == 0
    assert init1.finished_at <= init2.started_at and init2.finished_at <= app_started


def test_restart_policy_never_leaves_a_failed_container_terminated(k, pods, node):
    """restartPolicy Never: the container that exited 3 is not restarted; the pod is Failed and
    the container's state is terminated with exitCode 3."""
    name = pods("restart-never", node)
    k.finished(name)
    time.sleep(2)  # a wrong restart would show within the kubelet's first backoff
    status = k.container_status(name, "main")
    assert k.pod(name).status.phase == "Failed"
    assert status.restart_count == 0, k.describe(name)
    assert status.state.terminated and status.state.terminated.exit_code == 3, k.describe(name)


def test_restart_policy_on_failure_restarts_a_failed_container(k, pods, node):
    """restartPolicy OnFailure: a container that exits non-zero is restarted in place
    (restartCount grows, lastState keeps the exit code)."""
    name = pods("restart-onfailure", node)
    status = restarted(k, name, "main")
    assert status.last_state.terminated.exit_code == 3, k.describe(name)


def test_restart_policy_always_restarts_a_container_that_exited_0(k, pods, node):
    """restartPolicy Always: even a container that exited 0 is restarted."""
    name = pods("restart-always", node)
    status = restarted(k, name, "main")
    assert status.last_state.terminated.exit_code == 0, k.describe(name)


def restarted(k, name: str, container: str):
    def probe():
        status = k.container_status(name, container) if k.pod(name).status.container_statuses \
            else None
        return status if status and status.restart_count >= 1 and status.last_state.terminated \
            else None
    return wait_until(f"{name}/{container} to be restarted", probe, k.deadline(name),
                      lambda: k.describe(name))


@pytest.mark.timeout(120)
def test_deletion_waits_the_termination_grace_period(k, pods, node):
    """On deletion the kubelet sends SIGTERM (the container logs it) and kills the container
    only after terminationGracePeriodSeconds: the pod goes after about the grace period, not
    at once and not after the 30 s default."""
    name = pods("graceful", node)
    k.running(name)
    wait_until(f"{name} to log its start", lambda: "started" in k.logs(name),
               k.deadline(name), lambda: k.describe(name))
    started = time.monotonic()
    k.delete_pod(name)
    wait_until(f"{name} to log SIGTERM", lambda: "got SIGTERM" in k.logs(name),
               started + GRACE_SECONDS, lambda: k.describe(name))
    wait_until(f"{name} to be deleted", lambda: k.gone(name), started + 30,
               lambda: k.describe(name))
    took = time.monotonic() - started
    assert GRACE_SECONDS - 1 <= took <= GRACE_SECONDS + 10, \
        f"deletion took {took:.1f}s with terminationGracePeriodSeconds {GRACE_SECONDS}"
