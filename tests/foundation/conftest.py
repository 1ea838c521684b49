"""Fixtures for the foundation tests: a real OpenSSH server on loopback, the harness CLI, and
small inventory and key helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.daemons.sshd import keygen
from harness.transport import SSHTransport

HARNESS = Path(sys.executable).parent / "harness"


@pytest.fixture(scope="session")
def ssh_server(sshd):
    """The session's sshd (tests/conftest.py): most tests only need to log in."""
    return sshd


@pytest.fixture
def transport(ssh_server):
    with SSHTransport(ssh_server.inventory_node("hf-node"),
                      known_hosts=ssh_server.known_hosts_path) as connected:
        yield connected


@pytest.fixture
def new_key(tmp_path):
    """Make a fresh ed25519 key pair (mode 0600) in tmp_path; returns the private key path."""
    def make(name: str = "hf-key", passphrase: str = "") -> Path:
        path = tmp_path / name
        if passphrase:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f",
                            str(path)], check=True)
        else:
            keygen(path, name)
        return path
    return make


@pytest.fixture
def harness():
    """Run the installed `harness` console script, as a user would."""
    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(HARNESS), *map(str, args)], capture_output=True, text=True,
                              timeout=60, env=env)
    return run


@pytest.fixture
def harness_error(harness):
    """Run the harness expecting the CLI's error contract: the given exit code, exactly one
    line on stderr, no traceback. Returns that line."""
    def run(*args: str, code: int = 2, env: dict | None = None) -> str:
        proc = harness(*args, env=env)
        assert "Traceback" not in proc.stderr + proc.stdout
        assert proc.returncode == code, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        return lines[0]
    return run
