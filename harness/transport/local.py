"""Commands and files on this machine, through the same interface as a remote node."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from harness.errors import HarnessTimeout, StepFailed
from harness.transport.base import (
    REDACTED,
    Command,
    CommandResult,
    Transport,
    as_bytes,
    checked,
    command_text,
)


class LocalTransport(Transport):
    def __init__(self, node_name: str = "local", become: bool = False):
        self.node_name = node_name
        self.become = become

    def run(self, cmd: Command, timeout: float = 60.0, input: str | bytes | None = None,
            check: bool = False, become: bool | None = None,
            sensitive: bool = False) -> CommandResult:
        argv = list(cmd) if isinstance(cmd, list) else ["/bin/sh", "-c", cmd]
        if (self.become if become is None else become) and os.geteuid() != 0:
            argv = ["sudo", "-n", "--", *argv]
        shown = REDACTED if sensitive else command_text(cmd)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            # What a shell would say, so callers treat local and remote nodes alike.
            return CommandResult(shown, "", f"{argv[0]}: not found", 127,
                                 time.monotonic() - start)
        try:
            out, err = proc.communicate(as_bytes(input), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: a shell's children too
            proc.communicate()
            raise HarnessTimeout(f"node {self.node_name}: `{shown}` did not finish within "
                                 f"{timeout:g}s") from None
        result = CommandResult(shown, out.decode(errors="replace"), err.decode(errors="replace"),
                               proc.returncode, time.monotonic() - start)
        return checked(result, self.node_name) if check else result

    def put(self, local: Path | str, remote: str, mode: int = 0o644) -> None:
        try:
            shutil.copyfile(local, remote)
            os.chmod(remote, mode)
        except OSError as err:
            raise StepFailed(f"node {self.node_name}: cannot copy {local} to {remote}: "
                             f"{err.strerror}") from None

    def get(self, remote: str, local: Path | str) -> None:
        try:
            shutil.copyfile(remote, local)
        except OSError as err:
            raise StepFailed(f"node {self.node_name}: cannot copy {remote} to {local}: "
                             f"{err.strerror}") from None
