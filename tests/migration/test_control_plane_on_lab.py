"""Migrating a kubeadm cluster (`hkadm`: 3 lab nodes, Kubernetes 1.23.17 made by `kubeadm init`
and `kubeadm join` on Docker, node 1 the control plane with a stacked etcd): the lab is what
kubeadm users have; preflight names the control-plane node; migrate switches it first, with
its API server down for a measured while, etcd back with the same members and data, every
static pod Running on containerd, then the workers, with a PDB-protected service answering
throughout; verify passes; a second run changes nothing; rollback takes the control-plane node
back to Docker. The tests share the lab and run in file order."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from labs import module_kube_lab

from harness.transport import open_transport

from . import workload
from .test_migration_on_lab import runtimes

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(3600), pytest.mark.long]

LAB = "hkadm"
STATIC_PODS = {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
MARKER = "written-before-the-migration"  # a ConfigMap: etcd's data must still hold it after

lab = module_kube_lab(LAB, nodes=3, kubeadm=True)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("control-plane-reports")


def static_pods(api, node: str) -> dict[str, str]:
    """The node's mirror pods in kube-system: component -> phase."""
    pods = client.CoreV1Api(api).list_namespaced_pod(
        "kube-system", field_selector=f"spec.nodeName={node}").items
    return {p.metadata.labels.get("component"): p.status.phase for p in pods
            if "kubernetes.io/config.mirror" in (p.metadata.annotations or {})}


def test_the_lab_is_what_kubeadm_users_have(lab):
    """Static pod manifests, the kubeadm-config ConfigMap, kubeadm-flags.env with dockershim's
    flags, and the cri-socket annotation naming dockershim on every node."""
    control = lab.node_names[0]
    with open_transport(lab.inventory.node(control)) as t:
        manifests = set(t.run("ls /etc/kubernetes/manifests", check=True).stdout.split())
        flags = t.run("cat /var/lib/kubelet/kubeadm-flags.env", check=True).stdout
    assert manifests == {f"{p}.yaml" for p in STATIC_PODS}
    assert "--network-plugin=cni" in flags
    core = client.CoreV1Api(lab.api)
    assert "ClusterConfiguration" in core.read_namespaced_config_map(
        "kubeadm-config", "kube-system").data
    for node in core.list_node().items:
        assert node.metadata.annotations["kubeadm.alpha.kubernetes.io/cri-socket"] == \
            "/var/run/dockershim.sock"
        assert node.status.node_info.container_runtime_version.startswith("docker://")
    assert static_pods(lab.api, control) == dict.fromkeys(STATIC_PODS, "Running")


def test_preflight_names_the_control_plane_node_only(lab, harness_cli, reports):
    done = harness_cli("preflight", "-i", str(lab.inventory_path), "--out",
                       str(reports / "preflight"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    findings = json.loads((reports / "preflight" / "preflight.json").read_text())
    with_finding = {node for node, found in findings.items()
                    if any(f["id"] == "control-plane" for f in found["findings"])}
    assert with_finding == {lab.node_names[0]}, findings


def test_migrate_switches_the_control_plane_then_the_workers(lab, harness_cli, reports):
    """Every node ends Ready on containerd, the service never failed a probe, the API server
    was down once (while node 1 switched) and the summary says for how long, and etcd kept its
    members and data."""
    core = client.CoreV1Api(lab.api)
    core.create_namespaced_config_map("default", {"metadata": {"name": MARKER},
                                                  "data": {"kept": "yes"}})
    workload.deploy(lab.api)
    with workload.Prober([n.host for n in lab.inventory.nodes]) as prober:
        done = harness_cli("migrate", "-i", str(lab.inventory_path), "--out",
                           str(reports / "migrate"))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert all(v.startswith("containerd://") for v in runtimes(lab.api).values())
    assert prober.failures == [] and prober.ok > 50, prober.failures[:20]
    assert "API server: unreachable 1 time(s)" in done.stdout, done.stdout
    outages = json.loads((reports / "migrate" / "api-migrate.json").read_text())["outages"]
    assert len(outages) == 1 and outages[0]["end"] is not None
    assert core.read_namespaced_config_map(MARKER, "default").data == {"kept": "yes"}
    assert static_pods(lab.api, lab.node_names[0]) == dict.fromkeys(STATIC_PODS, "Running")
    with open_transport(lab.inventory.node(lab.node_names[0])) as t:
        running = t.run("crictl ps -o json", check=True).stdout
        backup = t.run("ls /var/lib/harness/migration/etcd-data/member", check=True).stdout
    names = {c["metadata"]["name"] for c in json.loads(running)["containers"]}
    assert names >= STATIC_PODS  # on containerd now
    assert "snap" in backup.split() and "wal" in backup.split()


def test_etcd_checks_ran_on_the_control_plane_node(lab, reports):
    """The etcd rows of the control-plane node passed (members read before, the same after,
    revision not lower); the workers have none."""
    control = lab.node_names[0]
    ran = json.loads((reports / "migrate" / "ansible" / "migrate" / "nodes" /
                      f"{control}.json").read_text())
    outcomes = {t["task"]: t["outcome"] for t in ran["tasks"]}
    for task in ("Read etcd's members and revision before the switch",
                 "Back up etcd's data directory",
                 "Check that etcd is healthy with the same members and data"):
        assert outcomes[task] in ("ok", "changed"), (task, outcomes[task])


def test_verify_passes(lab, harness_cli, reports):
    done = harness_cli("verify", "-i", str(lab.inventory_path), "--out", str(reports / "verify"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]


def test_a_second_migrate_changes_nothing(lab, harness_cli, reports):
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--out",
                       str(reports / "again"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "already on containerd" in done.stdout + done.stderr
    assert "API server: answered throughout" in done.stdout


def test_rollback_takes_the_control_plane_node_back_to_docker(lab, harness_cli, reports):
    control = lab.node_names[0]
    done = harness_cli("rollback", "-i", str(lab.inventory_path), "--node", control, "--out",
                       str(reports / "rollback"))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert runtimes(lab.api)[control].startswith("docker://")
    assert static_pods(lab.api, control) == dict.fromkeys(STATIC_PODS, "Running")
    node = client.CoreV1Api(lab.api).read_node(control)
    assert node.metadata.annotations["kubeadm.alpha.kubernetes.io/cri-socket"] == \
        "/var/run/dockershim.sock"
