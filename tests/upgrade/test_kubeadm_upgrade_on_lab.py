"""`harness upgrade --to 1.24.17` on a 3-node kubeadm lab (`hku`, issue 17): while the nodes are
on dockershim it is refused with kubeadm's own error about their CRI socket and nothing changes;
after `harness migrate`, kubeadm's procedure (`kubeadm upgrade apply` on the control-plane node,
`kubeadm upgrade node` on the workers) takes the control plane and every kubelet to 1.24.17;
a second run changes nothing. The tests share the lab and run in file order (about 18 minutes
here, of which the lab 2)."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client
from labs import module_kube_lab

from harness.kube.kubeadm_cluster import DOCKERSHIM_SOCKET

from .conftest import FROM, TO

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(3600), pytest.mark.long]

LAB = "hku"
CRI_SOCKET = "kubeadm.alpha.kubernetes.io/cri-socket"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")

lab = module_kube_lab(LAB, nodes=3, kubeadm=True)


def cluster_state(api) -> dict:
    """Each Node's kubelet, runtime and cri-socket annotation; kubeadm's recorded version; the
    image of each control-plane static pod."""
    core = client.CoreV1Api(api)
    config = core.read_namespaced_config_map("kubeadm-config", "kube-system")
    static = {p.metadata.labels["component"]: p.spec.containers[0].image
              for p in core.list_namespaced_pod("kube-system", label_selector="tier=control-plane"
                                                ).items}
    return {"nodes": {n.metadata.name: (n.status.node_info.kubelet_version,
                                        n.status.node_info.container_runtime_version,
                                        n.metadata.annotations.get(CRI_SOCKET))
                      for n in core.list_node().items},
            "kubeadm": yaml.safe_load(config.data["ClusterConfiguration"])["kubernetesVersion"],
            "static_pods": static}


def changed(out) -> dict[str, int]:
    """Per node, the upgrade playbook's changed count."""
    return {doc["node"]: doc["counts"]["changed"] for doc in
            (json.loads(p.read_text())
             for p in (out / "ansible" / "upgrade" / "nodes").glob("*.json"))}


def upgrade(lab, harness_cli, out):
    return harness_cli("upgrade", "--to", TO, "-i", str(lab.inventory_path), "--out", str(out),
                       timeout=3000)


def test_on_dockershim_kubeadm_refuses_and_nothing_changes(lab, harness_cli, tmp_path):
    before = cluster_state(lab.api)
    assert {v[0] for v in before["nodes"].values()} == {f"v{FROM}"}
    assert {v[2] for v in before["nodes"].values()} == {DOCKERSHIM_SOCKET}
    done = upgrade(lab, harness_cli, tmp_path)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    # harness's own finding, and kubeadm's: its image check through crictl on the socket the
    # node's annotation names
    assert "dockershim is gone in 1.24" in done.stdout
    assert f'kubeadm v{TO} refuses its CRI socket {DOCKERSHIM_SOCKET}: failed to pull image ' \
        f'"registry.k8s.io/kube-apiserver:v{TO}"' in done.stdout
    assert 'validate CRI v1 image API for endpoint "unix:///var/run/dockershim.sock"' \
        in done.stdout
    assert cluster_state(lab.api) == before
    assert set(changed(tmp_path).values()) == {0}


def test_after_migration_kubeadm_takes_every_node_to_the_target(lab, harness_cli, tmp_path):
    migrated = harness_cli("migrate", "-i", str(lab.inventory_path),
                           "--out", str(tmp_path / "migrate"), timeout=3000)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    done = upgrade(lab, harness_cli, tmp_path / "upgrade")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = cluster_state(lab.api)
    assert all(kubelet == f"v{TO}" and runtime.startswith("containerd://")
               for kubelet, runtime, _ in after["nodes"].values()), after
    assert after["kubeadm"] == f"v{TO}"
    assert {c: after["static_pods"][c].rsplit(":", 1)[1] for c in CONTROL_PLANE} \
        == dict.fromkeys(CONTROL_PLANE, f"v{TO}")


def test_a_second_run_changes_nothing(lab, harness_cli, tmp_path):
    before = cluster_state(lab.api)
    done = upgrade(lab, harness_cli, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert set(changed(tmp_path).values()) == {0}, changed(tmp_path)
    assert cluster_state(lab.api) == before
