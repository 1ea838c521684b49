"""Fixtures for the lab tests: the node image (built once, cached in ~/.cache across runs), a
2-node lab shared by a module, and a view of every host object a lab can leave behind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from labs import plain_lab

from harness.lab import state
from harness.lab.image import ensure_image
from harness.lab.network import LabNetwork


def _harness_lab(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "lab", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def harness_lab():
    """Run `harness lab ARGS` as a user would (a separate process)."""
    return _harness_lab


@pytest.fixture(scope="session")
def node_image():
    return ensure_image()


@pytest.fixture(scope="module")
def lab(node_image):
    """A 2-node lab named `hlt`, removed after the module even if a test failed."""
    with plain_lab("hlt", 2) as inventory:
        yield inventory


@pytest.fixture(scope="session")
def host_traces():
    """host_traces(lab, slot) -> {kind: set of names} of what lab `lab` has on the host."""
    return _host_traces


def _host_traces(lab: str, slot: int | None = None) -> dict[str, set[str]]:
    """Everything on the host that belongs to lab `lab` by its names: mounts, links (bridge and
    veths of its slot), network namespaces, processes, iptables rules and cgroups."""
    lab_dir = str(state.lab_dir(lab))
    links = set()
    if slot is not None:
        net = LabNetwork(lab, slot)
        links = {p.name for p in Path("/sys/class/net").iterdir()
                 if p.name == net.bridge or p.name.startswith(f"hl-b{slot}n")}
    traces: dict[str, set[str]] = {
        "mounts": {line.split()[4] for line in Path("/proc/self/mountinfo").read_text()
                   .splitlines() if lab_dir in line},
        "links": links,
        "netns": {p.name for p in Path("/run/netns").glob(f"hl-{lab}-*")},
        "iptables": {rule for rule in subprocess.run(["iptables", "-w", "-S"],
                     capture_output=True, text=True, check=True).stdout.splitlines()
                     if f"harness-lab:{lab}" in rule},
        "cgroups": {str(p) for p in Path("/sys/fs/cgroup").glob(f"**/hl-{lab}-*")
                    if p.is_dir()},
        "nspawn run files": {p.name for p in Path("/run/systemd/nspawn/propagate")
                             .glob(f"hl-{lab}-*")} | {p.name for p in
                             Path("/run/systemd/nspawn/locks").glob("*")},
        "processes": set(),
        "node data": {str(p) for p in (state.lab_dir(lab) / "nodes").glob("*")},
    }
    cgroup_mark = re.compile(rf"/hl-{lab}-\d+(/|$)", re.M)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroup = (proc / "cgroup").read_text()
            dead = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        if dead:  # a zombie waits for its (non-systemd) parent to reap it: nothing runs
            continue
        if lab_dir in cmdline or cgroup_mark.search(cgroup):
            traces["processes"].add(f"{proc.name} {cmdline[:80]}")
    return traces
