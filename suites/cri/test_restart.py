"""Runtime restart: kubelet expects pods and containers to survive a restart of the runtime
daemon (containerd keeps shims running and restores its state). Restarts the daemon, so it
runs only with --allow-runtime-restart, and not together with -n (other workers' calls would
see the restart)."""

import subprocess
import time

import pytest

from harness.cri.client import CriError
from harness.errors import HarnessError

pytestmark = pytest.mark.serial


def _snapshot(cri):
    containers, sandboxes = cri.leftovers(cri.labels())
    return ({(c.id, c.state) for c in containers}, {(s.id, s.state) for s in sandboxes})


def _wait_answering(cri, timeout=60.0):
    """Until Version answers: first the socket is gone (UNAVAILABLE), then containerd's CRI
    plugin says "server is not initialized yet" while it restores its state."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return cri.version()
        except (HarnessError, CriError):
            assert time.monotonic() < deadline, f"runtime not answering {timeout:g}s after restart"
            time.sleep(0.2)


def test_restart_keeps_sandboxes_and_containers(cri, pods, pytestconfig):
    """After the runtime daemon restarts, ListPodSandbox and ListContainers return the same
    objects in the same states, and a running container still executes commands."""
    if not pytestconfig.getoption("allow_runtime_restart"):
        pytest.skip("restarting the runtime needs --allow-runtime-restart "
                    "(and --runtime-restart-command if not `systemctl restart containerd`)")
    pod = pods("restart")
    running, exited = pod.start("running"), pod.start("exited")
    cri.stop_container(exited, timeout=1)
    stopped = pods("stopped")
    cri.stop_sandbox(stopped.id)
    before = _snapshot(cri)
    command = pytestconfig.getoption("runtime_restart_command")
    subprocess.run(command, shell=True, check=True, timeout=120, capture_output=True)
    _wait_answering(cri)
    assert _snapshot(cri) == before
    assert pod.sh(running, "echo alive").stdout == b"alive\n"
