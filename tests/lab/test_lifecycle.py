"""`lab down` leaves nothing behind, an interrupted `lab up` is repaired by the next one, and
labs with different names coexist. Each test uses its own 1-node lab through the CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from harness.lab import state
from harness.providers.lab import LabProvider
from harness.transport import open_transport

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def lab_names(node_image, harness_lab):
    """Lab names a test may create; removed afterwards whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        harness_lab("down", "--name", name)


def test_lab_down_leaves_no_trace(lab_names, harness_lab, host_traces):
    """Mounts, links, namespaces, processes (Docker's containers included), iptables rules,
    cgroups and node data are all gone after `lab down`."""
    lab_names.append("hltd")
    assert not any(host_traces("hltd").values())
    assert harness_lab("up", "--name", "hltd", "--nodes", "1").returncode == 0
    slot = state.load("hltd").slot
    node = LabProvider("hltd").inventory().nodes[0]
    with open_transport(node) as t:
        t.run("docker run -d --name sleeper harness.local/busybox:1.0 sleep 600", check=True,
              timeout=60)
    during = host_traces("hltd", slot)
    assert all(during.values()), {kind for kind, found in during.items() if not found}
    down = harness_lab("down", "--name", "hltd")
    assert down.returncode == 0, down.stderr
    assert not any(host_traces("hltd", slot).values()), host_traces("hltd", slot)
    assert not state.lab_dir("hltd").exists()


def test_lab_up_repairs_an_interrupted_lab_up(lab_names, harness_lab):
    """`lab up` killed while its machine boots, then `lab up` again: the lab works."""
    lab_names.append("hltk")
    first = subprocess.Popen([sys.executable, "-m", "harness", "lab", "up", "--name", "hltk",
                              "--nodes", "1"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    for line in first.stderr:
        if "booting systemd" in line or time.monotonic() > deadline:
            break
    first.kill()
    first.wait()
    again = harness_lab("up", "--name", "hltk", "--nodes", "1")
    assert again.returncode == 0, again.stderr
    assert [(s.ssh_ok, s.runtime_ok) for s in LabProvider("hltk").status()] == [(True, True)]


def test_two_labs_with_different_names_coexist(lab_names, harness_lab):
    """Each lab gets its own bridge and subnet; both answer at once."""
    lab_names.extend(["hlta", "hltb"])
    for name in lab_names:
        result = harness_lab("up", "--name", name, "--nodes", "1")
        assert result.returncode == 0, result.stderr
    a, b = (state.load(name) for name in lab_names)
    assert a.network.bridge != b.network.bridge and a.network.subnet != b.network.subnet
    for name in lab_names:
        status = harness_lab("status", "--name", name)
        assert status.returncode == 0 and "running" in status.stdout, status.stdout
