"""The containerd 2.x build, shared by the build and config tests: built once into
~/.cache/harness/containerd (a cold build takes about two minutes on 2 cores)."""

from __future__ import annotations

import pytest

from harness.containerd import build
from harness.kube.build import Built


@pytest.fixture(scope="session")
def containerd2() -> Built:
    return build.build(build.DEFAULT_VERSION)
