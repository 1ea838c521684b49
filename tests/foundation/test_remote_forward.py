"""SSHTransport.remote_forward: a node's loopback port leading back to a service here, as the
registries of the pull tests reach inventory nodes (harness.nodes.registries). A real sshd on
this machine plays the node: its listener on the forwarded port is sshd's own, and what
arrives there travels through the SSH connection to the registry."""

import urllib.error
import urllib.request

import pytest

from harness import images
from harness.daemons.process import free_tcp_port
from harness.daemons.registry import Registry, RegistryConfig
from harness.daemons.sshd import SshServer
from harness.errors import StepFailed
from harness.images import load
from harness.transport import SSHTransport

pytestmark = [pytest.mark.root]


@pytest.fixture(scope="module")
def forwarding_sshd(tmp_path_factory):
    with SshServer(tmp_path_factory.mktemp("sshd-fwd"), tcp_forwarding="yes") as server:
        yield server


@pytest.fixture
def registry(tmp_path):
    with Registry(RegistryConfig(tmp_path / "registry", auth=("u", "pw"))) as running:
        yield running


def answers(port: int) -> int:
    """The HTTP status of the registry's API root through 127.0.0.1:`port`."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_a_push_and_a_pull_travel_through_the_forward(forwarding_sshd, registry):
    port = free_tcp_port("127.0.0.1")
    node = forwarding_sshd.inventory_node("hf-fwd")
    with SSHTransport(node, known_hosts=forwarding_sshd.known_hosts_path) as t, \
            t.remote_forward(port, ("127.0.0.1", registry.port)):
        assert answers(port) == 401  # the registry's own answer: it wants the credentials
        built = images.build("busybox")
        ref = load.into_registry(f"http://127.0.0.1:{port}", built, auth=("u", "pw"))[0]
        manifest = t.run(["python3", "-c", (
            "import base64, urllib.request; r = urllib.request.Request("
            f"'http://127.0.0.1:{port}/v2/{ref.split('/', 1)[1].replace(':', '/manifests/')}', "
            "headers={'Authorization': 'Basic ' + base64.b64encode(b'u:pw').decode(), "
            "'Accept': 'application/vnd.oci.image.manifest.v1+json,"
            "application/vnd.docker.distribution.manifest.v2+json'}); "
            "print(urllib.request.urlopen(r, timeout=10).status)")], check=True)
        assert manifest.stdout.strip() == "200"
    with pytest.raises(OSError):
        answers(port)  # the forward ends with the block


def test_a_node_whose_sshd_refuses_the_forward_is_one_line_naming_it(sshd, registry):
    """The session's sshd allows local forwarding only, as hardened fleets often do."""
    node = sshd.inventory_node("hf-nofwd")
    with SSHTransport(node, known_hosts=sshd.known_hosts_path) as t, \
            pytest.raises(StepFailed) as refused, \
            t.remote_forward(free_tcp_port("127.0.0.1"), ("127.0.0.1", registry.port)):
        pass
    assert str(refused.value).startswith("node hf-nofwd: sshd refused to forward its 127.0.0.1:")
    assert "AllowTcpForwarding" in refused.value.hint
