"""A kubeconfig or inventory that does not fit the cluster is bad input: one line naming the
kubeconfig, server or nodes, exit 2, and no node touched (no playbook, no lock, no state). The
API server is a real one (the loopback control plane) holding Node objects with chosen kubelet
versions."""

from __future__ import annotations

import pytest
import yaml

from harness.daemons.process import free_tcp_port
from harness.inventory import load_inventory
from harness.migration import cluster_check

from .conftest import local_inventory

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]


def refused(done, tmp_path, *named: str) -> str:
    """The one stderr line of a run refused with exit 2 before any node was touched."""
    lines = done.stderr.splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stdout + done.stderr
    for item in named:
        assert item in lines[0], lines[0]
    assert not (tmp_path / "out" / "ansible").exists()  # no playbook ran
    assert not (tmp_path / "state").exists()  # no node's lock or state was written
    return lines[0]


def test_nodes_of_the_cluster_pass(api_cluster, tmp_path):
    """The control for the refusals below: matching names and reachable kubelets pass."""
    inv = load_inventory(local_inventory(tmp_path, ["node-a", "node-b"], api_cluster))
    cluster_check.check(inv, ["node-a", "node-b"])
    cluster_check.check(inv, ["node-a"], "1.24.17")


def test_a_kubeconfig_that_points_nowhere(api_cluster, harness_cli, tmp_path):
    nowhere = f"https://127.0.0.1:{free_tcp_port('127.0.0.1')}"
    conf = yaml.safe_load(api_cluster.read_text())
    conf["clusters"][0]["cluster"]["server"] = nowhere
    kubeconfig = tmp_path / "nowhere.conf"
    kubeconfig.write_text(yaml.safe_dump(conf))
    inventory = local_inventory(tmp_path, ["node-a"], api_cluster)
    done = harness_cli("migrate", "-i", str(inventory), "--kubeconfig", str(kubeconfig),
                       "--out", str(tmp_path / "out"), timeout=120)
    refused(done, tmp_path, f"kubeconfig {kubeconfig}", nowhere, "does not answer")


def test_a_kubeconfig_of_another_cluster(api_cluster, harness_cli, tmp_path):
    inventory = local_inventory(tmp_path, ["web-1", "web-2"], api_cluster)
    done = harness_cli("verify", "-i", str(inventory), "--out", str(tmp_path / "out"))
    refused(done, tmp_path, f"kubeconfig {api_cluster}", "is another cluster's",
            "node-a, node-b, node-c", "web-1, web-2", "--kubeconfig")


def test_run_on_an_inventory_checks_the_cluster_as_migrate_does(api_cluster, harness_cli,
                                                                tmp_path):
    inventory = local_inventory(tmp_path, ["web-1", "node-a"], api_cluster)
    done = harness_cli("run", "-i", str(inventory), "--out", str(tmp_path / "out"))
    refused(done, tmp_path, str(inventory), "no Node named web-1")
    assert not (tmp_path / "out" / "junit").exists()  # no phase ran, not even provision


def test_inventory_names_that_are_not_node_names(api_cluster, harness_cli, tmp_path):
    inventory = local_inventory(tmp_path, ["node-a", "node-x", "node-b", "node-y"], api_cluster)
    done = harness_cli("rollback", "-i", str(inventory), "--out", str(tmp_path / "out"))
    line = refused(done, tmp_path, str(inventory), "no Node named node-x, node-y")
    assert "node-a" not in line and "node-b" not in line


def test_a_target_the_kubelet_cannot_reach_in_one_step(api_cluster, harness_cli, tmp_path):
    """node-b's kubelet is 1.22.17: 1.24.17 skips 1.23 (one minor version per upgrade)."""
    inventory = local_inventory(tmp_path, ["node-a", "node-b"], api_cluster)
    done = harness_cli("preflight", "-i", str(inventory), "--kubernetes-target", "1.24.17",
                       "--out", str(tmp_path / "out"))
    refused(done, tmp_path, "--kubernetes-target 1.24.17: skips a minor version from node "
            "node-b's kubelet 1.22.17", "upgrade to 1.23 first")


def test_a_target_older_than_a_kubelet(api_cluster, harness_cli, tmp_path):
    inventory = local_inventory(tmp_path, ["node-a", "node-c"], api_cluster)
    done = harness_cli("upgrade", "--to", "1.23.17", "-i", str(inventory),
                       "--out", str(tmp_path / "out"))
    refused(done, tmp_path, "--to 1.23.17: older than node node-c's kubelet 1.24.17; a "
            "downgrade is not supported")
