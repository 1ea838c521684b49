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
