"""LocalTransport: the same interface on this machine (used for `connection: local` nodes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import HarnessTimeout, StepFailed
from harness.inventory import Node
from harness.transport import LocalTransport, open_transport


def test_run_argv_and_shell_string():
    local = LocalTransport("hf-local")
    result = local.run(["sh", "-c", "echo out; echo err >&2; exit 4"])
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 4)
    assert local.run("echo $((6 * 7))").stdout == "42\n"
    assert local.run("cat", input=b"bytes in").stdout == "bytes in"


def test_missing_program_is_exit_127_like_a_shell():
    result = LocalTransport("hf-local").run(["/nonexistent/hf-tool"])
    assert result.exit_code == 127 and "not found" in result.stderr


def test_timeout_kills_the_command_and_its_children(tmp_path):
    pidfile = tmp_path / "pid"
    with pytest.raises(HarnessTimeout, match="node hf-local: `sleep 30 & .*` did not finish"):
        LocalTransport("hf-local").run(f"sleep 30 & echo $! > {pidfile}; wait", timeout=0.5)
    pid = pidfile.read_text().strip()
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, "the background child survived the timeout"
        time.sleep(0.05)


def _alive(pid: str) -> bool:
    try:  # a zombie is dead, only waiting for its reaper
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_check_names_the_node(tmp_path):
    with pytest.raises(StepFailed, match=r"node hf-local: `false` exited with 1"):
        LocalTransport("hf-local").run(["false"], check=True)


def test_put_and_get(tmp_path):
    local = LocalTransport("hf-local")
    (tmp_path / "a").write_text("data")
    local.put(tmp_path / "a", str(tmp_path / "b"), mode=0o600)
    local.get(str(tmp_path / "b"), tmp_path / "c")
    assert (tmp_path / "c").read_text() == "data"
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o600


def test_open_transport_picks_by_connection():
    assert isinstance(open_transport(Node("hf-a", "localhost", connection="local")),
                      LocalTransport)
