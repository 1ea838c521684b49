"""`harness conformance`: runs suites/cri against an endpoint, writes JUnit, maps exit codes."""

import platform
import subprocess
import sys

import pytest
from junitparser import JUnitXml

from .conftest import REPO

pytestmark = pytest.mark.root


def harness(*args):
    return subprocess.run([sys.executable, "-m", "harness", "conformance", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def test_passing_run_exits_0_and_writes_junit(private_containerd, tmp_path):
    done = harness("--cri-endpoint", private_containerd.endpoint, "--junit-dir", str(tmp_path),
                   "--workers", "1", "--", "-k", "test_version")
    assert done.returncode == 0, done.stdout + done.stderr
    junit = tmp_path / f"junit-{platform.node()}-cri.xml"
    cases = [case.name for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert sorted(cases) == ["test_version_api_matches_negotiated_api",
                             "test_version_names_runtime_and_api"]


def test_failing_test_exits_1(containerd_factory, tmp_path):
    containerd = containerd_factory(cni=False)
    done = harness("--cri-endpoint", containerd.endpoint, "--junit-dir", str(tmp_path),
                   "--workers", "1", "--", "-k", "test_status_network_ready")
    assert done.returncode == 1


def test_unreachable_endpoint_exits_3_in_one_line(tmp_path):
    missing = f"unix://{tmp_path}/none.sock"
    done = harness("--cri-endpoint", missing, "--junit-dir", str(tmp_path))
    assert done.returncode == 3
    assert f"{missing} (from --cri-endpoint)" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_a_run_where_every_test_skipped_exits_1(private_containerd, tmp_path):
    """The restart check skips without --allow-runtime-restart: a run of only that checked
    nothing, and must not pass the gate."""
    done = harness("--cri-endpoint", private_containerd.endpoint, "--junit-dir", str(tmp_path),
                   "--workers", "1", "--", "-k", "test_restart_keeps_sandboxes_and_containers")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"FAILED: every test skipped in {platform.node()} cri" in done.stdout
