"""Endpoint discovery in crictl's order and the CRI client's API negotiation, against a real
private containerd (never the host's default sockets)."""

import socket
import socketserver
import threading

import pytest

from harness.cri.client import CriClient
from harness.cri.endpoint import discover
from harness.errors import UnreachableError

pytestmark = pytest.mark.root


def test_explicit_endpoint_wins_over_env_and_config(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///from/config.sock\n")
    found = discover("/explicit.sock", env={"CONTAINER_RUNTIME_ENDPOINT": "unix:///env.sock"},
                     config_path=config)
    assert (found.runtime, found.source) == ("unix:///explicit.sock", "--cri-endpoint")


def test_env_wins_over_config(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///from/config.sock\n")
    found = discover(env={"CONTAINER_RUNTIME_ENDPOINT": "unix:///env.sock"}, config_path=config)
    assert found.runtime == "unix:///env.sock"


def test_crictl_yaml_gives_endpoints_and_timeout(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("runtime-endpoint: unix:///rt.sock\nimage-endpoint: /img.sock\n"
                      "timeout: 7\n")
    found = discover(env={}, config_path=config)
    assert (found.runtime, found.image, found.timeout) == ("unix:///rt.sock",
                                                           "unix:///img.sock", 7.0)


def test_known_sockets_are_tried_in_order_until_one_answers(tmp_path, private_containerd):
    """Dead candidates (no socket file) are skipped; the first that answers CRI wins."""
    dead = f"unix://{tmp_path}/dead.sock"
    found = discover(env={}, config_path=tmp_path / "none.yaml",
                     known=(dead, private_containerd.endpoint, f"unix://{tmp_path}/later.sock"))
    assert (found.runtime, found.source) == (private_containerd.endpoint, "known socket")


def test_nothing_answering_names_everything_tried(tmp_path):
    dead = f"unix://{tmp_path}/dead.sock"
    with pytest.raises(UnreachableError) as err:
        discover(env={}, config_path=tmp_path / "none.yaml", known=(dead,))
    assert dead in str(err.value) and "CONTAINER_RUNTIME_ENDPOINT" in str(err.value)


def test_bad_crictl_yaml_is_an_input_error(tmp_path):
    config = tmp_path / "crictl.yaml"
    config.write_text("- just\n- a list\n")
    with pytest.raises(Exception, match="crictl.yaml"):
        discover(env={}, config_path=config)


def test_client_negotiates_v1_with_containerd_1_6(private_containerd):
    assert CriClient(private_containerd.endpoint).api.version == "v1"


class _Relay(socketserver.ThreadingTCPServer):
    """127.0.0.1:PORT relayed to a unix socket: containerd on TCP, as crictl's tcp:// reaches a
    runtime, without changing the runtime's config."""

    daemon_threads = True

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        super().__init__(("127.0.0.1", 0), _RelayHandler)


class _RelayHandler(socketserver.BaseRequestHandler):
    def handle(self):
        with socket.socket(socket.AF_UNIX) as upstream:
            upstream.connect(self.server.socket_path)
            pipe = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
            pipe.start()
            _pump(self.request, upstream)
            pipe.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    while data := source.recv(65536):
        sink.sendall(data)
    sink.shutdown(socket.SHUT_WR)


def test_client_reaches_a_runtime_at_a_tcp_endpoint(private_containerd):
    """tcp://host:port, as crictl takes it (gRPC itself would read it as a DNS name)."""
    with _Relay(private_containerd.address) as relay:
        threading.Thread(target=relay.serve_forever, daemon=True).start()
        try:
            client = CriClient(f"tcp://127.0.0.1:{relay.server_address[1]}")
            assert client.api.version == "v1"
            assert client.condition("RuntimeReady").status
        finally:
            relay.shutdown()


def test_client_speaks_v1alpha2_when_asked(private_containerd):
    """containerd 1.6 serves both; the v1alpha2 path (dockershim-era runtimes) works too."""
    client = CriClient(private_containerd.endpoint, api_version="v1alpha2")
    assert client.version().runtime_api_version == "v1alpha2"
    assert client.condition("RuntimeReady").status


def test_client_cleanup_removes_everything_with_its_run_label(private_containerd):
    client = CriClient(private_containerd.endpoint)
    sandbox_id = client.run_sandbox(client.sandbox_config("cleanup"))
    assert client.cleanup() == (0, 1)
    assert client.leftovers() == ([], [])
    assert client.list_sandboxes(id=sandbox_id) == []
