"""Containers for tests: bundles that share one read-only rootfs, created under a private
runtime root and always deleted afterwards."""

from __future__ import annotations

import array
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessTimeout
from harness.oci.bundle import Bundle, Spec, write_bundle
from harness.oci.runtime import ContainerState, OciRuntime


def status_field(text: str, name: str) -> str:
    """A field of /proc/<pid>/status as printed by the container."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise AssertionError(f"{name} not in /proc/self/status output: {text!r}")


@dataclass
class Container:
    id: str
    bundle: Bundle
    runtime: OciRuntime

    def state(self) -> ContainerState:
        return self.runtime.state(self.id)

    def start(self) -> None:
        self.runtime.start(self.id)

    def wait(self, *statuses: str, timeout: float = 30.0) -> ContainerState:
        return self.runtime.wait_status(self.id, statuses, timeout)

    def wait_output(self, text: str, timeout: float = 30.0) -> str:
        """Poll the container's stdout until it contains `text` (e.g. a readiness line)."""
        deadline = time.monotonic() + timeout
        while text not in self.bundle.stdout:
            if time.monotonic() > deadline:
                raise HarnessTimeout(f"container {self.id} never printed {text!r}")
            time.sleep(0.02)
        return self.bundle.stdout


@dataclass
class ContainerFactory:
    """Makes specs rooted at `rootfs`, writes bundles under `workdir`, and removes every
    container it created on `cleanup()`."""

    runtime: OciRuntime
    rootfs: Path
    workdir: Path
    created: list[str] = field(default_factory=list)

    def spec(self, script: str | None = None, **overrides) -> Spec:
        """The default spec on the shared rootfs, its process running `sh -c SCRIPT` if given."""
        spec = Spec(**{"root_path": str(self.rootfs), **overrides})
        if script is not None and spec.process is not None:
            spec.process.args = ["sh", "-c", script]
        return spec

    def bundle(self, spec: Spec) -> Bundle:
        return write_bundle(Path(self.workdir) / f"bundle-{secrets.token_hex(4)}", spec)

    def new_id(self) -> str:
        return f"ho-{secrets.token_hex(5)}"

    def create(self, spec: Spec, container_id: str | None = None, **kwargs) -> Container:
        container = Container(container_id or self.new_id(), self.bundle(spec), self.runtime)
        self.created.append(container.id)
        self.runtime.create(container.id, container.bundle.path, **kwargs)
        return container

    def run(self, spec: Spec, timeout: float = 30.0) -> str:
        """create, start, wait until stopped, delete; returns what the process printed."""
        container = self.create(spec)
        container.start()
        container.wait("stopped", timeout=timeout)
        self.runtime.delete(container.id)
        return container.bundle.stdout

    def cleanup(self) -> None:
        for container_id in self.created:
            self.runtime.remove(container_id)
        self.created.clear()


class ConsoleSocket:
    """The receiving end of `create --console-socket`: the runtime sends the pty master fd
    over this unix socket (SCM_RIGHTS)."""

    def __init__(self, path: Path):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.server.settimeout(10)

    def receive_master(self) -> int:
        conn, _ = self.server.accept()
        with conn:
            fds = array.array("i")
            _, ancdata, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[: fds.itemsize])
        if not fds:
            raise HarnessTimeout("the runtime connected to the console socket but sent no fd")
        return fds[0]

    def close(self) -> None:
        self.server.close()
        if self.path.exists():
            os.unlink(self.path)
