"""Node locks, on a real node (this machine, through the local transport, its state directory
under tmp_path) and a real API server: a second run on a node held by a live run is refused
naming the holder; a lock whose holder is gone is taken over; a failing run and a Ctrl-C
release the lock."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from harness.inventory import load_inventory
from harness.migration import phase
from harness.nodes import lock

from .conftest import local_inventory

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]

# A run that holds node locks until it is interrupted: what another `harness migrate` does
# while its playbook works.
HOLDER = textwrap.dedent("""
    import sys, time
    from harness.inventory import load_inventory
    from harness.migration import phase
    from harness.nodes import lock

    with lock.held(load_inventory(sys.argv[1]).nodes, "harness migrate", phase.state_dir):
        print("held", flush=True)
        time.sleep(120)
""")


def lock_file(tmp_path, name="node-a"):
    return tmp_path / "state" / name / lock.LOCK_FILE


@pytest.fixture
def holder(api_cluster, tmp_path):
    """A live process holding node-a's lock; interrupted (Ctrl-C) at the end if still there."""
    inventory = local_inventory(tmp_path, ["node-a"], api_cluster)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(inventory)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n"
    yield proc, inventory
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_second_run_is_refused_naming_the_holder(holder, harness_cli, tmp_path):
    proc, inventory = holder
    done = harness_cli("migrate", "-i", str(inventory), "--out", str(tmp_path / "out"))
    lines = done.stderr.splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stdout + done.stderr
    assert lines[0].startswith(f"harness migrate: node node-a is locked by `harness migrate` "
                               f"(pid {proc.pid}, root@{socket.gethostname()}, since "), lines[0]
    assert str(lock_file(tmp_path)) in lines[0]  # where to look if that run is gone
    assert not (tmp_path / "out" / "ansible").exists()  # no playbook ran
    assert json.loads(lock_file(tmp_path).read_text())["pid"] == proc.pid  # still the holder's


def test_ctrl_c_releases_the_lock(holder, tmp_path):
    proc, _ = holder
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert not lock_file(tmp_path).exists()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("host,age,taken", [
    ("here", 0, True),  # same operator host, its pid gone: taken over
    ("ops-2", lock.MAX_AGE + 60, True),  # another host's, older than the maximum age
    ("ops-2", 0, False),  # another host's, fresh: its pid cannot be checked from here
], ids=["dead-pid", "too-old", "other-host-fresh"])
def test_a_lock_whose_holder_is_gone_is_taken_over(api_cluster, tmp_path, host, age, taken):
    inventory = load_inventory(local_inventory(tmp_path, ["node-a"], api_cluster))
    stale = lock.Holder(socket.gethostname() if host == "here" else host, "ops", _dead_pid(),
                        time.time() - age, "harness migrate")
    lock_file(tmp_path).parent.mkdir(parents=True)
    lock_file(tmp_path).write_text(stale.text)
    if not taken:
        refused = f"locked by `harness migrate` \\(pid {stale.pid}, ops@ops-2"
        with pytest.raises(lock.NodeLocked, match=refused), \
                lock.held(inventory.nodes, "harness rollback", phase.state_dir):
            pass
        assert lock_file(tmp_path).read_text() == stale.text
        return
    with lock.held(inventory.nodes, "harness rollback", phase.state_dir) as me:
        assert lock_file(tmp_path).read_text() == me.text
    assert not lock_file(tmp_path).exists()


def test_a_failing_run_releases_the_lock(api_cluster, harness_cli, tmp_path):
    """The node has no Python where Ansible looks (a real fault: every module on it fails), so
    the rollback fails at its first step on the node."""
    inventory = local_inventory(tmp_path, ["node-a"], api_cluster,
                                ansible_python_interpreter="/nonexistent/python3")
    done = harness_cli("rollback", "-i", str(inventory), "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED node-a: Read the kubelet, Docker and containerd configuration" in done.stdout
    assert lock_file(tmp_path).parent.is_dir()  # the lock was taken: its directory is there
    assert not lock_file(tmp_path).exists()
