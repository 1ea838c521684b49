"""A node of another Docker line: Debian 11 with Debian's Docker 20.10.5, containerd 1.4.13,
runc 1.0.0-rc93 and CNI plugins 0.9.0 (`harness lab up --debian 11`), under a 1.23.17 cluster.
Preflight refuses it with the two fixes it needs (a containerd that speaks CRI v1, CNI 1.0
plugins); with the plugins upgraded the same playbooks move it onto the harness's containerd
2.x build, pods run again, and a rollback brings back Docker and the packaged containerd 1.4.
The tests share one lab and run in file order."""

from __future__ import annotations

import re

import pytest
from kubernetes import client
from labs import harness_cli, kube_lab

from harness.containerd import build
from harness.transport import open_transport
from migration import cni_plugins, workload

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800)]

VERSION = build.DEFAULT_VERSION
# Where the lab's kubelet finds its CNI plugins (Debian's containernetworking-plugins).
CNI_BIN_DIR = "/usr/lib/cni"


@pytest.fixture(scope="module")
def lab():
    with kube_lab("hdeb", nodes=1, debian="11") as made:
        yield made


@pytest.fixture(scope="module")
def node(lab):
    return lab.inventory.nodes[0]


def on_node(node, command: str) -> str:
    with open_transport(node) as t:
        return t.run(command, timeout=120, check=True).stdout


def runtime(lab) -> str:
    (node,) = client.CoreV1Api(lab.api).list_node().items
    return node.status.node_info.container_runtime_version


def args(lab, tmp_path, *more: str) -> list[str]:
    return ["-i", str(lab.inventory_path), "--out", str(tmp_path), *more]


def test_the_node_runs_debian_11s_docker_line(lab, node):
    assert on_node(node, ". /etc/os-release; echo $VERSION_ID").strip() == "11"
    assert runtime(lab).startswith("docker://20.10.5")
    assert on_node(node, "containerd --version").split()[2].startswith("1.4.13")


def test_preflight_refuses_the_packaged_containerd_and_the_old_plugins_naming_each_fix(
        lab, tmp_path):
    done = harness_cli("preflight", *args(lab, tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "containerd-version" in done.stdout and "harness migrate --containerd" in done.stdout
    assert f"the CNI plugins in {CNI_BIN_DIR} do not speak CNI 1.0.0" in done.stdout


def test_with_newer_plugins_preflight_passes_for_the_containerd_build(lab, node, tmp_path):
    """The fix preflight named: CNI 1.x plugins in the kubelet's plugin directory, static
    builds as the kubernetes-cni package and the release tarball ship them."""
    built = cni_plugins.build()
    with open_transport(node) as t:
        for plugin in cni_plugins.PLUGINS:
            t.put(built / plugin, f"{CNI_BIN_DIR}/{plugin}", mode=0o755)
    done = harness_cli("preflight", "--containerd", VERSION, *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"replaced by the migration's build {VERSION}" in done.stdout


def test_migrate_moves_the_node_onto_the_containerd_build_and_pods_run_again(lab, node,
                                                                            tmp_path):
    """The copy into containerd 1.4 goes through the build's ctr (1.4's lacks what it needs).
    The build runs under its own unit with config version 3 and took every setting; the
    package stays installed, unused. (This is the test command's containerd 2.x migration: the
    2-node version with a probed service is tests/containerd/test_migrate_on_lab.py, `long`.)"""
    done = harness_cli("migrate", "--containerd", VERSION, *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert "Check that containerd took every intended setting ... ok" in done.stderr
    assert runtime(lab) == f"containerd://{VERSION}"
    state = on_node(node, "systemctl show -p FragmentPath -p ActiveState containerd; "
                    "dpkg-query -W -f '${Status}\\n' containerd; "
                    "grep -m1 '^version' /etc/containerd/config.toml")
    for line in ("FragmentPath=/etc/systemd/system/containerd.service", "ActiveState=active",
                 "install ok installed", "version = 3"):
        assert line in state.splitlines(), state
    assert workload.run_pod(lab.api, "web-ctd2") == "Running"
    done = harness_cli("verify", *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]


def test_a_second_migrate_changes_nothing(lab, node, tmp_path):
    done = harness_cli("migrate", "--containerd", VERSION, *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    # the summary table: NODE PHASE OK CHANGED FAILED ...
    assert re.search(rf"^{node.name}\s+migrate\s+\d+\s+0\s+0\s", done.stdout, re.M), done.stdout


def test_rollback_brings_back_docker_and_the_packaged_containerd_1_4(lab, node, tmp_path):
    done = harness_cli("rollback", *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert runtime(lab).startswith("docker://20.10.5")
    assert on_node(node, "containerd --version").split()[2].startswith("1.4.13")
    # Nothing the migration installed stays: the build's binaries, its ctr, the harness's crictl.
    assert on_node(node, "ls -A /usr/local/bin").split() == []
    assert workload.run_pod(lab.api, "web-docker") == "Running"
