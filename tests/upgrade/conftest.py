"""Fixtures for the upgrade tests: the pipeline's lab (`hpipe`, see tests/conftest.py) once it
is migrated and upgraded to 1.24.17. The pipeline tests leave it so; run alone, these tests get
there with `harness migrate` and `harness upgrade` first. The refusals on Docker nodes are
tested in tests/pipeline, while the lab is still on Docker."""

from __future__ import annotations

import pytest
from kubernetes import client
from labs import harness_cli as run_harness

FROM = "1.23.17"
TO = "1.24.17"


@pytest.fixture
def harness_cli():
    return run_harness


@pytest.fixture(scope="session")
def upgrade_lab(pipeline_lab):
    kubelets = {n.status.node_info.kubelet_version
                for n in client.CoreV1Api(pipeline_lab.api).list_node().items}
    if kubelets != {f"v{TO}"}:
        for args in (("migrate",), ("upgrade", "--to", TO)):
            done = run_harness(*args, "--lab", pipeline_lab.name)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return pipeline_lab
