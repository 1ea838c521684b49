"""A local unix socket whose every connection is relayed to a stream opened on demand (an SSH
channel to a node's socket): how a gRPC client here reaches a runtime socket over there."""

from __future__ import annotations

import logging
import os
import select
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("harness.transport")

CHUNK = 65536


class UnixSocketRelay:
    """`with UnixSocketRelay(open_stream, label) as path:` serves `path` until the block ends.

    `open_stream()` returns a socket-like object (recv, sendall, fileno, close, and
    shutdown_write or shutdown) or raises OSError-like errors, which close that one connection.
    """

    def __init__(self, open_stream: Callable[[], object], label: str):
        self.open_stream = open_stream
        self.label = label
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._dir: Path | None = None
        self._server: socket.socket | None = None

    def __enter__(self) -> Path:
        # A short private directory: unix socket paths are limited to 107 bytes.
        self._dir = Path(tempfile.mkdtemp(prefix="hf-fwd-"))
        path = self._dir / "sock"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        os.chmod(path, 0o600)  # only this user may use the node's runtime through us
        self._server.listen(16)
        self._server.settimeout(0.2)  # so the accept loop notices the stop flag
        self._spawn(self._accept_loop)
        return path

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        if self._server:
            self._server.close()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True,
                                  name=f"relay {self.label}")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            stream = self.open_stream()
        except Exception as err:  # any failure ends this connection only, never the relay
            log.warning("%s: cannot open the far side: %s", self.label, err)
            conn.close()
            return
        try:
            _pump(conn, stream, self._stop)
        finally:
            conn.close()
            stream.close()


def _pump(a, b, stop: threading.Event) -> None:
    """Copy both ways until both directions saw EOF (half-close is passed on) or `stop`."""
    write_to = {a: b, b: a}
    while write_to and not stop.is_set():
        readable, _, _ = select.select(list(write_to), [], [], 0.2)
        for src in readable:
            try:
                data = src.recv(CHUNK)
                dst = write_to[src]
                if data:
                    dst.sendall(data)
                    continue
                del write_to[src]
                _shutdown_write(dst)
            except Exception as err:  # socket or SSH channel gone: this connection is over
                log.debug("relay ends: %s", err)
                return


def _shutdown_write(end) -> None:
    if hasattr(end, "shutdown_write"):  # a paramiko Channel
        end.shutdown_write()
    else:
        end.shutdown(socket.SHUT_WR)
