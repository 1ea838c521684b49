"""The one interface every way of reaching a node offers: run a command, copy files, and
forward a unix socket (so gRPC clients such as the CRI client can dial a node's runtime)."""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputError, StepFailed

Command = list[str] | str
REDACTED = "<sensitive command>"


@dataclass(frozen=True)
class CommandResult:
    command: str
    stdout: str
    stderr: str
    exit_code: int
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class HostKeyError(InputError):
    """The node's host key is unknown or differs from known_hosts: the user must decide."""


class AuthenticationError(InputError):
    """The node refused our key, or the key cannot be used."""


class Transport(ABC):
    """Run commands and move files on one node. Use as a context manager to close it."""

    node_name: str

    @abstractmethod
    def run(self, cmd: Command, timeout: float = 60.0, input: str | bytes | None = None,
            check: bool = False, become: bool | None = None,
            sensitive: bool = False) -> CommandResult:
        """Run `cmd` (an argv list, quoted for the remote shell, or a shell string).
        `become` overrides the node's setting; `sensitive` keeps the command text (tokens)
        out of logs, results and errors. Raises HarnessTimeout after `timeout` seconds and,
        with `check`, StepFailed on a non-zero exit."""

    @abstractmethod
    def put(self, local: Path | str, remote: str, mode: int = 0o644) -> None:
        """Copy a local file to `remote` (a path on the node) with `mode`."""

    @abstractmethod
    def get(self, remote: str, local: Path | str) -> None:
        """Copy the node's file `remote` to `local`."""

    def close(self) -> None:  # noqa: B027 - optional: only connection-holding transports close
        """Release connections; the default has none."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def command_text(cmd: Command) -> str:
    return shlex.join(cmd) if isinstance(cmd, list) else cmd


def as_bytes(data: str | bytes | None) -> bytes | None:
    return data.encode() if isinstance(data, str) else data


def checked(result: CommandResult, node_name: str) -> CommandResult:
    if result.ok:
        return result
    stderr = " ".join(result.stderr.split())[-300:] or "(no stderr)"
    raise StepFailed(f"node {node_name}: `{result.command}` exited with {result.exit_code}",
                     hint=stderr)
