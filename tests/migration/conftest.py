"""Fixtures for the migration tests: one Kubernetes lab (`hm`, 2 nodes, 1.23.17 on Docker)
shared by the whole session, since the migration tests walk it through one life: preflight,
plan, migrate, verify, rollback. Removed afterwards even if a test failed."""

from __future__ import annotations

import pytest
from labs import harness_cli as run_harness
from labs import kube_lab

LAB = "hm"


@pytest.fixture(scope="session")
def migration_lab():
    with kube_lab(LAB) as lab:
        yield lab


@pytest.fixture
def harness_cli():
    """Run `harness ARGS` as a user would (a new process); returns the CompletedProcess."""
    return run_harness
