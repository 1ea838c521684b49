"""`harness upgrade --to 1.24.17` on the pipeline's lab once it is migrated and upgraded: the
control plane and both kubelets on 1.24.17; a second run changes nothing; a downgrade is
refused; a kubelet that does not start on the new version fails its node. The tests share one
lab and run in file order (the refusals on dockershim nodes are in tests/pipeline)."""

from __future__ import annotations

import json
import time

import pytest
import yaml
from kubernetes import client

from harness import images
from harness.kube import cluster
from harness.transport import open_transport

from .conftest import FROM, TO

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1200)]

BACKUP = "/var/lib/harness/upgrade"


def nodes(api) -> dict[str, dict]:
    return {n.metadata.name: {"kubelet": n.status.node_info.kubelet_version,
                              "runtime": n.status.node_info.container_runtime_version,
                              "unschedulable": bool(n.spec.unschedulable),
                              "ready": any(c.type == "Ready" and c.status == "True"
                                           for c in n.status.conditions or [])}
            for n in client.CoreV1Api(api).list_node().items}


def server_version(api) -> str:
    return client.VersionApi(api).get_code().git_version


def changed(out, phase="upgrade") -> dict[str, int]:
    """Per node, the playbook's changed count (from <out>/ansible/<phase>/nodes/*.json)."""
    return {doc["node"]: doc["counts"]["changed"] for doc in
            (json.loads(p.read_text()) for p in (out / "ansible" / phase / "nodes").glob("*.json"))}


def run_on_node(node, command: str) -> str:
    with open_transport(node) as t:
        return t.run(command, timeout=120, check=True).stdout


def wait_node(api, name: str, kubelet: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = nodes(api)[name]
        if now["ready"] and now["kubelet"] == kubelet:
            return
        time.sleep(2)
    raise AssertionError(f"{name} not Ready with kubelet {kubelet} within {timeout}s: {now}")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("upgrade-reports")


def test_the_control_plane_and_both_kubelets_are_at_the_target(upgrade_lab):
    """After `harness upgrade` (or the pipeline's upgrade phase): the API server, the lab's
    record and inventory, and both kubelets on 1.24.17, Ready, schedulable, on containerd; the
    old binaries kept on each node for a way back."""
    assert server_version(upgrade_lab.api) == f"v{TO}"
    record = cluster.ClusterRecord.load(upgrade_lab.name)
    assert record.version == TO and f"/{TO}/bin/kubectl" in record.kubectl
    inventory = yaml.safe_load(upgrade_lab.inventory_path.read_text())
    assert inventory["all"]["vars"]["kubernetes_version"] == TO
    after = nodes(upgrade_lab.api)
    assert set(after) == set(upgrade_lab.node_names)
    for name, node in after.items():
        assert node == {"kubelet": f"v{TO}", "runtime": node["runtime"],
                        "unschedulable": False, "ready": True}, name
        assert node["runtime"].startswith("containerd://")
        assert run_on_node(upgrade_lab.inventory.node(name),
                           f"{BACKUP}/{FROM}/kubelet --version").strip() == f"Kubernetes v{FROM}"


def test_a_pod_runs_on_each_upgraded_node(upgrade_lab):
    core = client.CoreV1Api(upgrade_lab.api)
    image = images.build("web").ref
    names = {}
    for node in upgrade_lab.node_names:
        names[node] = f"upgraded-{node}"
        core.create_namespaced_pod("default", {
            "metadata": {"name": names[node]},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "web", "image": image, "imagePullPolicy": "Never",
                                     "readinessProbe": {"httpGet": {"path": "/", "port": 8080},
                                                        "periodSeconds": 1}}]}})
    try:
        deadline = time.monotonic() + 120
        pending = set(names.values())
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                pod = core.read_namespaced_pod(name, "default")
                if pod.status.phase == "Running" and all(
                        c.ready for c in pod.status.container_statuses or []):
                    pending.discard(name)
            time.sleep(1)
        assert not pending, f"not running and ready within 120s: {sorted(pending)}"
    finally:
        for name in names.values():
            core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_second_upgrade_changes_nothing(upgrade_lab, harness_cli, reports):
    out = reports / "upgrade-again"
    done = harness_cli("upgrade", "--to", TO, "--lab", upgrade_lab.name, "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert changed(out) == dict.fromkeys(upgrade_lab.node_names, 0)
    assert "control plane already at" in done.stderr
    assert "Cordon and drain" not in done.stderr  # skipped tasks print no progress line


def test_a_downgrade_is_refused_in_one_line(upgrade_lab, harness_cli, reports):
    done = harness_cli("upgrade", "--to", FROM, "--lab", upgrade_lab.name,
                       "--out", str(reports / "downgrade"))
    assert done.returncode == 2, done.stdout + done.stderr
    # the Nodes' kubelets are checked before the control plane: either names the downgrade
    assert f"--to {FROM}: older than " in done.stderr and f"{TO}; a downgrade" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert server_version(upgrade_lab.api) == f"v{TO}"


def test_a_kubelet_that_does_not_start_fails_its_node(upgrade_lab, harness_cli, reports):
    """One node back on the kept 1.23.17 kubelet (the rollback path), then a flag the 1.24
    kubelet does not know written to /etc/default/kubelet without a restart: the running kubelet
    is fine, the upgraded one exits. The node's step fails, naming it; with the flag gone, a
    rerun finishes the node."""
    name = upgrade_lab.node_names[-1]
    node = upgrade_lab.inventory.node(name)
    run_on_node(node, f"systemctl stop kubelet && cp {BACKUP}/{FROM}/kubelet /usr/bin/kubelet "
                "&& systemctl start kubelet")  # a running binary cannot be overwritten
    wait_node(upgrade_lab.api, name, f"v{FROM}")
    run_on_node(node, "cp -a /etc/default/kubelet /etc/default/kubelet.orig 2>/dev/null; "
                "echo 'KUBELET_EXTRA_ARGS=\"--no-such-flag=1\"' > /etc/default/kubelet")
    try:
        done = harness_cli("upgrade", "--to", TO, "--lab", upgrade_lab.name, "--node", name,
                           "--out", str(reports / "broken"))
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"FAILED {name}: Check that the kubelet keeps running" in done.stdout
        assert "unknown flag: --no-such-flag" in done.stdout
    finally:
        run_on_node(node, "if [ -e /etc/default/kubelet.orig ]; then "
                    "mv /etc/default/kubelet.orig /etc/default/kubelet; "
                    "else rm -f /etc/default/kubelet; fi")
    done = harness_cli("upgrade", "--to", TO, "--lab", upgrade_lab.name, "--node", name,
                       "--out", str(reports / "repaired"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert nodes(upgrade_lab.api)[name] == {"kubelet": f"v{TO}", "ready": True,
                                            "unschedulable": False,
                                            "runtime": nodes(upgrade_lab.api)[name]["runtime"]}
