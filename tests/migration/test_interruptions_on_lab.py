"""A migration cut off in the middle of the image copy, for real, on a 1-node lab (`hint`,
Kubernetes 1.23.17 on Docker), then run again: the rerun finishes the job from the node's
recorded progress, with every image in containerd once, complete and under Docker's image ID.

Three cuts, in file order, each followed by a rerun that completes, then a rollback that
returns the node to Docker for the next:
- SSH is cut on the node while staging (before the drain) streams into `ctr images import`:
  every SSH session killed, new connections reset for 40 s (the node is unreachable for Ansible,
  retries included; the run ends with exit 3, the node still in service);
- containerd is killed (SIGKILL) while staging's `ctr images import` streams into it, and held
  down until the step has failed (what staging copied is removed, the node never drained);
- the same while the copy runs after the drain (--no-staging): the node is rolled back to
  Docker automatically.

The cut is made on the node itself by a watcher that waits for the step's process and strikes
within 50 ms of its start: the moment is the step's, whatever this machine's speed.

Then containerd is killed and kept from restarting until the migration has failed (as a
crash-looping containerd would be): as the copy begins, with --no-auto-rollback (the rerun must
start containerd itself), and at each step after the copy (each run ends rolled back to Docker,
the node Ready and uncordoned, whether the rollback finds /etc/crictl.yaml written or not and
the kubelet's files naming Docker or containerd); and once the kubelet runs on it, held down
through the rollback too (the rollback fails naming the step, leaves the kubelet running and
the node cordoned, and a later `harness rollback` finishes the job)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from kubernetes import client
from labs import module_kube_lab

from harness.errors import UnreachableError
from harness.transport import open_transport

from .test_canary_on_lab import node_state
from .test_migration_on_lab import cri_image_ids, docker_image_ids

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(2400)]

LAB = "hint"
FIRED = "/run/harness-test-fault-fired"
SSH_CUT_SECONDS = 40
# containerd killed, then masked before systemd's restart (RestartSec=5) so that it fails until
# the test unmasks it (at the run's first failed task), as in a crash loop. A containerd back
# within seconds would let the copy, which retries image by image, succeed (a flake seen on
# 2026-12-06): the fault must last until the step has failed.
KILL_AND_HOLD = ("systemctl kill -s KILL containerd.service && "
                 "systemctl mask --runtime --quiet containerd.service")
RELEASE = "systemctl unmask --runtime --quiet containerd.service"
# $1: what to wait for (pgrep -f pattern); $2: ssh (cut SSH) or containerd (kill and hold it).
# Writes FIRED with what it did.
WATCHER = f"""#!/bin/sh
rm -f {FIRED}
i=0
while [ $i -lt 12000 ]; do
  if pgrep -f "$1" >/dev/null; then
    if [ "$2" = containerd ]; then
      {KILL_AND_HOLD} && echo "containerd killed" > {FIRED}
      exit 0
    fi
    # Every SSH session dies and new connections are reset for a while: Ansible's retries
    # find the node unreachable, as after a network cut.
    rule="INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset"
    iptables -I $rule && pkill -KILL -f '^sshd: ' && echo "ssh cut" > {FIRED}
    sleep {SSH_CUT_SECONDS}
    iptables -D $rule
    exit 0
  fi
  i=$((i + 1))
  sleep 0.05
done
"""
# The copy module's own child: Ansible may pipe the module into python3 (no file name to see).
# "[c]" keeps the pattern from matching the watcher itself (and its forks), whose argv holds it.
CTR_IMPORT = "[c]tr .*images import"


lab = module_kube_lab(LAB, nodes=1)


def node_run(node, command: str, timeout: float = 120) -> str:
    with open_transport(node) as t:
        return t.run(command, timeout=timeout, check=True).stdout


def arm(node, pattern: str, action: str) -> None:
    """Start the watcher on the node as a service of its own, apart from any SSH session."""
    node_run(node, f"cat > /run/harness-test-watcher <<'EOF'\n{WATCHER}EOF\n"
             "chmod +x /run/harness-test-watcher && systemd-run --collect --quiet "
             f"--unit harness-test-watcher /run/harness-test-watcher '{pattern}' {action}")


def fired(node) -> str:
    """What the watcher did, once SSH answers again (after an SSH cut it resets for a while)."""
    deadline = time.monotonic() + SSH_CUT_SECONDS + 60
    while True:
        try:
            return node_run(node, f"cat {FIRED} 2>/dev/null || true").strip()
        except UnreachableError:  # while the node resets connections
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


def assert_every_image_copied_once_and_complete(node, docker: dict[str, str]) -> None:
    """Each Docker tag listed by CRI under Docker's image ID, once; every image's content
    complete (`ctr images check`); no ingest left half-written (`ctr content active`)."""
    assert {ref: image_id for ref, image_id in cri_image_ids(node).items() if ref in docker} \
        == docker
    listed = node_run(node, "crictl images -o json")
    tags = [tag for image in json.loads(listed)["images"] for tag in image["repoTags"]]
    assert len(tags) == len(set(tags)), tags
    check = node_run(node, "ctr -n k8s.io images check")
    rows = [line for line in check.splitlines()[1:] if line.strip()]
    assert rows and all(" complete " in f" {line} " for line in rows), check
    active = node_run(node, "ctr -n k8s.io content active").splitlines()[1:]  # under a header
    assert active == [], f"half-written ingests: {active}"


def assert_back_on_docker(lab) -> None:
    """The node runs on Docker, Ready and schedulable."""
    node = client.CoreV1Api(lab.api).read_node(lab.node_names[0])
    assert node.status.node_info.container_runtime_version.startswith("docker://")
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    assert node.spec.unschedulable is not True


def migrated(api, name: str) -> bool:
    runtime, cordoned = node_state(api, name)
    return runtime.startswith("containerd://") and not cordoned


def rollback(lab, harness_cli, out) -> None:
    done = harness_cli("rollback", "-i", str(lab.inventory_path), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    runtime, cordoned = node_state(lab.api, lab.node_names[0])
    assert runtime.startswith("docker://") and not cordoned


def back_on_docker_first(lab, harness_cli, tmp_path) -> None:
    """Each containerd test starts from Docker, also after an earlier one failed midway."""
    if not node_state(lab.api, lab.node_names[0])[0].startswith("docker://"):
        rollback(lab, harness_cli, tmp_path / "rollback-first")


@pytest.mark.long
def test_a_run_whose_ssh_connection_drops_mid_copy_is_finished_by_a_rerun(
        lab, harness_cli, tmp_path):
    node, name = lab.inventory.nodes[0], lab.node_names[0]
    docker = docker_image_ids(node)
    arm(node, CTR_IMPORT, "ssh")
    cut = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(tmp_path / "cut"))
    assert fired(node) == "ssh cut", cut.stdout[-3000:]
    assert cut.returncode == 3, cut.stdout[-3000:] + cut.stderr[-2000:]
    assert "UNREACHABLE" in cut.stdout or "unreachable" in cut.stdout, cut.stdout[-3000:]
    runtime, cordoned = node_state(lab.api, name)
    assert runtime.startswith("docker://") and not cordoned  # cut off staging: still in service
    state = json.loads(node_run(node, "cat /var/lib/harness/migration/state.json"))
    assert state["files"] and not state.get("completed")

    rerun = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(tmp_path / "re"))
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    assert migrated(lab.api, name)
    assert_every_image_copied_once_and_complete(node, docker)
    verify = harness_cli("verify", "-i", str(lab.inventory_path), "--out", str(tmp_path / "v"))
    assert verify.returncode == 0, verify.stdout[-3000:]
    again = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(tmp_path / "a"))
    assert again.returncode == 0, again.stdout[-2000:]
    row = next(cells for cells in map(str.split, again.stdout.splitlines())
               if cells[:2] == [name, "migrate"])
    assert row[3] == "0", again.stdout[-2000:]  # OK CHANGED FAILED ...: nothing changed
    rollback(lab, harness_cli, tmp_path / "rollback")


def kill_containerd_in_the_copy(lab, out, *more: str) -> tuple[str, str]:
    """`harness migrate [MORE]` with containerd killed and held down the moment the copy's
    first import starts; its stdout and stderr, the run having failed."""
    node = lab.inventory.nodes[0]
    arm(node, CTR_IMPORT, "containerd")
    code, stdout, stderr = migrate_holding_containerd(lab, lab.inventory_path, out, *more)
    assert fired(node) == "containerd killed", stderr[-3000:]
    assert code == 1, stdout[-3000:] + stderr[-2000:]
    return stdout, stderr


def rerun_completes(lab, harness_cli, out, docker: dict[str, str]) -> None:
    """containerd runs again (whatever undid the failed run started it: Docker runs on it),
    so the rerun needs no wait: the node ends on containerd, uncordoned, every image copied
    once; then back to Docker for the next test."""
    node, name = lab.inventory.nodes[0], lab.node_names[0]
    assert node_run(node, "systemctl is-active containerd || true").strip() == "active"
    rerun = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(out / "re"))
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    assert migrated(lab.api, name)
    assert_every_image_copied_once_and_complete(node, docker)
    rollback(lab, harness_cli, out / "rollback")


@pytest.mark.long
def test_containerd_killed_mid_staging_leaves_the_node_in_service_and_a_rerun_completes(
        lab, harness_cli, tmp_path):
    """Staging (before the drain) loses containerd: the run fails naming the step, starts
    containerd again, removes what staging copied and leaves the node on Docker, never
    cordoned; the rerun stages, drains and completes."""
    docker = docker_image_ids(lab.inventory.nodes[0])
    stdout, stderr = kill_containerd_in_the_copy(lab, tmp_path / "cut")
    # Which ctr call meets the dead containerd first (the import, or the listing after it)
    # depends on timing: the step and the tool are what the message must name.
    assert "staged before the drain: ctr " in stdout, stdout[-3000:]
    assert "left as cordoned as it was, nothing else changed" in stdout, stdout[-3000:]
    assert "Cordon and drain" not in stderr
    assert_back_on_docker(lab)
    rerun_completes(lab, harness_cli, tmp_path, docker)


@pytest.mark.long
def test_containerd_killed_mid_copy_is_rolled_back_and_a_rerun_copies_each_image_once(
        lab, harness_cli, tmp_path):
    """Without staging the copy runs after the drain: containerd lost there rolls the node
    back to Docker, Ready and uncordoned; the rerun copies every image once."""
    node = lab.inventory.nodes[0]
    docker = docker_image_ids(node)
    node_run(node, "ctr -n k8s.io images ls -q | xargs -r ctr -n k8s.io images rm >/dev/null")
    stdout, _ = kill_containerd_in_the_copy(lab, tmp_path / "cut", "--no-staging")
    assert "Copy Docker's images into containerd's k8s.io namespace: ctr " in stdout, stdout
    assert "rolled back to Docker" in stdout, stdout[-3000:]
    assert_back_on_docker(lab)
    rerun_completes(lab, harness_cli, tmp_path, docker)


# The migrate task that has just finished when containerd is killed, per step after the copy
# the kill lands in (its test id).
AFTER_THE_COPY = {
    "containerd-config": "Record that the images are in containerd",
    "crictl": "Check that containerd took every intended setting",
    "kubelet-switch": "Point crictl at containerd (/etc/crictl.yaml), so it needs no flags",
    "docker-stop": "Point the kubelet's flags at containerd and drop the dockershim flags",
    "kubelet-start": "Stop and disable Docker (its data stays for a rollback)",
    "wait-ready": "Start the kubelet",
}
# The test command runs the first case (the cheapest: what follows fails at once) as this
# class's representative; the others are long.
AFTER_THE_COPY_CASES = [pytest.param(task, id=case, marks=() if i == 0 else pytest.mark.long)
                        for i, (case, task) in enumerate(AFTER_THE_COPY.items())]


def migrate_holding_containerd(lab, inventory, out, *more: str, after: str | None = None,
                               release: bool = True) -> tuple[int, str, str]:
    """`harness migrate [MORE]` during which containerd is killed and held down: by the test
    as soon as task `after` has finished (its progress line), else by the watcher armed on the
    node; released (not started) at the first failed task, or with `release` false at the end
    of the run; (exit code, stdout, stderr)."""
    node = lab.inventory.nodes[0]
    stdout = out / "stdout.txt"
    out.mkdir()
    seen, struck = [], False
    with stdout.open("w") as sink:
        run = subprocess.Popen([sys.executable, "-m", "harness", "migrate", "-i", str(inventory),
                                "--out", str(out), *more], stdout=sink, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "CI": "true"})
        try:
            for line in run.stderr:
                seen.append(line)
                if after and not struck and f": {after} ... " in line \
                        and " ... failed" not in line:
                    node_run(node, KILL_AND_HOLD)
                    struck = True
                elif release and " ... failed" in line:
                    node_run(node, RELEASE)
            run.wait(timeout=600)
        finally:
            node_run(node, RELEASE)
            if run.poll() is None:
                run.kill()
    assert struck or not after, f"no progress line for {after!r}:\n" + "".join(seen)[-3000:]
    return run.returncode, stdout.read_text(), "".join(seen)


@pytest.fixture(scope="module")
def quick_inventory(lab, tmp_path_factory):
    """A 60 s ready_timeout: a kubelet on a containerd that is down is found failed in a minute
    (the default waits 3), and one on Docker is Ready well within it."""
    return lab.inventory_with(tmp_path_factory.mktemp("hint"), ready_timeout=60)


@pytest.mark.long
def test_a_rerun_starts_the_containerd_a_fault_left_down(lab, quick_inventory, harness_cli,
                                                         tmp_path):
    """containerd killed and held down as the copy begins, with --no-auto-rollback: the run
    fails and leaves the node cordoned with containerd down; the rerun starts containerd,
    copies and completes."""
    node, name = lab.inventory.nodes[0], lab.node_names[0]
    back_on_docker_first(lab, harness_cli, tmp_path)
    code, stdout, stderr = migrate_holding_containerd(
        lab, quick_inventory, tmp_path / "cut", "--no-auto-rollback", after="Stop the kubelet")
    assert code == 1, stdout[-3000:] + stderr[-3000:]
    assert "auto_rollback is off" in stdout, stdout[-3000:]
    assert node_run(node, "systemctl is-active containerd || true").strip() != "active"
    assert node_state(lab.api, name)[1]  # cordoned
    rerun = harness_cli("migrate", "-i", str(quick_inventory), "--out", str(tmp_path / "re"))
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    assert migrated(lab.api, name)
    rollback(lab, harness_cli, tmp_path / "rollback")


@pytest.mark.parametrize("task", AFTER_THE_COPY_CASES)
def test_containerd_killed_at_a_step_after_the_copy_is_rolled_back(
        lab, quick_inventory, harness_cli, tmp_path, task):
    """Wherever containerd dies after the copy, the run fails and the rollback returns the node
    to Docker: Ready, uncordoned, containerd running again, the migration record closed."""
    node = lab.inventory.nodes[0]
    back_on_docker_first(lab, harness_cli, tmp_path)
    code, stdout, stderr = migrate_holding_containerd(lab, quick_inventory, tmp_path / "cut",
                                                      after=task)
    assert code == 1, stdout[-3000:] + stderr[-3000:]
    assert "rolled back to Docker" in stdout, stdout[-3000:] + stderr[-3000:]
    assert_back_on_docker(lab)
    assert node_run(node, "systemctl is-active containerd || true").strip() == "active"
    state = json.loads(node_run(node, "cat /var/lib/harness/migration/state.json"))
    assert state.get("rolled_back"), state


@pytest.mark.long
def test_a_rollback_that_cannot_start_containerd_leaves_the_kubelet_running_and_cordoned(
        lab, quick_inventory, harness_cli, tmp_path):
    """containerd killed once the kubelet runs on it, and held down through the rollback: the
    rollback fails at the step that needs containerd, naming it and the cause, with the
    kubelet started again and the node cordoned; once containerd can start, `harness
    rollback` returns the node to Docker."""
    node, name = lab.inventory.nodes[0], lab.node_names[0]
    back_on_docker_first(lab, harness_cli, tmp_path)
    code, stdout, stderr = migrate_holding_containerd(
        lab, quick_inventory, tmp_path / "cut", after="Start the kubelet", release=False)
    assert code == 1, stdout[-3000:] + stderr[-3000:]
    assert "rollback failed at Start containerd, through which its pods are removed: " \
        "Unable to start service containerd" in stdout, stdout[-3000:]
    assert "the kubelet started on containerd (not answering), the node left cordoned" \
        in stdout, stdout[-3000:]
    assert node_run(node, "systemctl is-active kubelet || true").strip() == "active"
    assert node_state(lab.api, name)[1]  # cordoned
    rollback(lab, harness_cli, tmp_path / "rollback")
    assert_back_on_docker(lab)
