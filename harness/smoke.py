"""Run the workload smoke suite (suites/smoke) against a cluster and compare two runs.

The suite talks to the Kubernetes API only, so it runs on this machine, not staged onto a node.
Its per-node tests carry the Node's name as their parameter id (`test_x[worker-1]`); the JUnit
is split on that id into one suite per node (cluster-wide tests go to the CLUSTER row), so a
dashboard shows the smoke results next to the node's migration steps. Two runs of the same suite
(before and after the migration, after an upgrade) are compared test by test: a test that passed
before and fails after is a regression of what happened in between.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from junitparser import Error, Failure, Skipped

from harness import junit, suite_command
from harness.errors import HarnessTimeout, StepFailed
from harness.gate_policy import GatePolicy

CLUSTER = "cluster"  # the JUnit "node" of cluster-wide tests


@dataclass(frozen=True)
class Registry:
    """A registry the suite may push to and pull from with imagePullSecrets."""

    address: str  # host:port, as the nodes reach it
    user: str
    password: str


@dataclass(frozen=True)
class SmokeRun:
    label: str  # the JUnit suite name: smoke-before, smoke-after, ...
    files: dict[str, Path]  # node (or CLUSTER) -> its JUnit file
    exit_code: int  # pytest's

    def failed_nodes(self, ran_on: list[str]) -> list[str]:
        """Nodes with a failing or erroring test of their own."""
        bad = {node for (node, _), result in self.outcomes().items()
               if result in ("failed", "error")}
        return [n for n in ran_on if n in bad]

    def outcomes(self) -> dict[tuple[str, str], str]:
        """(node, test name) -> passed | failed | error | skipped."""
        found = {}
        for node, path in self.files.items():
            for suite in junit.read(path):
                for case in suite:
                    found[(node, case.name)] = outcome(case)
        return found


def outcome(case) -> str:
    kinds = {Failure: "failed", Error: "error", Skipped: "skipped"}
    return next((kinds[type(r)] for r in case.result if type(r) in kinds), "passed")


def run(kubeconfig: Path, junit_dir: Path, label: str, hosts: dict[str, str],
        policy: GatePolicy, registry: Registry | None = None, extra: tuple[str, ...] = (),
        timeout: float = 900) -> SmokeRun:
    """Run suites/smoke with `kubeconfig` under `policy` (its skips strict); JUnit per node of
    `hosts` (name -> address) goes to `junit_dir` as suite `label`."""
    raw = junit_dir / "raw" / f"{label}.xml"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.unlink(missing_ok=True)
    argv = suite_command.argv("smoke", raw, policy, (f"--kubeconfig={kubeconfig}", *extra))
    env = dict(os.environ)
    if registry is not None:
        argv.append(f"--registry={registry.address}")
        env.update(HARNESS_SMOKE_REGISTRY_USER=registry.user,
                   HARNESS_SMOKE_REGISTRY_PASSWORD=registry.password)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as err:
        raise HarnessTimeout(f"suites/smoke did not finish within {timeout:.0f}s",
                             hint="see the cluster's events; raise --suite-timeout") from err
    if not raw.is_file() or not raw.stat().st_size:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise StepFailed(f"suites/smoke wrote no JUnit (exit {done.returncode})",
                         hint=" | ".join(tail) or "no output")
    files = junit.split_pytest_junit_by_node(raw, junit_dir, label, hosts, CLUSTER)
    for node in hosts.keys() - files.keys():  # the suite only targets Ready, schedulable nodes
        case = junit.CaseResult(f"{label} on {node}", "error",
                                message=f"no smoke test ran on node {node}",
                                detail="the suite runs its per-node tests on every Ready, "
                                "schedulable Node; this one was neither")
        files[node] = junit.write_suite(junit_dir, node, label, [case], hosts[node])
    return SmokeRun(label, files, done.returncode)


def regressions(before: SmokeRun, after: SmokeRun) -> dict[str, list[str]]:
    """Per node (or CLUSTER): the tests that passed in `before` and fail or error in `after`."""
    was = before.outcomes()
    found: dict[str, list[str]] = {}
    for (node, test), now in after.outcomes().items():
        if was.get((node, test)) == "passed" and now in ("failed", "error"):
            found.setdefault(node, []).append(test)
    return found


def write_regressions(junit_dir: Path, before: SmokeRun, after: SmokeRun,
                      hosts: dict[str, str]) -> dict[str, list[str]]:
    """One row per node: no test that passed in `before` fails in `after`."""
    found = regressions(before, after)
    name = f"no regressions from {before.label} to {after.label}"
    for node in after.files:
        tests = found.get(node, [])
        case = junit.CaseResult(name, "failed" if tests else "passed",
                                message=f"passed in {before.label}, failing in {after.label}: "
                                f"{', '.join(tests)}" if tests else "")
        junit.write_suite(junit_dir, node, f"{after.label} regressions", [case], hosts.get(node))
    return found
