"""Progress as a person and as CI see it: on a terminal a live per-node table (rich) under the
event lines; with CI set, or without a terminal, plain `[node] message` lines and no escape
codes. Run in a real pseudo-terminal, as a shell would run `harness run`."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

PROGRAM = """
import time
from harness import progress
with progress.board():
    progress.progress("worker-1", "migrate ...")
    progress.progress("worker-1, worker-2", "verify ...")
    progress.progress("worker-2", "test_x[worker-2] failed")
    time.sleep(0.8)  # the table refreshes 4 times a second
"""
LINES = ["[worker-1] migrate ...", "[worker-1, worker-2] verify ...",
         "[worker-2] test_x[worker-2] failed"]


def environment(**changes: str | None) -> dict[str, str]:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    for name, value in changes.items():
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    return env


def on_terminal(env: dict[str, str]) -> str:
    """What PROGRAM writes to a pseudo-terminal (stdout and stderr both go there)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: never returns
        os.execve(sys.executable, [sys.executable, "-c", PROGRAM], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_a_terminal_gets_a_live_table_per_node():
    out = on_terminal(environment(CI=None))
    assert "\x1b[" in out  # drawn and redrawn
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)  # the text a person reads
    assert "node" in out and "step" in out and "events" in out
    for line in LINES:  # each event also stays as a line
        assert line in out, line
    table_rows = [line for line in out.splitlines() if "worker-2" in line and "│" in line]
    assert any("test_x[worker-2] failed" in row for row in table_rows), out


def test_ci_on_a_terminal_gets_plain_lines():
    out = on_terminal(environment(CI="true"))
    assert "\x1b" not in out
    assert out.replace("\r\n", "\n").splitlines() == LINES


def test_no_terminal_gets_plain_lines():
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          env=environment(CI=None), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == LINES and done.stdout == ""
