"""Shared by every area's tests: skip cleanly where the host lacks root (the tests drive real
daemons). Area fixtures live in tests/<area>/conftest.py."""

import os

import pytest


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
def kube_binaries():
    """The pinned Kubernetes binaries (built once and cached in ~/.cache/harness/kube; a cold
    build takes 15-25 minutes on 2 cores)."""
    from labs import VERSION

    from harness.kube import build

    return build.build(VERSION)


@pytest.fixture(scope="module")
def control_plane(kube_binaries):
    """etcd + apiserver + controller-manager + scheduler on 127.0.0.1, removed afterwards."""
    import shutil
    import tempfile
    from pathlib import Path

    from harness.kube.controlplane import ControlPlane

    state = Path(tempfile.mkdtemp(prefix="hk-cp-"))
    try:
        with ControlPlane(kube_binaries, state, "127.0.0.1") as cp:
            yield cp
    finally:
        shutil.rmtree(state, ignore_errors=True)
