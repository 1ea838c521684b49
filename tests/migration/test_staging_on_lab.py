"""Staging on a real 1-node lab (`hstage`, Kubernetes 1.23.17 on Docker): Docker's images are
copied into containerd before the drain, while the pods still run, with docker.service and
containerd.service capped meanwhile; after the drain only what changed since is copied.

A PodDisruptionBudget holds the drain after staging until the test lets it go, so that Docker
can change in between, as it does on a live node:
- an image built (as if pulled) after staging arrives through the delta after the drain, and an
  image removed from Docker after staging is removed from containerd, nothing else copied;
- the harness killed (SIGKILL) between staging and the drain: the rerun resumes and copies
  nothing that staging had copied."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from kubernetes import client
from labs import module_kube_lab

from .test_canary_on_lab import node_state
from .test_faults_on_lab import node_run, one_pod_deployment
from .test_interruptions_on_lab import CTR_IMPORT
from .test_migration_on_lab import cri_image_ids, docker_image_ids, workload_ready

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.long, pytest.mark.timeout(1800)]

LAB = "hstage"
HELD = "held"  # the Deployment whose PodDisruptionBudget holds the drain
STAGE_TASK = "Copy Docker's images into containerd's k8s.io namespace, staged before the drain"
COPY_TASK = "Copy Docker's images into containerd's k8s.io namespace"
ARRIVING, LEAVING = "harness.local/arriving:1.0", "harness.local/leaving:1.0"
# Written on the node when staging's import starts: the caps the daemons have then.
CAPS = "/run/harness-test-caps"
CAPS_SHOWN = "systemctl show -p CPUQuotaPerSecUSec -p IOWeight docker.service containerd.service"
CAPS_WATCHER = (f"systemd-run --collect --quiet --unit harness-test-caps sh -c 'while ! pgrep "
                f"-f \"{CTR_IMPORT}\" >/dev/null; do sleep 0.05; done; {CAPS_SHOWN} > {CAPS}'")


lab = module_kube_lab(LAB, nodes=1)


def build(node, ref: str, role: str) -> str:
    """An image of its own (as if pulled) in the node's Docker; its ID."""
    return node_run(node, f"printf 'FROM harness.local/busybox:1.0\\nLABEL role={role}\\n' | "
                    f"docker build -q -t {ref} -").strip()


def held_drain(api) -> None:
    one_pod_deployment(api, HELD)
    client.PolicyV1Api(api).create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": HELD},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": HELD}}}})
    workload_ready(api, HELD)


def release_drain(api) -> None:
    client.PolicyV1Api(api).delete_namespaced_pod_disruption_budget(HELD, "default")


def remove_held(api) -> None:
    client.AppsV1Api(api).delete_namespaced_deployment(HELD, "default")


def migrate_until_staged(lab, out, then) -> subprocess.Popen:
    """`harness migrate` run until staging has finished on the node, then `then()` runs
    (the drain is held meanwhile); the run, still going."""
    run = subprocess.Popen([sys.executable, "-m", "harness", "migrate", "-i",
                            str(lab.inventory_path), "--drain-timeout", "600", "--out", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "CI": "true"}, start_new_session=True)
    seen = []
    for line in run.stderr:
        seen.append(line)
        if f": {STAGE_TASK} ... " in line:
            assert " ... failed" not in line, "".join(seen)[-3000:]
            then()
            return run
    raise AssertionError("staging never finished:\n" + "".join(seen)[-3000:])


def task_results(out, node: str) -> dict[str, list[dict]]:
    ran = json.loads((out / "ansible" / "migrate" / "nodes" / f"{node}.json").read_text())
    found: dict[str, list[dict]] = {}
    for task in ran["tasks"]:
        found.setdefault(task["task"], []).append(task["result"])
    return found


def rollback(lab, harness_cli, out) -> None:
    done = harness_cli("rollback", "-i", str(lab.inventory_path), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert node_state(lab.api, lab.node_names[0])[0].startswith("docker://")


def test_what_changes_after_staging_arrives_by_the_delta_and_the_daemons_were_capped(
        lab, harness_cli, tmp_path):
    node, name = lab.inventory.nodes[0], lab.node_names[0]
    leaving = build(node, LEAVING, "leaving")
    node_run(node, CAPS_WATCHER)
    held_drain(lab.api)
    changed = {}
    try:
        def change_docker():
            changed["arriving"] = build(node, ARRIVING, "arriving")
            node_run(node, f"docker rmi {LEAVING}")
            changed["docker"] = docker_image_ids(node)  # what the drained node should hold
            release_drain(lab.api)

        run = migrate_until_staged(lab, tmp_path, change_docker)
        assert run.wait(timeout=900) == 0, run.stderr.read()[-3000:]
    finally:
        remove_held(lab.api)
    staged = task_results(tmp_path, name)[STAGE_TASK][0]
    assert leaving in {image["id"] for image in staged["copied"]}
    [delta] = task_results(tmp_path, name)[COPY_TASK]
    assert [image["id"] for image in delta["copied"]] == [changed["arriving"]], delta
    assert delta["removed"] == [LEAVING], delta
    held = cri_image_ids(node)
    assert held.get(ARRIVING) == changed["arriving"] and LEAVING not in held
    assert {ref: held.get(ref) for ref in changed["docker"]} == changed["docker"]
    caps = node_run(node, f"cat {CAPS}").split()
    assert caps.count("CPUQuotaPerSecUSec=500ms") == 2 and caps.count("IOWeight=10") == 2, caps
    assert "CPUQuotaPerSecUSec=500ms" not in node_run(node, CAPS_SHOWN)  # reset afterwards
    rollback(lab, harness_cli, tmp_path / "rollback")
    assert ARRIVING not in node_run(node, "ctr -n k8s.io images ls -q")  # the copies removed
    node_run(node, f"docker rmi {ARRIVING}")


def test_a_crash_between_staging_and_the_drain_resumes_without_copying_twice(
        lab, harness_cli, tmp_path):
    node, name = lab.inventory.nodes[0], lab.node_names[0]
    held_drain(lab.api)
    try:
        run = migrate_until_staged(lab, tmp_path / "crash", lambda: None)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
        staged = added_refs(node)
        release_drain(lab.api)
        rerun = harness_cli("migrate", "-i", str(lab.inventory_path), "--out",
                            str(tmp_path / "rerun"))
    finally:
        remove_held(lab.api)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert node_state(lab.api, name)[0].startswith("containerd://")
    results = task_results(tmp_path / "rerun", name)
    assert results[STAGE_TASK][0]["copied"] == [] and results[COPY_TASK][0]["copied"] == []
    assert staged and added_refs(node) == staged
    rollback(lab, harness_cli, tmp_path / "rollback")


def added_refs(node) -> set[str]:
    """The refs the migration recorded, on the node, as added to containerd."""
    return set(json.loads(node_run(node, "cat /var/lib/harness/migration/images-added.json")))
