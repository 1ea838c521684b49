"""The parts of the CRI suite's kubelet handling that need no lab (the lab test is
test_kubelet_watchdog_on_lab.py): bad watchdog budgets and a node without a cluster to drain
it through are one-line input errors, and the node-side uncordon reads both kinds of kubelet
kubeconfig (data embedded, as the lab writes it; files, as kubeadm does)."""

import base64
import os
import subprocess
import sys

import pytest
import yaml

from harness.errors import InputError
from harness.inventory import Node
from harness.kube import pki
from harness.nodes import suites, uncordon_self

SPEC = suites.SuiteRun(("cri",), junit_dir=None)


@pytest.mark.parametrize("value", ["soon", 0, -5, True, 1.5])
def test_a_bad_watchdog_budget_is_an_input_error_naming_node_and_field(value):
    node = Node("worker-1", "10.0.0.1", vars={"kubelet_watchdog_seconds": value})
    with pytest.raises(InputError, match=r"^inventory node worker-1: vars\."
                       r"kubelet_watchdog_seconds .*: not a whole number of seconds"):
        suites.watchdog_seconds(node, 900)


def test_the_budget_is_the_suite_timeout_and_slack_unless_the_inventory_says():
    assert suites.watchdog_seconds(Node("a", "h"), 900) == 900 + suites.WATCHDOG_SLACK
    assert suites.watchdog_seconds(Node("a", "h", vars={"kubelet_watchdog_seconds": 60}),
                                   900) == 60


@pytest.mark.parametrize("command", [["conformance"], ["run", "--phases", "cri", "--out"]])
def test_a_bad_budget_stops_the_run_before_any_node_is_touched(tmp_path, command):
    """The node is unreachable (a closed port): only the budget can be what is reported."""
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump({"nodes": [{
        "name": "worker-1", "host": "127.0.0.1", "port": 9,
        "vars": {"kubelet_watchdog_seconds": "soon"}}]}))
    argv = [*command, str(tmp_path / "out")] if command[0] == "run" else command
    done = subprocess.run([sys.executable, "-m", "harness", *argv, "--inventory", str(path)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CI": "true"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"harness {command[0]}: inventory node worker-1: vars.kubelet_watchdog_seconds 'soon': "
        "not a whole number of seconds above 0: give it as e.g. 1200, longer than the suite "
        "runs")
    assert "reach" not in done.stderr  # no node was contacted


def test_a_running_kubelet_without_a_cluster_to_drain_through_is_refused():
    with pytest.raises(InputError, match="node worker-1: its kubelet runs and the inventory "
                       r"names no cluster \(cluster.kubeconfig\).*--live-node"):
        suites.drain_for_suite(Node("worker-1", "h"), SPEC)


def test_the_uncordon_reads_a_kubeconfig_with_embedded_data():
    ca = pki.CertificateAuthority.create()
    text = pki.kubeconfig("https://10.0.0.1:6443", ca.pem, "system:node:worker-1",
                          ca.issue("system:node:worker-1", client=True))
    fields = uncordon_self.kubeconfig_fields(text)
    assert fields["server"] == "https://10.0.0.1:6443"
    assert set(fields) == {"server", "certificate-authority-data", "client-certificate-data",
                           "client-key-data"}
    assert yaml.safe_load(text)["users"][0]["user"]["client-key-data"] == \
        fields["client-key-data"]


def test_the_uncordon_reads_kubeadms_kubeconfig_with_files():
    text = """apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://192.168.1.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: system:node:worker-1
  name: system:node:worker-1@kubernetes
current-context: system:node:worker-1@kubernetes
kind: Config
preferences: {}
users:
- name: system:node:worker-1
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
"""
    assert uncordon_self.kubeconfig_fields(text) == {
        "server": "https://192.168.1.10:6443", "certificate-authority-data": "LS0tLS1CRUdJTg==",
        "client-certificate": "/var/lib/kubelet/pki/kubelet-client-current.pem",
        "client-key": "/var/lib/kubelet/pki/kubelet-client-current.pem"}


@pytest.mark.parametrize("command", ["run", "conformance"])
def test_live_node_is_in_the_help(command):
    done = subprocess.run([sys.executable, "-m", "harness", command, "--help"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert "--live-node" in done.stdout and "draining" in " ".join(done.stdout.split())


@pytest.fixture(scope="module")
def cordoned_nodes(control_plane):
    """Nodes `node-a` and `node-b`, both cordoned, on the loopback control plane (Node
    authorizer and NodeRestriction, as a kubeadm cluster has them)."""
    from kubernetes import client

    core = client.CoreV1Api(control_plane.api_client())
    for name in ("node-a", "node-b"):
        core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name),
                                       spec=client.V1NodeSpec(unschedulable=True)))
    return control_plane, core


def uncordon_as(kubeconfig, node: str) -> subprocess.CompletedProcess:
    """The script as the watchdog runs it: the system's python3, nothing but the file."""
    return subprocess.run(["/usr/bin/python3", uncordon_self.__file__, str(kubeconfig), node],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.root
@pytest.mark.slow
@pytest.mark.parametrize("files", [False, True], ids=["embedded", "kubeadm-files"])
def test_the_kubelets_own_credentials_uncordon_its_node_and_no_other(cordoned_nodes, tmp_path,
                                                                     files):
    control_plane, core = cordoned_nodes
    core.patch_node("node-a", {"spec": {"unschedulable": True}})
    creds = pki.node_credentials(control_plane.pki, control_plane.server, "node-a", "127.0.0.1")
    conf = tmp_path / "kubelet.conf"
    if files:  # kubeadm: the rotated pair in one file the kubeconfig names twice
        doc = yaml.safe_load(creds.kubelet_conf)
        user = doc["users"][0]["user"]
        pair = tmp_path / "kubelet-client-current.pem"
        pair.write_bytes(base64.b64decode(user.pop("client-certificate-data"))
                         + base64.b64decode(user.pop("client-key-data")))
        user.update({"client-certificate": str(pair), "client-key": str(pair)})
        conf.write_text(yaml.safe_dump(doc))
    else:
        conf.write_text(creds.kubelet_conf)
    refused = uncordon_as(conf, "node-b")
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr[-500:]
    assert core.read_node("node-b").spec.unschedulable
    done = uncordon_as(conf, "node-a")
    assert done.returncode == 0, done.stderr[-1000:]
    assert not core.read_node("node-a").spec.unschedulable
