"""Bad input to the migration commands: one line naming the flag, file or node, exit 2, before
anything runs (no playbook, no crictl build, no node touched)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory-ansible.yaml"


@pytest.fixture
def harness(tmp_path):
    kubeconfig = tmp_path / "admin.conf"
    kubeconfig.write_text("{}\n")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "harness", *args, "-i", str(EXAMPLE),
                               "--kubeconfig", str(kubeconfig), "--out", str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=60)
    return run


@pytest.mark.parametrize("args,line", [
    (("migrate", "--node", "nosuch"), f"harness migrate: {EXAMPLE}: no node named 'nosuch': "
     "nodes are: control-1, worker-1, worker-2"),
    (("verify", "--node", "worker-9"), f"harness verify: {EXAMPLE}: no node named 'worker-9': "
     "nodes are: control-1, worker-1, worker-2"),
    (("migrate", "--batch-size", "0"), "harness migrate: --batch-size: must be at least 1"),
    (("migrate", "--canary", "-1"), "harness migrate: --canary: must be 0 or more"),
    (("migrate", "--max-fail", "101"), "harness migrate: --max-fail: a percentage from 0 to 100"),
    (("migrate", "--crictl-version", "1.2.3"), "harness migrate: --crictl-version 1.2.3: not a "
     "crictl version this harness can build: use one of 1.34.0, 1.37.0 (harness/crictl.py "
     "RELEASES)"),
], ids=["unknown-node", "unknown-node-verify", "batch-size-0", "negative-canary",
        "max-fail-over-100", "unknown-crictl"])
def test_bad_input_is_one_line_and_exit_2(harness, args, line, tmp_path):
    done = harness(*args)
    assert (done.returncode, done.stderr.splitlines()) == (2, [line])
    assert not (tmp_path / "out" / "ansible").exists()  # no playbook ran


def test_a_missing_kubeconfig_is_named(tmp_path):
    done = subprocess.run([sys.executable, "-m", "harness", "preflight", "-i", str(EXAMPLE),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("harness preflight: kubeconfig ") and \
        "--kubeconfig" in done.stderr and len(done.stderr.splitlines()) == 1
