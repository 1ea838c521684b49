"""The kubelet streaming protocols, spoken to the URLs a runtime returns from Exec, Attach and
PortForward, over WebSocket (websocket-client).

Exec and attach use subprotocol `v4.channel.k8s.io`: every binary frame starts with a channel
byte (0 stdin, 1 stdout, 2 stderr, 3 status as a JSON metav1.Status, 4 terminal resize).
Port-forward over WebSocket uses the same subprotocol (`portforward.k8s.io` names the SPDY
flavour; containerd 1.6 answers 403 to it on a WebSocket): per forwarded port a data channel (2i)
and an error channel (2i+1); the server's first frame on each carries the port, 2 bytes
little-endian.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import websocket

from harness.errors import HarnessTimeout

EXEC_PROTOCOL = "v4.channel.k8s.io"
PORT_FORWARD_PROTOCOL = EXEC_PROTOCOL
STDIN, STDOUT, STDERR, STATUS, RESIZE = range(5)


def websocket_url(url: str, query: str = "") -> str:
    """http(s)://host/exec/TOKEN -> ws(s)://host/exec/TOKEN[?query]."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, query or parts.query, ""))


@dataclass
class StreamResult:
    """What one exec or attach session produced."""

    stdout: bytes = b""
    stderr: bytes = b""
    status: dict | None = None

    @property
    def exit_code(self) -> int | None:
        """0 for status Success; the ExitCode cause for NonZeroExitCode; None if no status."""
        if self.status is None:
            return None
        if self.status.get("status") == "Success":
            return 0
        for cause in (self.status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                return int(cause["message"])
        return None


class ChannelStream:
    """One WebSocket session with channel-byte framing."""

    def __init__(self, url: str, protocol: str, timeout: float, query: str = ""):
        self.timeout = timeout
        self.ws = websocket.create_connection(
            websocket_url(url, query), subprotocols=[protocol], timeout=timeout
        )

    def send(self, channel: int, data: bytes) -> None:
        self.ws.send_binary(bytes([channel]) + data)

    def resize(self, width: int, height: int) -> None:
        self.send(RESIZE, json.dumps({"Width": width, "Height": height}).encode())

    def recv(self) -> tuple[int, bytes] | None:
        """The next non-empty frame as (channel, payload); None once the server closed."""
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketConnectionClosedException:
                return None
            except websocket.WebSocketTimeoutException as err:
                raise HarnessTimeout(f"no stream data within {self.timeout:g}s") from err
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return None
            if data:
                return data[0], data[1:]

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> ChannelStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def collect(stream: ChannelStream, until=None, deadline: float | None = None) -> StreamResult:
    """Read frames into a StreamResult until the server closes, or `until(result)` holds."""
    result = StreamResult()
    while deadline is None or time.monotonic() < deadline:
        frame = stream.recv()
        if frame is None:
            break
        channel, data = frame
        if channel == STDOUT:
            result.stdout += data
        elif channel == STDERR:
            result.stderr += data
        elif channel == STATUS:
            result.status = json.loads(data)
        if until and until(result):
            break
    return result


def run_exec(
    url: str,
    stdin: bytes | None = None,
    timeout: float = 30.0,
    tty_size: tuple[int, int] | None = None,
) -> StreamResult:
    """Run a prepared Exec (its command and flags are in the URL's token) to completion."""
    with ChannelStream(url, EXEC_PROTOCOL, timeout) as stream:
        if tty_size:
            stream.resize(*tty_size)
        if stdin is not None:
            stream.send(STDIN, stdin)
        return collect(stream, deadline=time.monotonic() + timeout)


def attach_and_send(url: str, stdin: bytes, expect: bytes, timeout: float = 30.0) -> StreamResult:
    """Attach, write `stdin`, read until stdout contains `expect` (attach never ends by itself)."""
    with ChannelStream(url, EXEC_PROTOCOL, timeout) as stream:
        stream.send(STDIN, stdin)
        return collect(
            stream, until=lambda r: expect in r.stdout, deadline=time.monotonic() + timeout
        )


def port_forward_request(
    url: str, port: int, payload: bytes, until: bytes, timeout: float = 30.0
) -> bytes:
    """Send `payload` to the pod's `port` through the forward; return data up to `until`.

    The server announces the port on the data and the error channel first; anything on the
    error channel after that is the runtime's error for this connection.
    """
    with ChannelStream(url, PORT_FORWARD_PROTOCOL, timeout, query=f"port={port}") as stream:
        announced: set[int] = set()
        received = b""
        sent = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = stream.recv()
            if frame is None:
                break
            channel, data = frame
            if channel not in announced:
                if int.from_bytes(data[:2], "little") != port:
                    raise ValueError(f"port-forward channel {channel} announced {data[:2]!r}")
                announced.add(channel)
                data = data[2:]
                if announced == {0, 1} and not sent:
                    stream.send(0, payload)
                    sent = True
                if not data:
                    continue
            if channel == 1:
                raise ConnectionError(f"port-forward error: {data.decode(errors='replace')}")
            received += data
            if until in received:
                break
        return received
