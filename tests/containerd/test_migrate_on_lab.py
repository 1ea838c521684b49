"""`harness migrate --containerd 2.4.2` on a real Kubernetes lab (2 nodes, 1.23.17 on Docker):
both nodes end on the harness build of containerd 2.x under /usr/local/bin with config version
3 while a PDB-protected service is probed through every node (zero failed probes), verify
passes and a pod runs; a rollback brings Docker and the packaged containerd back. The tests
share one lab and run in file order, all `long`: the test command's containerd 2.x migration
and rollback run on the Debian 11 lab (tests/migration/test_debian11_on_lab.py)."""

from __future__ import annotations

import pytest
from kubernetes import client
from labs import harness_cli, kube_lab
from migration import workload

from harness.containerd import build
from harness.transport import open_transport

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1800), pytest.mark.long]

VERSION = build.DEFAULT_VERSION
NODE_STATE = " ; ".join([
    "systemctl show -p FragmentPath -p ActiveState containerd",
    "containerd --version",
    "echo usr-local-bin: $(ls /usr/local/bin)",
    "dpkg-query -W -f '${Status}\\n' containerd",
    "head -c 300 /etc/containerd/config.toml | grep -m1 '^version'",
])


@pytest.fixture(scope="module")
def lab(containerd2):
    with kube_lab("hctd", nodes=2) as made:
        yield made


def node_states(lab) -> dict[str, str]:
    states = {}
    for node in lab.inventory.nodes:
        with open_transport(node) as t:
            states[node.name] = t.run(NODE_STATE, timeout=60, check=False).stdout
    return states


def installed(state: str) -> list[str]:
    """The files in the node's /usr/local/bin, from node_states()."""
    return next(line for line in state.splitlines()
                if line.startswith("usr-local-bin:")).split()[1:]


def runtimes(lab) -> set[str]:
    return {n.status.node_info.container_runtime_version
            for n in client.CoreV1Api(lab.api).list_node().items}


def args(lab, tmp_path, *more: str) -> list[str]:
    return ["-i", str(lab.inventory_path), "--out", str(tmp_path), *more]


def test_an_unknown_containerd_version_is_refused_before_anything_runs(lab, tmp_path):
    done = harness_cli("migrate", "--containerd", "2.0.99", *args(lab, tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "harness migrate: --containerd 2.0.99: not a containerd version this harness can build:"
        f" use one of {VERSION} (harness/containerd/build.py RELEASES)"]
    assert {r.split("://")[0] for r in runtimes(lab)} == {"docker"}


def test_plan_shows_the_unit_and_the_version_3_config_and_changes_nothing(lab, tmp_path):
    before = node_states(lab)
    done = harness_cli("migrate", "--plan", "--containerd", VERSION, *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("+++ /etc/systemd/system/containerd.service (after)") == 2
    assert "+ExecStart=/usr/local/bin/containerd" in done.stdout
    assert "+version = 3" in done.stdout and "+sandbox = " in done.stdout
    assert node_states(lab) == before
    assert {r.split("://")[0] for r in runtimes(lab)} == {"docker"}


def test_migrate_installs_the_build_with_its_own_unit_and_config_version_3(lab, tmp_path):
    """Canary first, then the other node, under a continuously probed service."""
    workload.deploy(lab.api)
    with workload.Prober([n.host for n in lab.inventory.nodes]) as prober:
        done = harness_cli("migrate", "--containerd", VERSION, *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert done.stderr.count("Check that containerd took every intended setting ... ok") == 2
    assert runtimes(lab) == {f"containerd://{VERSION}"}
    assert prober.ok > 50
    assert prober.failures == [], prober.failures[:20]
    for state in node_states(lab).values():
        assert "FragmentPath=/etc/systemd/system/containerd.service" in state
        assert "ActiveState=active" in state
        assert f"containerd {build.MODULE} {VERSION}" in state
        assert all(b in installed(state) for b in build.BINARIES)
        assert "install ok installed" in state  # the package stays, unused
        assert "version = 3" in state


def test_verify_passes_and_a_pod_runs_on_containerd_2(lab, tmp_path):
    done = harness_cli("verify", *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert workload.run_pod(lab.api, "web-ctd2") == "Running"


def test_rollback_brings_docker_and_the_packaged_containerd_back(lab, tmp_path):
    done = harness_cli("rollback", *args(lab, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert {r.split("://")[0] for r in runtimes(lab)} == {"docker"}
    for state in node_states(lab).values():
        assert "FragmentPath=/lib/systemd/system/containerd.service" in state
        assert "ActiveState=active" in state
        assert "containerd github.com/containerd/containerd 1.6" in state
        assert not any(b in installed(state) for b in build.BINARIES)
    assert workload.run_pod(lab.api, "web-docker") == "Running"
