"""Container logs in the CRI log format and ReopenContainerLog (CRI v1 PodSandboxConfig.
log_directory, ContainerConfig.log_path; kubelet's log format: `<RFC3339Nano> <stream> <P|F>
<content>`)."""

import re
import time
from datetime import datetime

import pytest

pytestmark = pytest.mark.conformance

LINE = re.compile(rb"^(\S+) (stdout|stderr) (F|P) (.*)$")


def _log_lines(path):
    return [LINE.match(line) for line in path.read_bytes().splitlines()]


def _wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def logged_pod(pods, host_dir):
    """A pod whose log_directory is a fresh host directory."""
    return pods("logs", log_directory=str(host_dir))


def test_stdout_is_written_in_cri_log_format(logged_pod, host_dir):
    """ContainerConfig.log_path under log_directory: each stdout line is logged as
    `<RFC3339Nano timestamp> stdout F <line>`."""
    logged_pod.run("echo", ["echo", "hello World"], log_path="echo/0.log")
    (match,) = _log_lines(host_dir / "echo" / "0.log")
    assert match, "log line does not match the CRI log format"
    timestamp, stream, tag, content = match.groups()
    datetime.fromisoformat(timestamp.decode()[:26] + "+00:00")  # RFC 3339, nanoseconds cut
    assert (stream, tag, content) == (b"stdout", b"F", b"hello World")


def test_stderr_is_tagged_stderr(logged_pod, host_dir):
    """The CRI log tags lines written to stderr with the stream name `stderr`."""
    logged_pod.run("err", ["sh", "-c", "echo oops >&2"], log_path="err.log")
    (match,) = _log_lines(host_dir / "err.log")
    assert match and match.group(2, 4) == (b"stderr", b"oops")


def test_partial_line_is_tagged_p(logged_pod, host_dir):
    """A last line without a newline is still logged; a line the runtime split is tagged P
    (partial) and the final piece F."""
    logged_pod.run("partial", ["sh", "-c", "printf 'no newline'"], log_path="partial.log")
    matches = _log_lines(host_dir / "partial.log")
    assert all(matches)
    assert b"".join(m.group(4) for m in matches) == b"no newline"


def test_reopen_container_log_starts_a_new_file(cri, logged_pod, host_dir):
    """ReopenContainerLog: after the log file was renamed, the runtime creates a new file at
    log_path that receives the next lines, and the renamed file stops growing."""
    script = "i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done"
    container_id = logged_pod.start("rotating", ["sh", "-c", script], log_path="rot.log")
    log = host_dir / "rot.log"
    _wait_for(lambda: log.exists() and log.stat().st_size > 0, what="the first log line")
    rotated = log.rename(host_dir / "rot.log.1")
    cri.reopen_log(container_id)
    _wait_for(lambda: log.exists() and log.stat().st_size > 0, what="lines in the new log")
    size = rotated.stat().st_size
    time.sleep(0.3)  # several writes of the container: none may land in the old file
    assert rotated.stat().st_size == size
