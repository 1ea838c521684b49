"""Docker Engine as a node runs it, read from its API over the unix socket with the standard
library only (nodes have no Docker SDK, and CLI output is not an interface): `DockerAPI` for the
playbooks' modules (node_runtime_facts, docker_images_to_containerd), and the fact the harness
probes (version, cgroup driver, runtimes; absent, all None, where Docker does not answer).

Node-side (see harness_node): standard library only; the source is the probe run on a node."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlencode

DEFAULT_HOST = "unix:///run/docker.sock"


class DockerUnavailable(Exception):
    """Docker's socket is missing or does not answer."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("docker", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class DockerAPI:
    def __init__(self, docker_host: str = DEFAULT_HOST, timeout: float = 30):
        self.path = re.sub("^unix://", "", docker_host)
        self.timeout = timeout

    def request(self, method: str, path: str, query: list[tuple[str, str]] | None = None,
                timeout: float | None = None) -> http.client.HTTPResponse:
        """The open response (read it, or stream it); DockerUnavailable on a socket error."""
        url = path + ("?" + urlencode(query) if query else "")
        conn = _UnixConnection(self.path, self.timeout if timeout is None else timeout)
        try:
            conn.request(method, url)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise DockerUnavailable(f"Docker at {self.path}: {err}") from None
        if response.status >= 400:
            body = response.read().decode(errors="replace").strip()
            conn.close()
            with contextlib.suppress(ValueError, KeyError, TypeError):
                body = json.loads(body)["message"]
            raise DockerUnavailable(f"Docker answered HTTP {response.status}: {body}")
        return response

    def get_json(self, path: str, query: list[tuple[str, str]] | None = None):
        with self.request("GET", path, query) as response:
            return json.loads(response.read())


@dataclass(frozen=True)
class DockerFacts:
    version: str | None = None
    cgroup_driver: str | None = None  # what dockerd is configured with, as it reports it
    default_runtime: str | None = None
    runtimes: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.version is not None


def from_info(info: dict) -> dict:
    """The fact's fields from the API's /info (node_runtime_facts reads the same ones)."""
    return {"version": info.get("ServerVersion"), "cgroup_driver": info.get("CgroupDriver"),
            "default_runtime": info.get("DefaultRuntime"),
            "runtimes": sorted(info.get("Runtimes") or {})}


def probe() -> dict:
    """The Docker that DOCKER_HOST names (a unix socket), else the default socket's."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    try:
        return from_info(DockerAPI(host, timeout=20).get_json("/info"))
    except DockerUnavailable:
        return {}


def record(raw: dict) -> DockerFacts:
    return DockerFacts(**{**raw, "runtimes": tuple(raw.get("runtimes", ()))})


if __name__ == "__main__":
    print(json.dumps(probe()))
