"""Real faults on a real 1-node lab (`hfault`, Kubernetes 1.23.17 on Docker), in file order:
a drain that a PodDisruptionBudget blocks (the node is put back in service, nothing else
changes); a kubelet that refuses to start once the node points at containerd (rolled back to
Docker automatically; with --no-auto-rollback left cordoned until `harness rollback`); an image
with a corrupt layer (named, the node kept on Docker unless --allow-missing-images); too
little disk space (refused) and space running out during staging (the node kept in service on
Docker, never drained); an evicted pod with nowhere to go (reported, the migration goes on). The
tests share the lab, made once and removed at the end (344 s here, of which the lab 78 s)."""

from __future__ import annotations

import pytest
from junitparser import JUnitXml
from kubernetes import client
from labs import module_kube_lab

from harness.transport import open_transport

from .test_canary_on_lab import node_state
from .test_interruptions_on_lab import CTR_IMPORT
from .test_migration_on_lab import docker_image_ids, snapshot, wait_node_ready, workload_ready

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]

LAB = "hfault"
BAD_FLAG = "--no-such-flag"
# A fleet's kubelet drop-in that adds flags only for a remote (CRI) runtime: it picks them when
# the kubelet starts, from kubeadm-flags.env as it is then (systemd reads the EnvironmentFile
# after ExecStartPre has written it).
REMOTE_RUNTIME_DROPIN = "/etc/systemd/system/kubelet.service.d/20-remote-runtime.conf"
DROPIN_TEXT = f"""[Service]
ExecStartPre=/bin/sh -c "if grep -q -- --container-runtime=remote \
/var/lib/kubelet/kubeadm-flags.env; then echo KUBELET_EXTRA_ARGS={BAD_FLAG}; fi \
> /run/kubelet-remote-runtime.env"
EnvironmentFile=-/run/kubelet-remote-runtime.env
"""
# Every regular file under the paths migrate backs up (playbooks/migrate.yml migration_files).
FILE_SUMS = ("find /var/lib/kubelet/kubeadm-flags.env /var/lib/kubelet/config.yaml "
             "/etc/containerd /etc/crictl.yaml /etc/systemd/system/containerd.service.d "
             "-type f -exec sha256sum {} + 2>/dev/null | sort")
GUARDED = "guarded"  # the Deployment and the PodDisruptionBudget that pins its one pod
HOMELESS = "homeless"  # a Deployment whose evicted pod has nowhere to go
VICTIM = "harness.local/victim:1.0"  # an image whose own layer is corrupted under Docker
BULK = "harness.local/bulk:1.0"  # 64 MiB of random bytes: a copy that lasts
CONTAINERD_ROOT = "/var/lib/containerd"


lab = module_kube_lab(LAB, nodes=1)


@pytest.fixture(scope="module")
def inventory(lab, tmp_path_factory):
    """The lab's inventory with a 60 s ready_timeout: a kubelet that cannot start is found
    failed in a minute (the default waits 3), and a healthy one is Ready well within it."""
    return lab.inventory_with(tmp_path_factory.mktemp("hfault"), ready_timeout=60)


@pytest.fixture(scope="module")
def before(lab):
    """The node as the lab made it."""
    node = lab.inventory.nodes[0]
    return {"snapshot": snapshot(node), "files": node_run(node, FILE_SUMS),
            "docker_images": docker_image_ids(node)}


def node_run(node, command: str) -> str:
    with open_transport(node) as t:
        return t.run(command, timeout=120, check=True).stdout


def ready(api, name: str) -> bool:
    return any(c.type == "Ready" and c.status == "True"
               for c in client.CoreV1Api(api).read_node(name).status.conditions)


def one_pod_deployment(api, name: str) -> None:
    """A Deployment of one busybox pod labelled app=<name>, in default."""
    labels = {"app": name}
    client.AppsV1Api(api).create_namespaced_deployment("default", {
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                {"name": "c", "image": "harness.local/busybox:1.0", "imagePullPolicy": "Never",
                 "command": ["sleep", "3600"]}]}}}})


def junit_messages(out, node: str) -> str:
    xml = JUnitXml.fromfile(str(out / "junit" / f"junit-{node}-migrate.xml"))
    return "\n".join(r.message or "" for suite in xml for case in suite for r in case.result)


@pytest.mark.long
def test_a_drain_blocked_by_a_budget_is_undone_and_nothing_else_changes(
        lab, inventory, before, harness_cli, tmp_path):
    """One replica and a PodDisruptionBudget minAvailable 1: no eviction is ever allowed. With
    --drain-timeout 10 the run fails naming the budget, the node is schedulable again, its pod
    still runs, and the node is as it was: kubelet on Docker, no containerd config written,
    the same files byte for byte, no migration record."""
    name = lab.node_names[0]
    node = lab.inventory.nodes[0]
    apps, policy = client.AppsV1Api(lab.api), client.PolicyV1Api(lab.api)
    one_pod_deployment(lab.api, GUARDED)
    policy.create_namespaced_pod_disruption_budget("default", {
        "metadata": {"name": GUARDED},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": GUARDED}}}})
    try:
        workload_ready(lab.api, GUARDED)
        pods = client.CoreV1Api(lab.api).list_namespaced_pod(
            "default", label_selector=f"app={GUARDED}").items
        done = harness_cli("migrate", "-i", str(inventory), "--drain-timeout", "10",
                           "--out", str(tmp_path))
        pods_after = client.CoreV1Api(lab.api).list_namespaced_pod(
            "default", label_selector=f"app={GUARDED}").items
    finally:
        apps.delete_namespaced_deployment(GUARDED, "default")
        policy.delete_namespaced_pod_disruption_budget(GUARDED, "default")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    pod = f"default/{pods[0].metadata.name}"
    assert (f"FAILED {name}: Stop the node's migration before the switch: {name}: Cordon and "
            f"drain the node (Eviction API, PodDisruptionBudgets honoured): node {name}: drain "
            f"timed out after 10s; eviction refused for {pod} (budget default/{GUARDED}); the "
            "images staged into containerd removed, uncordoned again, nothing else changed"
            ) in done.stdout, done.stdout
    assert [p.metadata.uid for p in pods_after] == [pods[0].metadata.uid]  # never evicted
    runtime, cordoned = node_state(lab.api, name)
    assert runtime.startswith("docker://") and not cordoned
    assert snapshot(node) == before["snapshot"]
    assert node_run(node, FILE_SUMS) == before["files"]


def test_a_kubelet_that_fails_after_the_switch_is_rolled_back_to_docker(
        lab, inventory, before, harness_cli, tmp_path):
    """The fault: a kubelet drop-in that adds a flag the kubelet does not know
    (--no-such-flag) only when kubeadm-flags.env selects a remote runtime. That is how a fleet's
    per-runtime kubelet flags (written for another kubelet version, or mistyped) hide: every
    node on Docker has restarted with the drop-in in place and never read the flag, so the
    first kubelet start on containerd, the migration's, is the first to refuse it. The run
    fails at the wait for Ready, names the flag from the kubelet's own journal, and returns the
    node to Docker: Ready, schedulable, its files and Docker's images as before."""
    name = lab.node_names[0]
    node = lab.inventory.nodes[0]
    node_run(node, f"cat > {REMOTE_RUNTIME_DROPIN} <<'EOF'\n{DROPIN_TEXT}EOF\n"
             "systemctl daemon-reload && systemctl restart kubelet")
    wait_node_ready(lab.api, name)  # on Docker the drop-in adds nothing
    done = harness_cli("migrate", "-i", str(inventory), "--out", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    # The old kubelet's last lines before it stopped may come first among the journal's causes.
    cause = f'kubelet: "Failed to parse kubelet flag" err="unknown flag: {BAD_FLAG}"'
    assert (f"FAILED {name}: Stop the node's migration at the failed step: {name}: Wait until "
            f"the node is Ready on containerd: node {name} not Ready on containerd:// within "
            "60s") in done.stdout, done.stdout
    assert (f"{cause}; rolled back to Docker (files restored, the kubelet Ready on Docker) and "
            "uncordoned") in done.stdout, done.stdout
    assert f"unknown flag: {BAD_FLAG}" in junit_messages(tmp_path, name)
    runtime, cordoned = node_state(lab.api, name)
    assert runtime.startswith("docker://") and not cordoned and ready(lab.api, name)
    assert docker_image_ids(node) == before["docker_images"]
    assert node_run(node, FILE_SUMS) == before["files"]
    kept = [line for line in snapshot(node) if not line.startswith(("k8s.io ", "state "))]
    assert kept == [line for line in before["snapshot"]
                    if not line.startswith(("k8s.io ", "state "))]


@pytest.mark.long
def test_without_auto_rollback_the_node_stays_cordoned_until_rollback(
        lab, inventory, before, harness_cli, tmp_path):
    """Same fault, --no-auto-rollback: the run fails saying the node is left cordoned where the
    step failed (kubelet pointed at containerd, not running); `harness rollback` then returns
    it to Docker, Ready and schedulable, with its files as before."""
    name = lab.node_names[0]
    node = lab.inventory.nodes[0]
    done = harness_cli("migrate", "-i", str(inventory), "--no-auto-rollback",
                       "--out", str(tmp_path / "migrate"))
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert (f'unknown flag: {BAD_FLAG}"; auto_rollback is off: left cordoned where the step '
            f"failed; `harness rollback --node {name}` returns it to Docker") in done.stdout
    assert "Roll the node back to Docker" not in done.stderr
    assert node_state(lab.api, name)[1] and not ready(lab.api, name)
    assert "--container-runtime=remote" in node_run(node, "cat /var/lib/kubelet/kubeadm-flags.env")
    back = harness_cli("rollback", "-i", str(inventory), "--out", str(tmp_path / "rollback"))
    assert back.returncode == 0, back.stdout + back.stderr[-3000:]
    runtime, cordoned = node_state(lab.api, name)
    assert runtime.startswith("docker://") and not cordoned and ready(lab.api, name)
    assert docker_image_ids(node) == before["docker_images"]
    assert node_run(node, FILE_SUMS) == before["files"]


@pytest.mark.long
def test_an_image_with_a_corrupt_layer_is_named_and_the_node_stays_on_docker(
        lab, inventory, harness_cli, tmp_path):
    """One image's layer changed on disk under Docker (its files no longer match the layer's
    checksums): Docker cannot export it, so staging fails for that image alone, before the
    drain. The run names the image, removes what staging copied and leaves the node in service
    on Docker, never cordoned. With --allow-missing-images the node is switched, the image
    named as left out."""
    name = lab.node_names[0]
    node = lab.inventory.nodes[0]
    node_run(node, f"rm -f {REMOTE_RUNTIME_DROPIN} && systemctl daemon-reload && systemctl "
             "restart kubelet")  # the earlier tests' fault, gone
    wait_node_ready(lab.api, name)
    node_run(node, f"printf 'FROM harness.local/busybox:1.0\\nRUN echo intact > /victim\\n' | "
             f"docker build -q -t {VICTIM} - && echo corrupted-and-longer > \"$(docker image "
             f"inspect -f '{{{{.GraphDriver.Data.UpperDir}}}}' {VICTIM})/victim\"")
    try:
        done = harness_cli("migrate", "-i", str(inventory), "--out", str(tmp_path / "refused"))
        assert done.returncode == 1, done.stdout + done.stderr[-3000:]
        failure = next(line for line in done.stdout.splitlines()
                       if line.startswith(f"FAILED {name}: Stop the node's migration"))
        assert "staged before the drain" in failure and VICTIM in failure, failure
        assert ("the images staged into containerd removed, left as cordoned as it was, "
                "nothing else changed") in failure, failure
        runtime, cordoned = node_state(lab.api, name)
        assert runtime.startswith("docker://") and not cordoned
        held = node_run(node, "ctr -n k8s.io images ls -q")
        assert "harness.local/web:1.0" not in held and VICTIM not in held  # staging undone

        allowed = harness_cli("migrate", "-i", str(inventory), "--allow-missing-images",
                              "--out", str(tmp_path / "allowed"))
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr[-3000:]
        warning = next((line for line in allowed.stdout.splitlines()
                        if line.startswith(f"WARNING {name}: Copy Docker's images")), "")
        assert f"left out of containerd (allow_missing): {VICTIM}" in warning, allowed.stdout
        assert node_state(lab.api, name)[0].startswith("containerd://")
        back = harness_cli("rollback", "-i", str(inventory), "--out", str(tmp_path / "back"))
        assert back.returncode == 0, back.stdout + back.stderr[-3000:]
    finally:
        node_run(node, f"docker rmi -f {VICTIM} >/dev/null || true")  # the later test's copy


@pytest.mark.long
def test_too_little_space_for_the_copy_is_refused_and_running_out_keeps_the_node_on_docker(
        lab, inventory, before, harness_cli, tmp_path):
    """Two ways to lack disk space, with real small filesystems on the node. Too little free
    under containerd's root for the images: preflight fails naming the filesystem and the
    figures, and migrate refuses the node before changing it. Space that runs out during
    staging anyway (the estimate passed, then containerd's content store, a filesystem of its
    own here, is filled while staging's ctr is stopped, its import begun): staging
    fails with the kernel's ENOSPC before the drain, and the node stays in service on Docker,
    never cordoned, with Docker's images as before."""
    name = lab.node_names[0]
    node = lab.inventory.nodes[0]
    node_run(node, f"mount -t tmpfs -o size=1m tmpfs {CONTAINERD_ROOT}")
    try:
        gate = harness_cli("preflight", "-i", str(inventory), "--out", str(tmp_path / "pre"))
        refused = harness_cli("migrate", "-i", str(inventory), "--out", str(tmp_path / "ref"))
    finally:
        node_run(node, f"umount {CONTAINERD_ROOT}")
    where = f"on the filesystem of {CONTAINERD_ROOT}/io.containerd.content.v1.content, "
    assert gate.returncode == 1, gate.stdout + gate.stderr[-3000:]
    assert "disk-space" in gate.stdout and where in gate.stdout, gate.stdout
    # The lab's kubelets keep 1% free (harness/kube/node_config.py): read from their config.
    assert "(the kubelet's imagefs.available eviction threshold, 1%)" in gate.stdout, gate.stdout
    assert refused.returncode == 2, refused.stdout + refused.stderr[-3000:]
    assert where in refused.stdout, refused.stdout
    assert not node_state(lab.api, name)[1]

    content = f"{CONTAINERD_ROOT}/io.containerd.content.v1.content"
    node_run(node, f"mkdir -p {content} && mount -t tmpfs -o size=256m tmpfs {content} && "
             f"mkdir -p {content}/ingest {content}/blobs/sha256")  # as containerd lays it out
    # 64 MiB more to copy, so that the import lasts; once it has started (the space check
    # passed), ctr is stopped while the content store's filesystem is filled, so that it meets
    # a full disk however fast this machine is.
    node_run(node, "d=$(mktemp -d) && head -c 67108864 /dev/urandom > $d/blob && printf "
             "'FROM harness.local/busybox:1.0\\nCOPY blob /blob\\n' > $d/Dockerfile && "
             f"docker build -q -t {BULK} $d >/dev/null && rm -rf $d")
    node_run(node, "systemd-run --collect --quiet --unit harness-test-filler sh -c 'until "
             f"pgrep -f \"{CTR_IMPORT}\" >/dev/null; do sleep 0.02; done; pkill -STOP -f "
             f"\"{CTR_IMPORT}\"; fallocate -l $(df --output=avail -B1 {content} | tail -1) "
             f"{content}/filler; pkill -CONT -f \"{CTR_IMPORT}\"'")
    try:
        done = harness_cli("migrate", "-i", str(inventory), "--out", str(tmp_path / "full"))
    finally:
        # Unmounting takes the blobs written there away from containerd's records: forget
        # them all, so that the next test copies every image afresh.
        node_run(node, f"systemctl stop harness-test-filler 2>/dev/null; umount {content} && "
                 "ctr -n k8s.io images ls -q | xargs -r ctr -n k8s.io images rm >/dev/null && "
                 "ctr -n k8s.io content ls -q | xargs -r ctr -n k8s.io content rm >/dev/null; "
                 f"docker rmi -f {BULK} >/dev/null")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    failure = next(line for line in done.stdout.splitlines()
                   if line.startswith(f"FAILED {name}: Stop the node's migration"))
    assert "staged before the drain" in failure, failure
    assert "no space left on device" in failure.lower(), failure
    assert "left as cordoned as it was, nothing else changed" in failure, failure
    runtime, cordoned = node_state(lab.api, name)
    assert runtime.startswith("docker://") and not cordoned and ready(lab.api, name)
    assert docker_image_ids(node) == before["docker_images"]


@pytest.mark.long
def test_an_evicted_pod_with_nowhere_to_go_is_reported_and_the_migration_goes_on(
        lab, inventory, harness_cli, tmp_path):
    """No capacity: on the lab's one node, cordoned for the drain, the replacement of an
    evicted Deployment pod cannot be scheduled anywhere. The eviction succeeded, so the
    migration goes on; the run names the pod and the scheduler's reason as a warning, in its
    summary and in the drain step's JUnit system-out, and the pod runs again once the migrated
    node is uncordoned."""
    name = lab.node_names[0]
    wait_node_ready(lab.api, name)
    one_pod_deployment(lab.api, HOMELESS)
    workload_ready(lab.api, HOMELESS)
    done = harness_cli("migrate", "-i", str(inventory), "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    warning = next((line for line in done.stdout.splitlines()
                    if line.startswith(f"WARNING {name}: Cordon and drain")), "")
    assert f"node {name}: evicted, but not rescheduled anywhere: default/{HOMELESS}-" in warning
    assert "unschedulable" in warning, warning
    xml = JUnitXml.fromfile(str(tmp_path / "junit" / f"junit-{name}-migrate.xml"))
    drain = [case for suite in xml for case in suite if case.name.startswith("Cordon and drain")]
    assert "not rescheduled anywhere" in (drain[0].system_out or "")
    assert node_state(lab.api, name)[0].startswith("containerd://")
    workload_ready(lab.api, HOMELESS)  # back on the uncordoned node
