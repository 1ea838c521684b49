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
