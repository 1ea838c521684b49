"""Exec, Attach and PortForward through the runtime's streaming server (CRI v1 Exec, Attach,
PortForward return a URL; kubelet speaks the WebSocket channel protocol v4.channel.k8s.io
to it)."""

import pytest

from harness.cri import streaming
from harness.daemons.process import free_tcp_port

pytestmark = [pytest.mark.streaming, pytest.mark.conformance]
GET = b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n"
WEB_BODY = b"harness web fixture\n"


def test_exec_url_is_absolute(cri, pod):
    """ExecResponse.url is a fully qualified URL (CRI: kubelet proxies or redirects to it)."""
    url = cri.exec_url(pod.start("exec"), ["true"])
    assert url.startswith(("http://", "https://"))


def test_exec_without_tty_or_stdin(cri, pod):
    """Exec tty=false stdin=false: stdout carries exactly `hello`, stderr nothing, and the
    status channel reports success."""
    url = cri.exec_url(pod.start("exec"), ["echo", "-n", "hello"])
    result = streaming.run_exec(url)
    assert (result.stdout, result.stderr, result.exit_code) == (b"hello", b"", 0)


def test_exec_reports_exit_code_on_status_channel(cri, pod):
    """The status channel (3) carries a Status with reason NonZeroExitCode and the code."""
    url = cri.exec_url(pod.start("exec"), ["sh", "-c", "exit 5"])
    result = streaming.run_exec(url)
    assert result.status["reason"] == "NonZeroExitCode"
    assert result.exit_code == 5


def test_exec_separates_stderr(cri, pod):
    """Without tty, stderr arrives on channel 2, apart from stdout on channel 1."""
    url = cri.exec_url(pod.start("exec"), ["sh", "-c", "echo out; echo err >&2"])
    result = streaming.run_exec(url)
    assert (result.stdout, result.stderr) == (b"out\n", b"err\n")


def test_exec_with_stdin(cri, pod):
    """Exec stdin=true: bytes written on channel 0 reach the process's stdin."""
    url = cri.exec_url(pod.start("exec"), ["sh", "-c", "read line; echo got $line"], stdin=True)
    assert streaming.run_exec(url, stdin=b"abc\n").stdout == b"got abc\n"


def test_exec_with_tty_and_stdin(cri, pod):
    """Exec tty=true stdin=true: the process runs on a terminal and its output (stdout and
    stderr merged, CRLF line ends) arrives on channel 1."""
    url = cri.exec_url(pod.start("exec"), ["sh", "-c", "tty; echo hello"], tty=True, stdin=True)
    result = streaming.run_exec(url, stdin=b"", tty_size=(80, 24))
    assert b"/dev/pts/" in result.stdout
    assert b"hello\r\n" in result.stdout


def test_attach_reaches_container_stdin_and_stdout(cri, pod):
    """Attach to a container started with stdin: input on channel 0 reaches its shell, whose
    output comes back on channel 1."""
    container_id = pod.start("attached", ["sh"], stdin=True)
    url = cri.attach_url(container_id)
    result = streaming.attach_and_send(url, b"echo -n hello\n", expect=b"hello")
    assert result.stdout == b"hello"


@pytest.fixture
def web(pods, images):
    pod = pods("web")
    assert pod.wait_listening(pod.start("web", [], image=images["web"].ref), 8080)
    return pod


def test_port_forward_to_pod_port(cri, web):
    """PortForward: a connection through the forward reaches the pod's port 8080 (busybox
    httpd) and returns its page."""
    url = cri.port_forward_url(web.id, [8080])
    reply = streaming.port_forward_request(url, 8080, GET, until=WEB_BODY)
    assert reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n")[0]
    assert reply.endswith(WEB_BODY)


@pytest.mark.linux
def test_port_forward_in_host_network(cri, pods, images):
    """PortForward to a host-network sandbox reaches a port the container listens on in the
    host's network namespace."""
    port = free_tcp_port()
    pod = pods("hostnet-web", security={"namespace_options": {"network": cri.pb.NODE}})
    command = ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"]
    container_id = pod.start("web", command, image=images["web"].ref)
    assert pod.wait_listening(container_id, port)
    url = cri.port_forward_url(pod.id, [port])
    reply = streaming.port_forward_request(url, port, GET, until=WEB_BODY)
    assert b" 200 " in reply.split(b"\r\n")[0]

