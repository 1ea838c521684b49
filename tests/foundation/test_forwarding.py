"""Forwarding a node's unix socket to a local one over real sshd, the way the CRI client reaches
a node's runtime: a plain stream (echo) and a real gRPC call."""

from __future__ import annotations

import shutil
import socket
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from harness.daemons.sshd import SshServer
from harness.transport import SSHTransport

pytestmark = pytest.mark.root


@pytest.fixture
def short_dir():
    """Unix socket paths must stay under 108 bytes: pytest's tmp_path can be longer."""
    path = Path(tempfile.mkdtemp(prefix="hf-sock-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def echo_socket(short_dir):
    """A unix-socket echo server on the 'node' side: echoes until the client half-closes."""
    path = short_dir / "echo.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    stop = threading.Event()

    def serve(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    server.close()


def echo_through(local: Path, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(str(local))
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)  # the half-close must travel to the far side
        received = bytearray()
        while data := client.recv(65536):
            received += data
    return bytes(received)


def test_forward_reaches_a_remote_unix_socket_over_streamlocal(transport, echo_socket, caplog):
    """OpenSSH direct-streamlocal@openssh.com channel (OpenSSH PROTOCOL 2.4)."""
    caplog.set_level("INFO", logger="harness.transport")
    payload = bytes(range(256)) * 1024
    with transport.forward_unix_socket(f"unix://{echo_socket}") as local:
        assert echo_through(local, payload) == payload
    assert "relaying through python3" not in caplog.text


def test_forward_serves_concurrent_connections(transport, echo_socket):
    with transport.forward_unix_socket(str(echo_socket)) as local, ThreadPoolExecutor(4) as pool:
        payloads = [f"client {i}".encode() * 1000 for i in range(4)]
        assert list(pool.map(lambda p: echo_through(local, p), payloads)) == payloads


def test_local_end_is_private_and_removed_afterwards(transport, echo_socket):
    with transport.forward_unix_socket(str(echo_socket)) as local:
        mode = local.stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert not local.exists() and not local.parent.exists()


def test_forward_falls_back_to_a_relay_when_sshd_refuses_streamlocal(tmp_path, echo_socket,
                                                                     caplog):
    caplog.set_level("INFO", logger="harness.transport")
    with SshServer(tmp_path / "hf-nostream", allow_streamlocal=False) as server, \
            SSHTransport(server.inventory_node("hf-hardened"),
                         known_hosts=server.known_hosts_path) as transport, \
            transport.forward_unix_socket(str(echo_socket)) as local:
        assert echo_through(local, b"through python3") == b"through python3"
    assert "relaying through python3" in caplog.text


def test_grpc_call_over_the_forwarded_socket(transport, short_dir):
    """A real gRPC server (HTTP/2) on the far side, dialled as unix://<local forward>."""
    path = short_dir / "grpc.sock"
    server = grpc.server(ThreadPoolExecutor(2))
    say = grpc.unary_unary_rpc_method_handler(lambda request, context: b"echo: " + request)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("hf.Echo",
                                                                          {"Say": say}),))
    server.add_insecure_port(f"unix://{path}")
    server.start()
    try:
        with transport.forward_unix_socket(f"unix://{path}") as local, \
                grpc.insecure_channel(f"unix://{local}") as channel:
            call = channel.unary_unary("/hf.Echo/Say")
            assert call(b"hello", timeout=10) == b"echo: hello"
            assert call(b"again", timeout=10) == b"echo: again"
    finally:
        server.stop(0)
