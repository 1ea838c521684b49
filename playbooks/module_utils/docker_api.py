"""The Docker Engine API over its unix socket, with the standard library only (nodes have no
Docker SDK): the playbooks' modules read Docker's state here instead of parsing CLI output."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
from urllib.parse import urlencode


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
    def __init__(self, docker_host: str = "unix:///run/docker.sock", timeout: float = 30):
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
