"""Several containers in one pod share its network namespace, and each keeps its own log and
exec (CRI v1: containers created in one PodSandbox)."""

import time

import pytest

pytestmark = pytest.mark.conformance


@pytest.fixture
def two_containers(pods, images, host_dir):
    """A pod with the web server and a busybox that logs a line; both logging to host_dir."""
    pod = pods("multi", log_directory=str(host_dir))
    web = pod.start("web", [], image=images["web"].ref, log_path="web.log")
    assert pod.wait_listening(web, 8080)
    shell = pod.start("shell", ["sh", "-c", "echo hello World; exec sleep 3600"],
                      log_path="shell.log")
    return pod, web, shell


def test_containers_share_the_pod_network(two_containers):
    """A container reaches its sibling's server at 127.0.0.1: one network namespace."""
    pod, _web, shell = two_containers
    reply = pod.sh(shell, "wget -qO- http://127.0.0.1:8080/")
    assert reply.stdout == b"harness web fixture\n"


def test_each_container_has_its_own_log(two_containers, host_dir):
    """Each container's output goes to its own log_path: the server logs the request it
    served, the shell its echo."""
    pod, _web, shell = two_containers
    pod.sh(shell, "wget -qO- http://127.0.0.1:8080/")
    web_log, shell_log = host_dir / "web.log", host_dir / "shell.log"
    _eventually(lambda: b"response:200" in web_log.read_bytes(), "the request in web.log")
    _eventually(lambda: b"hello World" in shell_log.read_bytes(), "the echo in shell.log")
    assert b"hello World" not in web_log.read_bytes()
    assert b"response:200" not in shell_log.read_bytes()


def _eventually(predicate, what, timeout=10.0):
    """Log lines are written by the runtime asynchronously: poll with a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout:g}s"
        time.sleep(0.05)


def test_exec_reaches_each_container(cri, two_containers):
    """ExecSync into each container of the pod runs in that container."""
    pod, web, shell = two_containers
    assert pod.sh(web, "test -f /www/index.html && echo web").stdout == b"web\n"
    assert pod.sh(shell, "test -f /www/index.html || echo shell").stdout == b"shell\n"
