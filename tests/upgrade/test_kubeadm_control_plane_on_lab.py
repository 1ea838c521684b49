"""The control-plane node and kubeadm upgrade classes in the test command (issue 29), on the
smallest kubeadm lab (`hkcp`: 1 node, Kubernetes 1.23.17 by `kubeadm init` on Docker, a stacked
etcd): `harness migrate` switches the control-plane node with its etcd checks and its static
pods back on containerd, then `harness upgrade --to 1.24.17` takes it through `kubeadm upgrade
apply`. The 3-node versions with workers, workloads and rollback are `long`:
tests/migration/test_control_plane_on_lab.py and test_kubeadm_upgrade_on_lab.py beside this
file. The tests share the lab and run in file order."""

from __future__ import annotations

import json

import pytest
from labs import module_kube_lab
from migration.test_control_plane_on_lab import STATIC_PODS, static_pods

from .conftest import FROM, TO
from .test_kubeadm_upgrade_on_lab import CONTROL_PLANE, changed, cluster_state

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]

LAB = "hkcp"
ETCD_TASKS = ("Read etcd's members and revision before the switch",
              "Back up etcd's data directory",
              "Check that etcd is healthy with the same members and data")

lab = module_kube_lab(LAB, nodes=1, kubeadm=True)


def test_migrate_switches_the_control_plane_node_with_its_etcd_checks(lab, harness_cli,
                                                                      tmp_path):
    """The node ends on containerd with every static pod Running there, the API server was
    down once and the summary says so, and etcd's checks passed on the node."""
    node = lab.node_names[0]
    kubelet, runtime, _ = cluster_state(lab.api)["nodes"][node]
    assert kubelet == f"v{FROM}" and runtime.startswith("docker://")
    done = harness_cli("migrate", "-i", str(lab.inventory_path), "--out", str(tmp_path),
                       timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert cluster_state(lab.api)["nodes"][node][1].startswith("containerd://")
    assert static_pods(lab.api, node) == dict.fromkeys(STATIC_PODS, "Running")
    assert "API server: unreachable 1 time(s)" in done.stdout, done.stdout[-3000:]
    ran = json.loads((tmp_path / "ansible" / "migrate" / "nodes" / f"{node}.json").read_text())
    outcomes = {t["task"]: t["outcome"] for t in ran["tasks"]}
    etcd = {task: outcomes[task] for task in ETCD_TASKS}
    assert set(etcd.values()) <= {"ok", "changed"}, etcd


def test_kubeadm_upgrade_takes_the_control_plane_node_to_the_target(lab, harness_cli,
                                                                    tmp_path):
    done = harness_cli("upgrade", "--to", TO, "-i", str(lab.inventory_path), "--out",
                       str(tmp_path), timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = cluster_state(lab.api)
    assert [v[:1] for v in after["nodes"].values()] == [(f"v{TO}",)], after
    assert after["kubeadm"] == f"v{TO}"
    assert {c: after["static_pods"][c].rsplit(":", 1)[1] for c in CONTROL_PLANE} \
        == dict.fromkeys(CONTROL_PLANE, f"v{TO}")
    assert set(changed(tmp_path).values()) != {0}
