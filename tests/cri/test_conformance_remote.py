"""`harness conformance --inventory`: the suite is staged onto each node and runs there, the way
`harness run` runs it (a private sshd and a private containerd on this machine stand in for the
node), with one JUnit file per node and suite and one for the node's steps."""

import subprocess
import sys

import pytest
import yaml
from junitparser import JUnitXml
from outcomes import read_junit

from harness.daemons.sshd import SshServer

from .conftest import REPO

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def ssh_node(tmp_path):
    with SshServer(tmp_path / "sshd") as server:
        yield server


def conformance_on_node(ssh_node, containerd, tmp_path, *pytest_args: str):
    """`harness conformance --inventory` on the sshd node, whose runtime is `containerd`."""
    node = ssh_node.inventory_node("hc-node")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"nodes": [{
        "name": node.name, "host": node.host, "port": node.port, "user": node.user,
        "ssh_key": str(node.ssh_key), "cri_endpoint": containerd.endpoint,
        "vars": node.vars}]}))
    return subprocess.run(
        [sys.executable, "-m", "harness", "conformance", "--inventory", str(inventory),
         "--junit-dir", str(tmp_path / "junit"), "--", *pytest_args],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)


def test_suite_runs_on_an_inventory_node_over_ssh(ssh_node, private_containerd, tmp_path):
    done = conformance_on_node(
        ssh_node, private_containerd, tmp_path, "-k",
        "test_version_names or test_exec_sync_returns_stdout or test_host_path_volume")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    junit = tmp_path / "junit" / "junit-hc-node-cri.xml"
    # On the node, the checks that read its filesystem run too (they skipped over a socket).
    assert read_junit(junit) == {"test_version_names_runtime_and_api": "passed",
                                 "test_exec_sync_returns_stdout": "passed",
                                 "test_host_path_volume_is_visible": "passed"}
    suites = list(JUnitXml.fromfile(str(junit)))
    assert [s.name for s in suites] == ["hc-node"]
    assert all("." not in case.classname for case in suites[0])
    steps = read_junit(tmp_path / "junit" / "junit-hc-node-conformance_steps.xml")
    # The fixture images the suite imported into the node's containerd are removed after it.
    assert steps == {"connect": "passed", "facts": "passed", "stage": "passed",
                     "suite cri": "passed",
                     "remove the fixture images the CRI suite imported": "passed"}


def test_a_skip_no_entry_allows_fails_on_an_inventory_node_too(ssh_node, private_containerd,
                                                              tmp_path):
    """The gate policy of `harness run` holds here too: the suite runs with --strict-skips (no
    --tls-registry given, and a list that allows nothing)."""
    none_allowed = tmp_path / "none-allowed.yaml"
    none_allowed.write_text("[]\n")
    done = conformance_on_node(ssh_node, private_containerd, tmp_path, "-k",
                               "test_pull_from_tls_registry_with_ca", "--allowed-skips",
                               str(none_allowed))
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    junit = tmp_path / "junit" / "junit-hc-node-cri.xml"
    assert read_junit(junit) == {"test_pull_from_tls_registry_with_ca": "failed"}
    assert "no --tls-registry given" in junit.read_text()


def test_an_unknown_node_is_one_line_naming_the_inventory(ssh_node, tmp_path):
    node = ssh_node.inventory_node("hc-node")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"nodes": [{
        "name": node.name, "host": node.host, "port": node.port, "user": node.user,
        "ssh_key": str(node.ssh_key), "vars": node.vars}]}))
    done = subprocess.run(
        [sys.executable, "-m", "harness", "conformance", "--inventory", str(inventory),
         "--node", "nope"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"harness conformance: {inventory}: no node named 'nope': nodes are: hc-node"]
