"""A run's outputs without a lab: the pipeline's own Gate drives the phases on two nodes
(one with a dot in its name), and each phase's JUnit comes from the harness's own writers —
the playbook runner's per-task rows and node artifacts, real `pytest --junitxml` runs split and
relabelled per node as the smoke and node suites are, the smoke comparison — and the pipeline's
report step writes junit.xml and report.html. One node fails verify with a message carrying
markup, so its suites are blocked, and regresses in the smoke run after."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import junit, pipeline, smoke
from harness.inventory import Inventory, Node
from harness.migration import runner

NODES = ("worker-1", "worker.2")
BROKEN = "worker.2"
INJECTION = "<script>document.title='owned'</script>"
VERIFY_FAILURE = f"containerd is not the kubelet's runtime {INJECTION}"
CHOSEN = ("preflight", "smoke-before", "migrate", "verify", "cri", "oci", "smoke-after")
VERSIONS = {"runtime before": "docker://20.10.24", "runtime after": "containerd://1.6.20",
            "kubelet before": "v1.23.17", "kubelet after": "v1.23.17"}

SMOKE_TESTS = """
import os

import pytest

NODES = os.environ["REPORT_NODES"].split(",")


@pytest.mark.parametrize("node", NODES)
def test_pod_runs_on_node(node):
    pass


@pytest.mark.parametrize("node", NODES)
def test_private_image_pulls(node):
    broken = os.environ.get("REPORT_BROKEN", "").split(",")
    assert node not in broken, f"pull of registry.local/app failed on {node}"


def test_cluster_dns_resolves():
    pass
"""

SUITE_TESTS = """
import time


def test_runtime_status_ready(record_testsuite_property):
    record_testsuite_property("not_found_answer", "StopContainer: NOT_FOUND")  # as suites/cri
    time.sleep(0.3)


def test_version_answers():
    pass
"""


def junit_of_pytest(test_file: Path, raw: Path, env: dict[str, str] | None = None) -> Path:
    """Run a pytest file as the smoke and node suites run: --junitxml into `raw`."""
    raw.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pytest", str(test_file), "-q", "-p",
                    "no:cacheprovider", f"--junitxml={raw}"], capture_output=True, text=True,
                   timeout=120, env={**os.environ, **(env or {})}, cwd=test_file.parent)
    assert raw.is_file(), f"pytest wrote no {raw}"
    return raw


# What preflight's node_runtime_facts and the migration's docker_images_to_containerd return
# (their documented keys), as a lab node's run gave them.
FINDINGS = [
    {"id": "daemon-json:exec-opts", "severity": "info",
     "message": "/etc/docker/daemon.json exec-opts -> containerd SystemdCgroup"},
    {"id": "daemon-json:bip", "severity": "warning",
     "message": "/etc/docker/daemon.json bip is not carried over: <pods get the CNI's network>"},
]
IMAGE_COPY = {"copied": [{"id": "sha256:45e8", "refs": ["harness.local/web:1.0"], "size": 1985705},
                         {"id": "sha256:09a7", "refs": ["harness.local/busybox:1.0"],
                          "size": 1985685}],
              "present": [{"id": "sha256:6270", "refs": ["harness.local/pause:3.9"]}],
              "failed_images": [], "dangling": [], "bytes": 2871296, "seconds": 0.54,
              "pinned": ["harness.local/pause:3.9"]}
# Preflight's other readers: k8s_node (pods reaching Docker) and k8s_drain (budgets refusing).
API = {"docker_dependents": ["default/agent (/var/run/docker.sock)"], "runtime_classes": {},
       "pod_runtime_classes": []}
DRAIN = {"blocked": ["default/db-0 (budget db)"]}
CARRY_OVER = [
    {"source": "/etc/docker/daemon.json", "item": "runtimes.nvidia", "fate": "translated",
     "detail": "containerd runtime handler nvidia (io.containerd.runc.v2)"},
    {"source": "/etc/docker/daemon.json", "item": "data-root", "fate": "dropped",
     "detail": "containerd keeps its own root | move it by hand"},
    {"source": "kubelet", "item": "--node-ip", "fate": "kept", "detail": "unchanged"},
]
# The delta after the drain: nothing changed in Docker since staging.
DELTA = {"copied": [], "present": IMAGE_COPY["copied"] + IMAGE_COPY["present"],
         "failed_images": [], "dangling": [], "bytes": 0, "seconds": 0.21, "pinned": []}
# Each phase's results, as tasks in order (preflight's readers in one).
RESULTS = {"preflight": [("gather state", {"findings": FINDINGS, "carry_over": CARRY_OVER,
                                           **API, **DRAIN})],
           "migrate": [("stage images", IMAGE_COPY),
                       ("drain", {"cordoned": True, "evicted": [], "left": []}),
                       ("copy what changed since", DELTA)]}


def playbook(out: Path, phase: str, nodes: list[str], failing: dict[str, str],
             hosts: dict[str, str]) -> pipeline.PhaseResult:
    """A playbook phase's results through the runner's writers: a few tasks per node, the
    `failing` nodes failing the last with that message."""
    tasks = []
    for node in nodes:
        tasks += [runner.TaskResult(node, f"{phase}: {name}", "ok", 0.4, result)
                  for name, result in RESULTS.get(phase, [("gather state", {"changed": False})])]
        tasks.append(runner.TaskResult(node, f"{phase}: optional step", "skipped", 0.0,
                                       {"skip_reason": "Conditional result was False"}))
        if node in failing:
            tasks.append(runner.TaskResult(node, f"{phase}: check runtime", "failed", 1.2,
                                           {"msg": failing[node], "rc": 1,
                                            "stderr": "crictl info: connection refused"}))
        else:
            tasks.append(runner.TaskResult(node, f"{phase}: check runtime", "changed", 1.1,
                                           {"changed": True}))
    private = out / "ansible" / phase
    private.mkdir(parents=True, exist_ok=True)
    run_ = runner.PlaybookRun(phase, 2 if failing else 0, private, tasks)
    runner.write_node_artifacts(run_)
    runner.write_junit(run_, out / "junit", hosts)
    return pipeline.PhaseResult(frozenset(n for n in nodes if n not in failing))


def node_suites(out: Path, tests: Path, gate: pipeline.Gate, suites, nodes, hosts) -> None:
    """The node suites as pipeline.conformance_phase records them: the steps in the node's
    pipeline row, each suite's pytest JUnit relabelled as that node's."""
    for node in nodes:
        steps = gate.steps[node]
        for step in ("connect", "facts", "stage"):
            with steps.step(step):
                pass
        steps.facts.update({"kernel": "6.1.0-test", "cgroup": "v2"})
        for suite in suites:
            with steps.step(f"suite {suite}"):
                raw = junit_of_pytest(tests, out / "junit" / "raw" /
                                   f"{junit.identity(node)}-{suite}.xml")
                junit.relabel_pytest_junit(raw, out / "junit", node, suite, hosts[node])


def make_run(out: Path) -> pipeline.RunResult:
    tests = out.parent / f"{out.name}-tests"
    tests.mkdir(parents=True, exist_ok=True)
    (tests / "test_smoke_like.py").write_text(SMOKE_TESTS)
    (tests / "test_suite_like.py").write_text(SUITE_TESTS)
    inventory = Inventory([Node(name, f"10.0.0.{i}") for i, name in enumerate(NODES, 1)])
    hosts = {n.name: n.host for n in inventory.nodes}
    junit_dir = out / "junit"

    provision = junit.StepRecorder("report-lab", "pipeline")
    with provision.step("provision"):
        pass
    provision.write(junit_dir)

    def smoke_run(label: str, broken: str = "") -> smoke.SmokeRun:
        raw = junit_of_pytest(tests / "test_smoke_like.py", junit_dir / "raw" / f"{label}.xml",
                           {"REPORT_NODES": ",".join(NODES), "REPORT_BROKEN": broken})
        return smoke.SmokeRun(label, junit.split_pytest_junit_by_node(
            raw, junit_dir, label, hosts, smoke.CLUSTER), 0)

    gate = pipeline.Gate(inventory, junit_dir, CHOSEN)
    for node in NODES:  # what pipeline.record_versions finds on a cluster
        gate.steps[node].facts.update(VERSIONS)
    before = gate.run("smoke-before", lambda nodes: smoke_run("smoke-before"))
    for phase in ("preflight", "migrate"):
        gate.run(phase, lambda nodes, phase=phase: playbook(out, phase, nodes, {}, hosts))
    gate.run("verify", lambda nodes: playbook(out, "verify", nodes, {BROKEN: VERIFY_FAILURE},
                                              hosts))
    gate.run_nodes(pipeline.NODE_SUITES, lambda suites, nodes: node_suites(
        out, tests / "test_suite_like.py", gate, suites, nodes, hosts))
    after = gate.run("smoke-after", lambda nodes: smoke_run("smoke-after", BROKEN))
    pipeline.compare_smoke(before, [after], inventory, junit_dir)
    gate.write()
    return pipeline.report(junit_dir, out / "junit.xml")
