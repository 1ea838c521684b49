"""The node facts the report shows come from the cluster: each Node's runtime and kubelet
versions, read from a real API server at the start and the end of a run and written as
properties of the node's pipeline suite; a cluster that does not answer only costs the facts."""

from __future__ import annotations

import html

import pytest
import yaml
from kubernetes import client

from harness import junit, pipeline
from harness.daemons.process import free_tcp_port
from harness.inventory import Cluster, Inventory, Node
from harness.kube.node_versions import node_versions
from harness.report import model

NAMES = ("facts-a", "facts-b")


def set_versions(core, name: str, runtime: str, kubelet: str) -> None:
    """What a kubelet reports in its Node's status (no kubelet runs here)."""
    core.patch_node_status(name, {"status": {"nodeInfo": {
        "containerRuntimeVersion": runtime, "kubeletVersion": kubelet}}})


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.timeout(1800)  # a cold build of the binaries
def test_versions_before_and_after_reach_the_page(control_plane, tmp_path):
    core = client.CoreV1Api(control_plane.api_client())
    for name in NAMES:
        core.create_node({"metadata": {"name": name}})
        set_versions(core, name, "docker://20.10.24", "v1.23.17")
    assert {n: v for n, v in node_versions(control_plane.admin_kubeconfig).items()
            if n in NAMES} == dict.fromkeys(NAMES, ("docker://20.10.24", "v1.23.17"))

    inventory = Inventory([Node(n, f"10.0.0.{i}") for i, n in enumerate(NAMES, 1)],
                          Cluster(control_plane.admin_kubeconfig))
    gate = pipeline.Gate(inventory, tmp_path / "junit", ("verify",))
    pipeline.record_versions(inventory, gate, "before")
    for name in NAMES:  # what the migration changes
        set_versions(core, name, "containerd://1.6.20", "v1.23.17")
    gate.run("verify", lambda nodes: pipeline.PhaseResult(frozenset(nodes)))
    pipeline.record_versions(inventory, gate, "after")
    gate.write()
    pipeline.report(tmp_path / "junit", tmp_path / "junit.xml")

    view = model.build(junit.read(tmp_path / "junit.xml"), pipeline.PHASES)
    changes = {n.name: n.change("runtime") for n in view.node_views}
    assert changes == dict.fromkeys(NAMES, ("docker://20.10.24", "containerd://1.6.20"))
    page = html.unescape((tmp_path / "report.html").read_text())
    assert page.count("docker://20.10.24 → containerd://1.6.20") == len(NAMES)
    assert page.count("v1.23.17 → v1.23.17") == len(NAMES)


def test_a_cluster_that_does_not_answer_leaves_the_facts_out(tmp_path, capsys):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {
            "server": f"https://127.0.0.1:{free_tcp_port()}", "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))
    inventory = Inventory([Node("facts-a", "10.0.0.1")], Cluster(kubeconfig))
    gate = pipeline.Gate(inventory, tmp_path / "junit", ("verify",))
    pipeline.record_versions(inventory, gate, "before")
    assert gate.steps["facts-a"].facts == {}
    assert "node versions before the run not read" in capsys.readouterr().err
