"""Bad input to the migration commands: one line naming the flag, file or node, exit 2, before
anything runs (no playbook, no crictl build, no node touched)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.migration.batches import plan

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
    (("migrate", "--batch-size", "0"), "harness migrate: error: argument --batch-size: '0' is "
     "not from 1 to 1000 (see --help)"),
    (("migrate", "--batch-size", "-2"), "harness migrate: error: argument --batch-size: '-2' is "
     "not from 1 to 1000 (see --help)"),
    (("migrate", "--canary", "-1"), "harness migrate: --canary -1: must be 0 or more: a number "
     "of nodes, or node names separated by commas"),
    (("migrate", "--canary", "worker-1", "--batch", "worker-2,worker-1"),
     "harness migrate: --batch worker-2,worker-1: node worker-1 is already in batch 1 "
     "(--canary worker-1): name each node in one batch only"),
    (("migrate", "--batch", "worker-1", "--batch", "control-1,worker-1"),
     "harness migrate: --batch control-1,worker-1: node worker-1 is already in batch 2 "
     "(--batch worker-1): name each node in one batch only"),
    (("migrate", "--canary", "worker-9"), "harness migrate: --canary worker-9: 'worker-9' is not "
     "a node of this run: nodes are: control-1, worker-1, worker-2"),
    (("migrate", "--node", "worker-1", "--batch", "worker-2"), "harness migrate: --batch "
     "worker-2: 'worker-2' is not a node of this run: nodes are: worker-1"),
    (("migrate", "--max-fail", "101"), "harness migrate: error: argument --max-fail: '101' is "
     "not from 0 to 100 (see --help)"),
    (("migrate", "--drain-timeout", "0"), "harness migrate: error: argument --drain-timeout: "
     "'0' is not from 1 to 86400 (see --help)"),
    (("migrate", "--crictl-version", "1.2.3"), "harness migrate: --crictl-version 1.2.3: not a "
     "crictl version this harness can build: use one of 1.34.0, 1.37.0 (harness/critools.py "
     "RELEASES)"),
], ids=["unknown-node", "unknown-node-verify", "batch-size-0", "batch-size-negative",
        "negative-canary", "canary-node-in-a-batch", "node-in-two-batches", "unknown-canary",
        "batch-outside-node-selection", "max-fail-over-100", "drain-timeout-0",
        "unknown-crictl"])
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


@pytest.mark.parametrize("canary,size,named,batches", [
    ("1", 1, [], [["a"], ["b"], ["c"], ["d"], ["e"]]),
    ("1", 2, [], [["a"], ["b", "c"], ["d", "e"]]),
    ("0", 3, [], [["a", "b", "c"], ["d", "e"]]),
    ("d", 2, [], [["d"], ["a", "b"], ["c", "e"]]),
    ("1", 1, ["a,e"], [["b"], ["a", "e"], ["c"], ["d"]]),
    ("c,a", 5, ["e", "b"], [["c", "a"], ["e"], ["b"], ["d"]]),
], ids=["default", "batch-size-2", "no-canary", "canary-by-name", "count-skips-named",
        "all-named"])
def test_batches_run_canary_then_named_then_the_rest(canary, size, named, batches):
    """The order the playbook's `serial` follows: every node once."""
    assert plan(["a", "b", "c", "d", "e"], canary, size, named) == batches
