"""A host and its facts: each fact module's probe runs once, when the fact is first read, on
this machine (in process) or on a node over its transport (the module's own source fed to the
node's python3), and is kept as the module's typed record."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from functools import cache, cached_property
from types import ModuleType

from harness.errors import StepFailed
from harness.node import cgroups, devices, docker, oom, system
from harness.transport import Transport


@dataclass(frozen=True)
class NodeFacts:
    """The facts a step reads about a node, gathered at one moment."""

    system: system.SystemFacts
    cgroups: cgroups.CgroupHost
    oom: oom.OomFacts
    docker: docker.DockerFacts

    def describe(self) -> str:
        engine = f"docker {self.docker.version}" if self.docker.running else "no docker"
        refused = ", negative oom_score_adj refused" if self.oom.negative_refused else ""
        return (f"{self.system.hostname}: kernel {self.system.kernel}, "
                f"cgroup v{self.cgroups.version}, init {self.system.init}, {engine}{refused}")


class Host:
    """This machine (`transport` None) or the node behind `transport`."""

    def __init__(self, transport: Transport | None = None):
        self.transport = transport

    def _gather(self, fact: ModuleType):
        if self.transport is None:
            return fact.record(fact.probe())
        node = self.transport
        result = node.run(["python3", "-"], input=inspect.getsource(fact), timeout=60)
        if not result.ok:
            raise StepFailed(f"node {node.node_name}: probing {fact.__name__} failed "
                             f"(exit {result.exit_code})",
                             hint=result.stderr.strip()[-300:] or "is python3 on the node?")
        return fact.record(json.loads(result.stdout))

    @cached_property
    def system(self) -> system.SystemFacts:
        return self._gather(system)

    @cached_property
    def cgroups(self) -> cgroups.CgroupHost:
        return self._gather(cgroups)

    @cached_property
    def oom(self) -> oom.OomFacts:
        return self._gather(oom)

    @cached_property
    def docker(self) -> docker.DockerFacts:
        return self._gather(docker)

    @cached_property
    def devices(self) -> devices.DeviceFacts:
        return self._gather(devices)

    def node_facts(self) -> NodeFacts:
        return NodeFacts(self.system, self.cgroups, self.oom, self.docker)


def gather(node: Transport) -> NodeFacts:
    """The facts of the node behind `node`, read now (while its transport is open)."""
    return Host(node).node_facts()


@cache
def this_host() -> Host:
    """The machine this process runs on; each fact read once per process."""
    return Host()
