"""Opening a transport to an inventory node: the foundation's transports, with the node's own
known_hosts file when its provider pinned the host keys (the lab does, in vars.known_hosts)."""

from __future__ import annotations

from harness.inventory import Node
from harness.transport import Transport, transport_for


def open_transport(node: Node, **ssh_options) -> Transport:
    if node.vars.get("known_hosts"):
        ssh_options.setdefault("known_hosts", node.vars["known_hosts"])
    return transport_for(node, **ssh_options)
