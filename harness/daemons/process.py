"""A supervised background process: start it, wait until it answers, stop it, keep its log."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessTimeout, MissingToolError, StepFailed


@dataclass
class Daemon:
    """One daemon process. `ready` is polled until it returns True (or the process dies)."""

    name: str
    argv: Sequence[str]
    log_path: Path
    ready: Callable[[], bool]
    env: dict[str, str] | None = None
    start_timeout: float = 30.0
    stop_timeout: float = 10.0
    proc: subprocess.Popen | None = field(default=None, init=False)

    def start(self) -> Daemon:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        try:
            self.proc = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,  # a Ctrl-C in the terminal must not kill it mid-test
            )
        except FileNotFoundError as err:
            raise MissingToolError(
                f"{self.name}: {self.argv[0]} not found", hint="run scripts/setup.sh"
            ) from err
        finally:
            log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StepFailed(
                    f"{self.name} exited with code {self.proc.returncode} while starting",
                    hint=f"its log is {self.log_path}: {self.tail()}",
                )
            try:
                if self.ready():
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise HarnessTimeout(
            f"{self.name} did not become ready within {self.start_timeout:.0f}s",
            hint=f"its log is {self.log_path}: {self.tail()}",
        )

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass

    def running(self) -> bool:
        return bool(self.proc) and self.proc.poll() is None

    def tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def unix_socket_answers(path: Path) -> bool:
    """True once something accepts connections on the unix socket at `path`."""
    import socket

    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def tcp_port_answers(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_tcp_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def unmount_below(base: Path) -> None:
    """Lazily unmount everything mounted below `base`, deepest first (daemons leave mounts)."""
    prefix = str(base.resolve()) + "/"
    mounts = [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4].startswith(prefix)
    ]
    for target in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)
