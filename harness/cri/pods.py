"""Pods and containers for suites, composed from CRI messages with the defaults tests share.

A `PodFactory` runs sandboxes (with the suite's runtime handler); a `Pod` creates, starts and
inspects its containers. Cleanup is not here: every object carries the client's labels, and the
suite removes by label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.cri.client import CriClient


@dataclass
class Pod:
    cri: CriClient
    id: str
    config: object  # PodSandboxConfig
    image: str  # the default container image

    @property
    def pb(self):
        return self.cri.pb

    def status(self):
        return self.cri.sandbox_status(self.id).status

    @property
    def ip(self) -> str:
        return self.status().network.ip

    def create(
        self,
        name: str,
        command=("sleep", "3600"),
        *,
        image: str | None = None,
        security: dict | None = None,
        resources: dict | None = None,
        **config,
    ) -> str:
        """CreateContainer; `security` and `resources` are LinuxContainerSecurityContext and
        LinuxContainerResources fields, the rest ContainerConfig fields via the client."""
        linux = self.pb.LinuxContainerConfig(
            security_context=self.pb.LinuxContainerSecurityContext(**(security or {})),
            resources=self.pb.LinuxContainerResources(**(resources or {})) if resources else None,
        )
        cfg = self.cri.container_config(name, image or self.image, command, linux=linux, **config)
        return self.cri.create_container(self.id, cfg, self.config)

    def start(self, name: str, command=("sleep", "3600"), **kw) -> str:
        """Create and start; returns the container id once StartContainer returned."""
        container_id = self.create(name, command, **kw)
        self.cri.start_container(container_id)
        return container_id

    def run(self, name: str, command, timeout: float = 30.0, **kw):
        """Create, start and wait until the container exited; returns its ContainerStatus."""
        container_id = self.start(name, command, **kw)
        return self.cri.wait_container_state(container_id, self.pb.CONTAINER_EXITED, timeout)

    def pid(self, container_id: str) -> int | None:
        """The host pid of the container's own (first) process from verbose ContainerStatus
        info (containerd reports `pid` there), or None where the runtime does not."""
        reply = self.cri.call("ContainerStatus", self.pb.ContainerStatusRequest(
            container_id=container_id, verbose=True))
        return json.loads(reply.info.get("info", "{}")).get("pid") or None

    def sh(self, container_id: str, script: str, timeout: int = 0):
        """ExecSync `sh -c script`; returns the ExecSyncResponse (stdout, stderr, exit_code)."""
        return self.cri.exec_sync(container_id, ["sh", "-c", script], timeout=timeout)

    def wait_listening(self, container_id: str, port: int, seconds: int = 10) -> bool:
        """True once a TCP socket listens on `port` in the container's network namespace."""
        script = (f"for i in $(seq {seconds * 20}); do netstat -ltn | grep -q ':{port} ' "
                  "&& exit 0; sleep 0.05; done; exit 1")
        return self.sh(container_id, script).exit_code == 0


@dataclass
class PodFactory:
    cri: CriClient
    image: str
    runtime_handler: str = ""
    cgroup_parent: str = ""

    def config(
        self,
        name: str = "pod",
        *,
        security: dict | None = None,
        sysctls=None,
        cgroup_parent: str | None = None,
        **kw,
    ):
        """A PodSandboxConfig; `security` are LinuxSandboxSecurityContext fields."""
        pb = self.cri.pb
        linux = pb.LinuxPodSandboxConfig(
            cgroup_parent=self.cgroup_parent if cgroup_parent is None else cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(**(security or {})),
            sysctls=sysctls or {},
        )
        return self.cri.sandbox_config(name, linux=linux, **kw)

    def run_config(self, config) -> Pod:
        sandbox_id = self.cri.run_sandbox(config, runtime_handler=self.runtime_handler)
        return Pod(self.cri, sandbox_id, config, self.image)

    def __call__(self, name: str = "pod", **kw) -> Pod:
        return self.run_config(self.config(name, **kw))
