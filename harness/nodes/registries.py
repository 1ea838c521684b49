"""Registries of this machine, offered to inventory nodes for the suites' pull tests.

A node of a real inventory reaches nothing of ours by default, and its runtimes trust no
registry of ours. So each registry listens on this machine's 127.0.0.1:PORT, and every node's
sshd forwards that node's own 127.0.0.1:PORT back to it over the harness's SSH connection
(`ssh -R`): `127.0.0.1:PORT` is then one name for the registry everywhere. The smoke suite
pushes to it here and the kubelets pull from it there; the CRI suite pushes and pulls on the node.

* Plain HTTP (with basic auth) needs no runtime config: Docker and containerd speak HTTP to a
  registry on the loopback.
* TLS: the registry's CA is given to the node's runtimes for that one host, as an organisation
  hands out its private CA (Docker's certs.d; containerd's hosts.toml where it has a registry
  config_path), and removed again on the way out, from the runtime the node has by then.

A node reached on this machine's own loopback is this machine: it needs no forward. A node
that cannot be reached, or refuses the forward, is said so and passed over: its own steps and
the pull tests then fail on it, while the other nodes still get their registry.
"""

from __future__ import annotations

import ipaddress
import shlex
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from harness.daemons.registry import LISTEN_HOST, Registry, RegistryConfig, hosts_toml
from harness.errors import HarnessError
from harness.inventory import Node
from harness.paths import state_dir
from harness.progress import progress
from harness.transport import open_transport
from harness.transport.base import Transport

DOCKER_CERTS = "/etc/docker/certs.d"
# Where each node keeps the CA for the suite's own push: the same path on every node, on a
# tmpfs, so nothing of it outlives a reboot even if the harness dies before removing it.
CA_DIR = "/run/harness/registry-ca"
# containerd's registry config_path, in config version 2 and 3.
CONFIG_PATH_KEYS = (("io.containerd.grpc.v1.cri", "registry", "config_path"),
                    ("io.containerd.cri.v1.images", "registry", "config_path"))


@contextmanager
def serve(nodes: list[Node], config: RegistryConfig) -> Iterator[tuple[Registry, str | None]]:
    """The registry `config` describes (on this machine's loopback), offered to the nodes, and
    with TLS trusted by their runtimes; yields it and, with TLS, where the nodes keep its CA."""
    with Registry(config) as registry, offered(nodes, registry.port):
        if not config.tls:
            yield registry, None
            return
        with trusted(nodes, registry.host, Path(registry.ca).read_bytes()) as ca:
            yield registry, ca


def tls_config() -> RegistryConfig:
    """The TLS registry's, its directory kept so that its CA stays the same across runs."""
    return RegistryConfig(state_dir("tls-registry"), tls=True)


def is_this_machine(node: Node) -> bool:
    if node.connection == "local" or node.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(node.host).is_loopback
    except ValueError:
        return False


@contextmanager
def offered(nodes: list[Node], port: int) -> Iterator[None]:
    """Each node's 127.0.0.1:`port` leads to this machine's while the block runs."""
    with ExitStack() as stack:
        for node in nodes:
            if is_this_machine(node):
                continue
            try:
                transport = stack.enter_context(open_transport(node))
                stack.enter_context(transport.remote_forward(port, (LISTEN_HOST, port)))
            except HarnessError as err:
                progress(node.name, f"registry 127.0.0.1:{port} not offered: {err}")
        yield


@contextmanager
def trusted(nodes: list[Node], host: str, ca_pem: bytes) -> Iterator[str]:
    """The nodes' runtimes trust `ca_pem` for `host` (host:port) while the block runs; yields
    where every node keeps that CA (for the CRI suite's own push)."""
    ca_file = f"{CA_DIR}/{host}.crt"
    try:
        _on_each(nodes, "trust", lambda t: _install(t, host, ca_pem, ca_file))
        yield ca_file
    finally:
        _on_each(nodes, "remove the trust in", lambda t: _remove(t, host, ca_file))


def _on_each(nodes: list[Node], what: str, action) -> None:
    for node in nodes:
        try:
            with open_transport(node) as t:
                action(t)
        except HarnessError as err:
            progress(node.name, f"could not {what} the registry CA: {err}")


def _install(t: Transport, host: str, ca_pem: bytes, ca_file: str) -> None:
    files = {ca_file: ca_pem.decode()}
    if t.run("test -d /etc/docker", timeout=30).ok:
        files[f"{DOCKER_CERTS}/{host}/ca.crt"] = ca_pem.decode()
    config_path = containerd_config_path(t)
    if config_path:
        files[f"{config_path}/{host}/ca.crt"] = ca_pem.decode()
        files[f"{config_path}/{host}/hosts.toml"] = hosts_toml(
            f"https://{host}", f"{config_path}/{host}/ca.crt")
    for path, content in files.items():
        target = shlex.quote(path)
        t.run(f"mkdir -p \"$(dirname {target})\" && cat > {target}", input=content, timeout=30,
              check=True)


def _remove(t: Transport, host: str, ca_file: str) -> None:
    # The node's containerd may be another by now (a migration ran in between, and carried
    # Docker's certs.d entry over into its own config_path).
    paths = [ca_file, f"{DOCKER_CERTS}/{host}"]
    config_path = containerd_config_path(t)
    if config_path:
        paths.append(f"{config_path}/{host}")
    t.run(f"rm -rf {shlex.join(paths)}", timeout=30, check=True)


def containerd_config_path(t: Transport) -> str:
    """The registry config_path of the node's containerd ('' without containerd or without
    one: then its CRI takes no per-registry config without a restart)."""
    dumped = t.run("containerd config dump", timeout=60)
    if not dumped.ok:
        return ""
    try:
        plugins = tomllib.loads(dumped.stdout).get("plugins", {})
    except tomllib.TOMLDecodeError:
        return ""
    for keys in CONFIG_PATH_KEYS:
        value = plugins
        for key in keys:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if isinstance(value, str) and value:
            return value.split(":")[0]  # a list of directories: the first is where to write
    return ""
