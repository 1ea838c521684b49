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


def open_transport(node: Node, **ssh_options) -> Transport:
    """The transport the node's `connection` asks for; `ssh_options` go to SSHTransport
    (known_hosts, trust_on_first_use, connect_timeout, connect_retries, ...). A node whose
    provider pinned its host keys (the lab does, in vars.known_hosts) is checked against that
    file unless `known_hosts` is given."""
    if node.connection == "local":
        return LocalTransport(node.name, become=node.become)
    from harness.transport.ssh import SSHTransport

    if node.vars.get("known_hosts"):
        ssh_options.setdefault("known_hosts", node.vars["known_hosts"])
    return SSHTransport(node, **ssh_options)


def __getattr__(name: str):
    if name == "SSHTransport":
        from harness.transport.ssh import SSHTransport

        return SSHTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AuthenticationError", "CommandResult", "HostKeyError", "LocalTransport", "SSHTransport",
    "Transport", "open_transport",
]
