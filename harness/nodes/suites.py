"""Running the conformance suites on nodes: the one way `harness run` and `harness conformance
--inventory` both use. Per node: connect, gather facts, stage the suites (harness.staging), run
each suite there with pytest, bring its JUnit back relabelled for the node. Every step is a row
of the node's step recorder, so a dashboard shows where a node stopped; an unreachable node
stops its own steps, not the others'. At most `forks` nodes are worked on at once.

The suites run on the node, never over a forwarded socket: their checks read the node's
cgroupfs, /proc and host paths, the streaming URLs (exec, attach, port-forward) point at the
node's loopback, and a runtime restart must restart the node's runtime, not this machine's.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness import junit, paths
from harness.errors import HarnessError, InputError
from harness.facts import NodeFacts, gather
from harness.gate_policy import GatePolicy
from harness.inventory import Node
from harness.nodes import kubelet_watchdog, staging
from harness.progress import progress
from harness.transport import open_transport
from harness.transport.base import Transport

DEFAULT_FORKS = 5  # as Ansible's


class Drainer(Protocol):
    def drain(self, node: Node) -> bool:
        """Cordon and drain; True when this cordoned the node."""

    def uncordon(self, node: Node) -> None: ...


@dataclass(frozen=True)
class SuiteRun:
    """Which suites to run on each node, and how."""

    suites: tuple[str, ...]
    junit_dir: Path
    suite_args: dict[str, tuple[str, ...]] = field(default_factory=dict)
    timeout: float = 900.0
    forks: int = DEFAULT_FORKS
    # A node whose kubelet is stopped for the CRI suite is cordoned and drained through this
    # first, and uncordoned afterwards (harness.migration.drain; None: no cluster to drain through).
    drainer: Drainer | None = None
    # Stop the kubelet without draining: the node's pods stay, unmanaged, for the suite's time.
    live_node: bool = False
    # Suites that restart the runtime: with live_node, only on a node whose kubelet is stopped
    # or that is cordoned (`cordoned` answers for a node name; None: no cluster to ask).
    disruptive: bool = False
    cordoned: Callable[[str], bool] | None = None
    keep_images: bool = False  # leave the fixture images the CRI suite imported on the node
    policy: GatePolicy = GatePolicy()  # its suite_args go to every suite (strict skips)
    # (host:port, the CA's path on the nodes) of a registry over HTTPS that the nodes' runtimes
    # trust, for the CRI suite's TLS pull (harness.nodes.registries); None: that test skips.
    tls_registry: tuple[str, str] | None = None


def run_on_nodes(nodes: list[Node], spec: SuiteRun,
                 recorders: dict[str, junit.StepRecorder]) -> None:
    """Run `spec` on every node, at most spec.forks at a time; steps go to recorders[name]."""
    if spec.forks < 1:
        raise InputError(f"--forks {spec.forks}: must be at least 1")
    bundle = staging.build_bundle(paths.cache_dir("stage"))
    with ThreadPoolExecutor(max_workers=min(spec.forks, max(1, len(nodes)))) as pool:
        list(pool.map(lambda node: node_job(node, bundle, spec, recorders[node.name]), nodes))


def node_job(node: Node, bundle: Path, spec: SuiteRun, steps: junit.StepRecorder) -> None:
    try:
        with _step(steps, node, "connect", lambda: connect(node)) as transport:
            facts = _step(steps, node, "facts", lambda: gather(transport))
            progress(node.name, facts.describe())
            steps.facts.update(fact_properties(facts))
            if spec.disruptive and spec.live_node:  # else the node is drained for it
                _step(steps, node, "node may be disrupted",
                      lambda: check_disruptable(transport, node, spec.cordoned))
            stage = _step(steps, node, "stage", lambda: staging.stage(transport, bundle))
            for suite in spec.suites:
                with runtime_to_itself(transport, steps, node, suite, spec), \
                        imports_removed(transport, steps, node, suite, spec.keep_images):
                    _step(steps, node, f"suite {suite}",
                          lambda suite=suite: run_suite(transport, stage, node, suite, spec))
    except HarnessError as err:
        progress(node.name, f"stopped: {err}")
    except Exception as err:  # a bug: its traceback is in the step's JUnit row, not on stderr
        progress(node.name, f"stopped by an unexpected {type(err).__name__}: {err}")


def connect(node: Node) -> Transport:
    """An open transport to the node, proven by running `true` there."""
    transport = open_transport(node)
    try:
        transport.run("true", timeout=60, check=True)
    except BaseException:
        transport.close()
        raise
    return transport


def _step(steps: junit.StepRecorder, node: Node, name: str, action: Callable):
    progress(node.name, f"{name} ...")
    with steps.step(name):
        result = action()
    progress(node.name, f"{name} done")
    return result


# Started, and answering its health check, before the node is handed to the next phase.
KUBELET_START = ("systemctl start kubelet && for _ in $(seq 60); do python3 -c \"import "
                 "urllib.request; urllib.request.urlopen('http://127.0.0.1:10248/healthz', "
                 "timeout=2)\" 2>/dev/null && exit 0; sleep 1; done; "
                 "echo 'kubelet not healthy 60 s after its start' >&2; exit 1")


def kubelet_active(transport: Transport) -> bool:
    return transport.run("systemctl is-active --quiet kubelet", timeout=30).ok


def check_disruptable(transport: Transport, node: Node,
                      cordoned: Callable[[str], bool] | None) -> None:
    """A runtime restart under a node's workloads is an outage: refused unless the node runs no
    kubelet or is cordoned (drained, as `kubectl drain` leaves it)."""
    if not kubelet_active(transport) or (cordoned is not None and cordoned(node.name)):
        return
    raise InputError(f"node {node.name}: the kubelet runs and the node is not cordoned; the "
                     "restart check would restart containerd under its pods",
                     hint=f"drain it first (kubectl drain {node.name} --ignore-daemonsets)")


@contextmanager
def runtime_to_itself(transport: Transport, steps: junit.StepRecorder, node: Node, suite: str,
                      spec: SuiteRun):
    """The CRI suite needs the runtime to itself, as critest does: a running kubelet kills the
    suite's sandboxes as pods it does not know. So the node is cordoned and drained (unless
    spec.live_node), a watchdog is armed on the node (harness.nodes.kubelet_watchdog), the
    kubelet is stopped for the suite and started again afterwards, the node uncordoned and the
    watchdog disarmed. Where the kubelet does not come back, the node stays cordoned and the
    watchdog armed: it tries again when its budget is over. Nodes without a running kubelet
    are left alone."""
    if suite != "cri" or not kubelet_active(transport):
        yield
        return
    cordoned = not spec.live_node and _step(steps, node, "cordon and drain for the CRI suite",
                                            lambda: drain_for_suite(node, spec))
    budget = watchdog_seconds(node, spec.timeout)
    armed = restarted = False
    try:
        _step(steps, node, f"arm the kubelet watchdog for the CRI suite ({budget} s)",
              lambda: kubelet_watchdog.arm(transport, node.name, budget, uncordon=cordoned))
        armed = True
        _step(steps, node, "stop kubelet for the CRI suite",
              lambda: transport.run("systemctl stop kubelet", timeout=120, check=True))
        try:
            yield
        finally:
            _step(steps, node, "start kubelet after the CRI suite",
                  lambda: transport.run(KUBELET_START, timeout=120, check=True))
            restarted = True
    finally:
        if restarted or not armed:
            try:
                if cordoned:
                    _step(steps, node, "uncordon after the CRI suite",
                          lambda: spec.drainer.uncordon(node))
            finally:
                if armed:
                    _step(steps, node, "disarm the kubelet watchdog after the CRI suite",
                          lambda: kubelet_watchdog.disarm(transport, budget))


# Beyond the suite's own timeout: the kubelet's start and the uncordon after it.
WATCHDOG_SLACK = 300


def check_budgets(nodes: list[Node], suite_timeout: float) -> None:
    """Every node's watchdog budget, read before any node is touched: a bad one is an input
    error."""
    for node in nodes:
        watchdog_seconds(node, suite_timeout)


def watchdog_seconds(node: Node, suite_timeout: float) -> int:
    """When the node's watchdog brings its kubelet back: the inventory's
    kubelet_watchdog_seconds for the node, else the suite's timeout and some slack."""
    value = node.vars.get("kubelet_watchdog_seconds", int(suite_timeout) + WATCHDOG_SLACK)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"inventory node {node.name}: vars.kubelet_watchdog_seconds "
                         f"{value!r}: not a whole number of seconds above 0",
                         hint="give it as e.g. 1200, longer than the suite runs")
    return value


def drain_for_suite(node: Node, spec: SuiteRun) -> bool:
    """Cordon and drain the node; True when this cordoned it (it was schedulable before)."""
    if spec.drainer is None:
        raise InputError(f"node {node.name}: its kubelet runs and the inventory names no "
                         "cluster (cluster.kubeconfig) to drain it through before the kubelet "
                         "is stopped for the CRI suite",
                         hint="add the cluster's kubeconfig, or pass --live-node to run the "
                         "suite beside the node's pods")
    return spec.drainer.drain(node)


FIXTURE_REPOSITORY = "harness.local/"  # every fixture image's ref starts so


def _ctr(node: Node) -> str:
    socket = (node.cri_endpoint or "").removeprefix("unix://") or "/run/containerd/containerd.sock"
    return f"ctr --address {shlex.quote(socket)} --namespace k8s.io"


@contextmanager
def imports_removed(transport: Transport, steps: junit.StepRecorder, node: Node, suite: str,
                    keep: bool):
    """The CRI suite imports the fixture images it runs into the node's runtime; those that
    were not there before are removed afterwards (the node's own, such as images a migration
    copied from Docker, stay), unless asked to keep them."""
    listing = f"{_ctr(node)} images ls -q"
    before = transport.run(listing, timeout=60) if suite == "cri" and not keep else None
    try:
        yield
    finally:
        if before is not None and before.ok:
            after = transport.run(listing, timeout=60)
            new = sorted(set(after.stdout.split()) - set(before.stdout.split()))
            ours = [ref for ref in new if ref.startswith(FIXTURE_REPOSITORY)]
            if ours:
                _step(steps, node, "remove the fixture images the CRI suite imported",
                      lambda: transport.run(f"{_ctr(node)} images rm {shlex.join(ours)}",
                                            timeout=120, check=True))


def run_suite(transport: Transport, stage: staging.Stage, node: Node, suite: str,
              spec: SuiteRun) -> None:
    """Run one suite on the node; its own JUnit carries the verdict, so this step passes when
    the suite ran at all (a test failure is not a step failure twice over)."""
    raw = spec.junit_dir / "raw" / f"{junit.identity(node.name)}-{suite}.xml"
    extra = list(spec.suite_args.get(suite, ()))
    if suite == "cri" and node.cri_endpoint:
        extra[:0] = ["--cri-endpoint", node.cri_endpoint]
    if suite == "cri" and spec.tls_registry:
        extra[:0] = ["--tls-registry", spec.tls_registry[0], "--tls-registry-ca",
                     spec.tls_registry[1]]
    staging.run_suite(transport, stage, suite, raw, spec.policy, extra, spec.timeout)
    junit.relabel_pytest_junit(raw, spec.junit_dir, node.name, suite, node.host)


def fact_properties(facts: NodeFacts) -> dict[str, str]:
    """The facts a reader of the report compares between nodes, as JUnit properties."""
    found = {"kernel": facts.system.kernel, "cgroup": f"v{facts.cgroups.version}",
             "docker": facts.docker.version}
    return {name: value for name, value in found.items() if value}
