"""Reaching nodes: one Transport interface, over a subprocess (local) or SSH (paramiko).

The SSH transport is imported when first asked for: suites staged onto a node import this
package for the interface alone, and nodes carry no paramiko."""

from harness.inventory import Node
from harness.transport.base import (
    AuthenticationError,
    CommandResult,
    HostKeyError,
    Transport,
)
from harness.transport.local import LocalTransport


def transport_for(node: Node, **ssh_options) -> Transport:
    """The transport the node's `connection` asks for; `ssh_options` go to SSHTransport
    (known_hosts, trust_on_first_use, connect_timeout, connect_retries, ...)."""
    if node.connection == "local":
        return LocalTransport(node.name, become=node.become)
    from harness.transport.ssh import SSHTransport

    return SSHTransport(node, **ssh_options)


def __getattr__(name: str):
    if name == "SSHTransport":
        from harness.transport.ssh import SSHTransport

        return SSHTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AuthenticationError", "CommandResult", "HostKeyError", "LocalTransport", "SSHTransport",
    "Transport", "transport_for",
]
