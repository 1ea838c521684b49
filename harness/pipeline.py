"""The main job, top-down: provision -> facts -> suites -> report.

Each step is a small function over explicit inputs; every step on every node is also a JUnit
testcase (suite "pipeline"), so a dashboard shows where a node stopped, not only which tests
failed. Preflight, migrate and verify join between facts and suites as the migration lands.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness import junit, paths, staging
from harness.errors import HarnessError
from harness.inventory import Inventory, Node
from harness.providers.base import Provider
from harness.providers.facts import NodeFacts, gather
from harness.providers.reach import open_transport
from harness.transport.base import Transport

SUITES = ("oci", "cri")


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    suites: tuple[str, ...] = ("oci",)
    suite_args: dict[str, tuple[str, ...]] = field(default_factory=dict)
    suite_timeout: float = 900.0


@dataclass(frozen=True)
class RunResult:
    summary: junit.Summary
    merged: Path

    @property
    def exit_code(self) -> int:
        return self.summary.exit_code()


def progress(node: str, message: str) -> None:
    print(f"[{node}] {message}", file=sys.stderr, flush=True)


def run(provider: Provider, opts: RunOptions) -> RunResult:
    junit_dir = opts.out_dir / "junit"
    _clear(junit_dir)
    try:
        inventory = provision(provider, junit_dir)
    except HarnessError as err:  # recorded in the pipeline suite; the report still gets written
        progress(provider.name, f"provisioning failed: {err}")
        return report(junit_dir, opts.out_dir / "junit.xml")
    bundle = staging.build_bundle(paths.cache_dir("stage")) if opts.suites else None
    with ThreadPoolExecutor(max_workers=max(1, len(inventory.nodes))) as pool:
        list(pool.map(lambda node: node_job(node, bundle, opts, junit_dir), inventory.nodes))
    return report(junit_dir, opts.out_dir / "junit.xml")


def provision(provider: Provider, junit_dir: Path) -> Inventory:
    """Bring the nodes up (or reach them); a failure is recorded for the whole run."""
    steps = junit.StepRecorder(provider.name, "pipeline")
    progress(provider.name, "provisioning")
    try:
        with steps.step("provision"):
            inventory = provider.up()
    finally:
        steps.write(junit_dir)
    progress(provider.name, f"{len(inventory.nodes)} node(s) up")
    return inventory


def node_job(node: Node, bundle: Path | None, opts: RunOptions, junit_dir: Path) -> None:
    """Everything done on one node; an unreachable node stops its own steps, not the others'."""
    steps = junit.StepRecorder(node.name, "pipeline", node.host)
    try:
        with _step(steps, node, "connect", lambda: connect(node)) as transport:
            facts = _step(steps, node, "facts", lambda: gather(transport))
            progress(node.name, describe(facts))
            if bundle is None:
                return
            stage = _step(steps, node, "stage", lambda: staging.stage(transport, bundle))
            for suite in opts.suites:
                with runtime_to_itself(transport, steps, node, suite):
                    _step(steps, node, f"suite {suite}",
                          lambda suite=suite: run_suite(transport, stage, node, suite, opts,
                                                        junit_dir))
    except HarnessError as err:
        progress(node.name, f"stopped: {err}")
    except Exception as err:  # a bug: its traceback is in the step's JUnit row, not on stderr
        progress(node.name, f"stopped by an unexpected {type(err).__name__}: {err}")
    finally:
        steps.write(junit_dir)


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


@contextmanager
def runtime_to_itself(transport: Transport, steps: junit.StepRecorder, node: Node, suite: str):
    """The CRI suite needs the runtime to itself, as critest does: a running kubelet kills the
    suite's sandboxes as pods it does not know. It is stopped for the suite (its pods keep
    running) and started again afterwards; nodes without a running kubelet are left alone."""
    if suite != "cri" or not transport.run("systemctl is-active --quiet kubelet",
                                           timeout=30).ok:
        yield
        return
    _step(steps, node, "stop kubelet for the CRI suite",
          lambda: transport.run("systemctl stop kubelet", timeout=120, check=True))
    try:
        yield
    finally:
        _step(steps, node, "start kubelet after the CRI suite",
              lambda: transport.run("systemctl start kubelet", timeout=120, check=True))


def run_suite(transport: Transport, stage: staging.Stage, node: Node, suite: str, opts: RunOptions,
              junit_dir: Path) -> None:
    """Run one suite on the node; its own JUnit carries the verdict, so this step passes when
    the suite ran at all (a test failure is not a pipeline failure twice over)."""
    raw = junit_dir / "raw" / f"{junit.identity(node.name)}-{suite}.xml"
    staging.run_suite(transport, stage, suite, raw, opts.suite_args.get(suite, ()),
                      opts.suite_timeout)
    junit.relabel_pytest_junit(raw, junit_dir, node.name, suite, node.host)


def describe(facts: NodeFacts) -> str:
    docker = f"docker {facts.docker_version}" if facts.docker_version else "no docker"
    oom = ", negative oom_score_adj refused" if facts.negative_oom_score_adj_refused else ""
    return (f"{facts.hostname}: kernel {facts.kernel}, cgroup v{facts.cgroup_version}, "
            f"{docker}{oom}")


def report(junit_dir: Path, merged: Path) -> RunResult:
    xml = junit.merge(junit.junit_files(junit_dir), merged)
    return RunResult(junit.verify(xml), merged)


def _clear(junit_dir: Path) -> None:
    """Results of an earlier run must not count in this one."""
    for old in junit_dir.glob("*.xml"):
        old.unlink()
