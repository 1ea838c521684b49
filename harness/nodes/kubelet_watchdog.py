"""A watchdog on the node itself for the time its kubelet is stopped for a suite: a transient
systemd timer (`systemd-run --on-active`) that starts the kubelet again and, when the harness
cordoned the node, uncordons it, once the suite's budget is over. The harness disarms it on the
normal way out; if the harness dies, its SSH link drops or its machine is preempted, the node
brings its kubelet back by itself.

A leftover from a dead run is harmless: transient units fire once and are gone; firing late
starts a kubelet that runs already and uncordons a node the harness had cordoned; the next run
replaces a timer still armed before arming its own."""

from __future__ import annotations

import shlex
from pathlib import Path

from harness.errors import StepFailed
from harness.nodes import uncordon_self
from harness.transport.base import Transport

UNIT = "harness-kubelet-watchdog"
SCRIPT = "/var/lib/harness/uncordon_self.py"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"  # kubeadm's place, and the lab's


def arm(transport: Transport, node: str, seconds: int, uncordon: bool) -> None:
    """Start the kubelet (and uncordon `node`, with `uncordon`) in `seconds` from now."""
    transport.run(f"systemctl stop {UNIT}.timer {UNIT}.service; "
                  f"systemctl reset-failed {UNIT}.timer {UNIT}.service", timeout=60)
    action = "systemctl start kubelet"
    if uncordon:
        transport.run(["mkdir", "-p", str(Path(SCRIPT).parent)], timeout=30, check=True)
        transport.put(uncordon_self.__file__, SCRIPT, 0o644)
        action += f" && python3 {SCRIPT} {KUBELET_CONF} {shlex.quote(node)}"
    transport.run(["systemd-run", f"--unit={UNIT}", f"--on-active={seconds}",
                   # on time, and unloaded once fired (a timer stays "elapsed" by default)
                   "--timer-property=AccuracySec=1s", "--timer-property=RemainAfterElapse=no",
                   "--description=harness: the kubelet back after a suite", "/bin/sh", "-c",
                   action], timeout=60, check=True)


def disarm(transport: Transport, seconds: int) -> None:
    """Stop the timer; a timer no longer waiting has fired, i.e. the kubelet was started during
    the suite: a failure of this step."""
    state = transport.run(["systemctl", "show", "--property=SubState", "--value",
                           f"{UNIT}.timer"], timeout=30)
    if state.stdout.strip() != "waiting":
        raise StepFailed(f"node {transport.node_name}: the kubelet watchdog fired before the "
                         f"suite ended (budget {seconds} s)",
                         hint="raise the node's kubelet_watchdog_seconds")
    transport.run(["systemctl", "stop", f"{UNIT}.timer"], timeout=60, check=True)
