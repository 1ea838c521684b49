"""Shared by every area's tests: skip cleanly where the host lacks root (the tests drive real
daemons); the fixtures more than one area uses. Area fixtures live in tests/<area>/conftest.py."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: these tests start real daemons")
    for item in items:
        if item.get_closest_marker("root"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pipeline_lab():
    """The lab (`hpipe`) the README's main job runs on, shared by tests/pipeline and
    tests/upgrade: the pipeline tests take it from Docker through the whole pipeline and the
    upgrade to 1.24.17; the upgrade tests then rerun, refuse and repair on it."""
    from labs import kube_lab

    with kube_lab("hpipe") as lab:
        yield lab


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory) -> Path:
    """The harness as a user installs it outside the checkout: a wheel built from a copy of this
    tree, installed with its dependencies into a fresh venv in a temporary directory. Returns
    that venv's bin directory (about 30 s with pip's cache warm)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # setuptools builds in the tree: never in the checkout itself
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "reports", ".*_cache", ".tox"))
    for argv in ([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", "dist",
                  str(source)], [sys.executable, "-m", "venv", "venv"]):
        subprocess.run(argv, cwd=base, check=True, capture_output=True, timeout=300)
    wheel = next((base / "dist").glob("*.whl"))
    subprocess.run([base / "venv" / "bin" / "pip", "install", "-q", wheel], cwd=base, check=True,
                   capture_output=True, timeout=600)
    return base / "venv" / "bin"


@pytest.fixture(scope="session")
def kube_binaries():
    """The pinned Kubernetes binaries (built once and cached in ~/.cache/harness/kube; a cold
    build takes 15-25 minutes on 2 cores)."""
    from labs import VERSION

    from harness.kube import build

    return build.build(VERSION)


@pytest.fixture(scope="module")
def control_plane(kube_binaries):
    """etcd + apiserver + controller-manager + scheduler on 127.0.0.1 (no nodes), removed
    afterwards."""
    from harness.kube.controlplane import ControlPlane

    state = Path(tempfile.mkdtemp(prefix="hk-cp-"))
    try:
        with ControlPlane(kube_binaries, state, "127.0.0.1") as cp:
            yield cp
    finally:
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory):
    """A private Docker 20.10 engine (no bridge, no iptables) for the module: the image and
    kubeadm image tests load and run images in it."""
    from harness.daemons.dockerd import Dockerd, DockerdConfig

    with Dockerd(DockerdConfig(base_dir=tmp_path_factory.mktemp("hi-dockerd"))) as daemon:
        yield daemon


# A node for the transport, pipeline and report tests: this machine reached over a real sshd
# on loopback.


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """One real sshd on loopback for the session: this machine as an inventory node."""
    from harness.daemons.sshd import SshServer

    with SshServer(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def node_entry(sshd):
    """An inventory entry for a node behind `sshd` (or behind another port, to be unreachable)."""
    def entry(name: str, port: int | None = None) -> dict:
        node = sshd.inventory_node(name)
        return {"name": name, "host": node.host, "port": port or node.port, "user": node.user,
                "ssh_key": str(node.ssh_key), "vars": dict(node.vars)}
    return entry


@pytest.fixture
def write_inventory(tmp_path):
    def write(*entries: dict):
        import yaml

        path = tmp_path / "inventory.yaml"
        path.write_text(yaml.safe_dump({"nodes": list(entries)}))
        return path
    return write
