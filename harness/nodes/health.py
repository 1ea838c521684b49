"""Is a node there: does it answer over its transport, and does its container runtime?"""

from __future__ import annotations

from harness.errors import HarnessError
from harness.inventory import Node
from harness.transport import open_transport

# The node's container runtime: Docker while it is enabled, containerd once migrated.
RUNTIME_CHECK = ("if systemctl is-enabled --quiet docker.service; "
                 "then docker info --format '{{.ServerVersion}}'; else ctr version; fi")


def check_node(node: Node) -> tuple[bool, bool]:
    """(SSH answers, the container runtime answers) for one node, looked at now with short
    timeouts."""
    try:
        with open_transport(node, connect_timeout=5, connect_retries=0) as t:
            if not t.run("true", timeout=15).ok:
                return False, False
            return True, t.run(RUNTIME_CHECK, timeout=30).ok
    except HarnessError:
        return False, False
