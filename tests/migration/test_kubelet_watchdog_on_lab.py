"""A node in service is never left without its kubelet by the CRI suite, on a real 1-node lab
(`hwdog`, Kubernetes 1.23.17 on Docker, migrated to containerd by `harness migrate`), in file
order: `harness conformance --inventory` cordons and drains the node (a PodDisruptionBudget
that refuses the eviction stops it before the kubelet is touched), arms the watchdog on the
node, stops the kubelet, runs the suite, starts the kubelet, uncordons and disarms (no timer
left); `--live-node` neither cordons nor evicts; and a harness killed with SIGKILL in the middle
of the suite leaves the kubelet down and the node cordoned until the node's own watchdog starts
the kubelet and uncordons it, within the budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from kubernetes import client
from labs import harness_cli, module_kube_lab
from outcomes import read_junit

from harness.errors import EXIT_FAILURES, EXIT_OK, StepFailed
from harness.nodes import kubelet_watchdog
from harness.transport import open_transport

from .test_faults_on_lab import one_pod_deployment, ready
from .test_migration_on_lab import workload_ready

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]

LAB = "hwdog"
WORKLOAD = "hwdog-sleeper"  # one pod on the node, that a drain evicts
BUDGET = 90  # the kill test's watchdog, seconds from its arming
QUICK = ("--", "-k", "test_version_names")  # a CRI suite run of seconds
IN_ORDER = ["cordon and drain for the CRI suite",
            f"arm the kubelet watchdog for the CRI suite ({900 + 300} s)",
            "stop kubelet for the CRI suite", "suite cri", "start kubelet after the CRI suite",
            "uncordon after the CRI suite", "disarm the kubelet watchdog after the CRI suite"]

lab = module_kube_lab(LAB, nodes=1)


@pytest.fixture(scope="module")
def migrated(lab, tmp_path_factory):
    """The lab's node on containerd, its kubelet running, one Deployment pod on it."""
    out = tmp_path_factory.mktemp("migrate")
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(out))
    assert done.returncode == EXIT_OK, done.stdout[-3000:] + done.stderr[-3000:]
    one_pod_deployment(lab.api, WORKLOAD)
    workload_ready(lab.api, WORKLOAD)
    return lab


def inventory(lab, directory, **node_vars):
    """The lab's inventory (Ansible's shape), its node given `node_vars`."""
    data = yaml.safe_load(lab.inventory_path.read_text())
    data["all"]["vars"].update(node_vars)
    path = directory / "inventory.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def conformance(inventory_path, out, *args):
    return harness_cli("conformance", "--inventory", str(inventory_path), "--junit-dir",
                       str(out), *args, timeout=900)


def steps(out, name: str) -> dict[str, str]:
    return read_junit(out / f"junit-{name}-conformance_steps.xml")


def on_node(lab, command: str):
    with open_transport(lab.inventory.nodes[0]) as t:
        return t.run(command, timeout=60)


def kubelet_active(lab) -> bool:
    return on_node(lab, "systemctl is-active --quiet kubelet").ok


def watchdog_units(lab) -> str:
    return on_node(lab, f"systemctl list-units --all --no-legend '{kubelet_watchdog.UNIT}*'"
                   ).stdout.strip()


def cordoned(lab, name: str) -> bool:
    return bool(client.CoreV1Api(lab.api).read_node(name).spec.unschedulable)


def workload_pod(lab) -> str:
    """The uid of the workload's pod (a drain evicts it: a new uid)."""
    pods = client.CoreV1Api(lab.api).list_namespaced_pod(
        "default", label_selector=f"app={WORKLOAD}").items
    return ",".join(sorted(p.metadata.uid for p in pods))


def test_the_node_is_drained_for_the_suite_and_back_in_service_after(migrated, tmp_path):
    name = migrated.node_names[0]
    pod = workload_pod(migrated)
    done = conformance(migrated.inventory_path, tmp_path, *QUICK)
    assert done.returncode == EXIT_OK, done.stdout[-2000:] + done.stderr[-3000:]
    rows = steps(tmp_path, name)
    assert [row for row in rows if row in IN_ORDER] == IN_ORDER, rows
    assert set(rows.values()) == {"passed"}, rows
    assert kubelet_active(migrated) and not cordoned(migrated, name)
    assert watchdog_units(migrated) == ""  # disarmed: no timer left
    workload_ready(migrated.api, WORKLOAD)
    assert workload_pod(migrated) != pod  # evicted by the drain, running again


def test_a_budget_that_refuses_the_eviction_stops_before_the_kubelet(migrated, tmp_path):
    """A PodDisruptionBudget minAvailable 1 over the one pod: the drain times out naming it,
    the node is uncordoned, its kubelet never stopped, the suite not run."""
    name = migrated.node_names[0]
    policy = client.PolicyV1Api(migrated.api)
    policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": WORKLOAD},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": WORKLOAD}}}})
    try:
        pod = workload_pod(migrated)
        done = conformance(inventory(migrated, tmp_path, drain_timeout=5), tmp_path, *QUICK)
    finally:
        policy.delete_namespaced_pod_disruption_budget(WORKLOAD, "default")
    assert done.returncode == EXIT_FAILURES, done.stdout[-2000:] + done.stderr[-3000:]
    rows = steps(tmp_path, name)
    assert rows == {"connect": "passed", "facts": "passed", "stage": "passed",
                    "cordon and drain for the CRI suite": "failed"}, rows
    assert f"budget default/{WORKLOAD}" in done.stderr, done.stderr[-2000:]
    assert kubelet_active(migrated) and not cordoned(migrated, name)
    assert workload_pod(migrated) == pod
    assert watchdog_units(migrated) == ""


def test_live_node_neither_cordons_nor_evicts(migrated, tmp_path):
    name = migrated.node_names[0]
    pod = workload_pod(migrated)
    watched = []  # the Node's unschedulable, as the run goes

    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "conformance", "--inventory",
         str(migrated.inventory_path), "--junit-dir", str(tmp_path), "--live-node", *QUICK],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "CI": "true"})
    while proc.poll() is None:
        watched.append(cordoned(migrated, name))
        time.sleep(0.5)
    output = proc.stdout.read()
    assert proc.returncode == EXIT_OK, output[-3000:]
    rows = steps(tmp_path, name)
    assert "cordon and drain for the CRI suite" not in rows, rows
    assert "uncordon after the CRI suite" not in rows, rows
    assert rows["suite cri"] == rows["disarm the kubelet watchdog after the CRI suite"] == "passed"
    assert not any(watched) and watched
    assert workload_pod(migrated) == pod
    assert kubelet_active(migrated) and watchdog_units(migrated) == ""


def test_a_harness_killed_during_the_suite_leaves_the_node_to_its_watchdog(migrated, tmp_path):
    """SIGKILL to the harness (its whole process group) while the CRI suite runs on the node:
    nothing of the harness is left to start the kubelet or uncordon. The node does both itself
    once the budget is over, and takes its pod back."""
    name = migrated.node_names[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "conformance", "--inventory",
         str(inventory(migrated, tmp_path, kubelet_watchdog_seconds=BUDGET)), "--junit-dir",
         str(tmp_path / "junit")],  # the whole suite: minutes, killed after seconds
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "CI": "true"})
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if f"[{name}] suite cri ..." in line:
                break
        assert proc.poll() is None, "".join(seen[-20:])
        armed = time.monotonic()  # the watchdog was armed before this line; the budget runs
        time.sleep(10)  # well inside the suite
        assert on_node(migrated, "pgrep -f 'pytest suites/cri'").ok, "the suite is not running"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not kubelet_active(migrated) and cordoned(migrated, name)  # as the harness left it

    deadline = armed + BUDGET + 90  # the watchdog fires at BUDGET; the kubelet then registers
    while not (kubelet_active(migrated) and ready(migrated.api, name)
               and not cordoned(migrated, name)):
        assert time.monotonic() < deadline, (
            f"{BUDGET + 90} s after the suite started: kubelet active {kubelet_active(migrated)}"
            f", Ready {ready(migrated.api, name)}, cordoned {cordoned(migrated, name)}")
        time.sleep(2)
    assert time.monotonic() - armed > BUDGET - 15  # the watchdog's doing, not anything earlier
    workload_ready(migrated.api, WORKLOAD)
    assert watchdog_units(migrated) == ""  # fired once, gone


def test_a_watchdog_that_fired_fails_its_disarm_and_leaves_nothing(migrated):
    """A budget shorter than the suite: the watchdog fires (the kubelet, running, is left
    running), the disarm step fails saying so, and no unit is left behind."""
    with open_transport(migrated.inventory.nodes[0]) as t:
        kubelet_watchdog.arm(t, migrated.node_names[0], 2, uncordon=False)
        time.sleep(8)
        with pytest.raises(StepFailed, match="the kubelet watchdog fired before the suite ended "
                           r"\(budget 2 s\)"):
            kubelet_watchdog.disarm(t, 2)
    assert kubelet_active(migrated) and watchdog_units(migrated) == ""


@pytest.mark.long
def test_harness_run_takes_the_same_way(migrated, tmp_path):
    """The pipeline's CRI phase (`harness run -i LAB_INVENTORY --phases cri`, the whole suite)
    wraps the suite the same way, through the same code."""
    name = migrated.node_names[0]
    done = harness_cli("run", "-i", str(migrated.inventory_path), "--phases", "cri", "--out",
                       str(tmp_path), timeout=1800)
    rows = read_junit(tmp_path / "junit" / f"junit-{name}-pipeline.xml")
    assert [row for row in rows if row in IN_ORDER] == IN_ORDER, (rows, done.stderr[-3000:])
    assert {rows[row] for row in IN_ORDER} == {"passed"}, rows
    assert kubelet_active(migrated) and not cordoned(migrated, name)
    assert watchdog_units(migrated) == ""
