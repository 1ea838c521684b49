"""Reaching nodes: one Transport interface, over a subprocess (local) or SSH (paramiko)."""

from harness.inventory import Node
from harness.transport.base import (
    AuthenticationError,
    CommandResult,
    HostKeyError,
    Transport,
    socket_path,
)
from harness.transport.local import LocalTransport
from harness.transport.ssh import SSHTransport


def transport_for(node: Node, **ssh_options) -> Transport:
    """The transport the node's `connection` asks for; `ssh_options` go to SSHTransport
    (known_hosts, trust_on_first_use, connect_timeout, connect_retries, ...)."""
    if node.connection == "local":
        return LocalTransport(node.name, become=node.become)
    return SSHTransport(node, **ssh_options)


__all__ = [
    "AuthenticationError", "CommandResult", "HostKeyError", "LocalTransport", "SSHTransport",
    "Transport", "socket_path", "transport_for",
]
