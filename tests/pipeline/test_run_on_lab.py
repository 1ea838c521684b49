"""The README's main job, as a user runs it: `harness run` with no inventory brings up the local
lab, runs the suites on every node and exits with the run's verdict."""

import subprocess
import sys

import pytest

from harness import junit
from harness.errors import EXIT_OK

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(1200)]  # a cold lab image
LAB = "hpipe"


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    harness = [sys.executable, "-m", "harness"]
    try:
        run = subprocess.run([*harness, "run", "--lab", LAB, "--out", str(out)],
                             capture_output=True, text=True, timeout=1800)
        yield run, out
    finally:
        subprocess.run([*harness, "lab", "down", "--name", LAB], capture_output=True,
                       timeout=300)


def test_the_main_job_passes_on_the_lab(lab_run):
    run, _ = lab_run
    assert run.returncode == EXIT_OK, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_every_node_has_its_suite_and_its_steps_in_the_report(lab_run):
    _, out = lab_run
    summary = junit.verify(junit.read(out / "junit.xml"))
    rows = {(s.node, s.suite): s for s in summary.suites}
    nodes = {node for node, suite in rows if suite == "oci"}
    assert len(nodes) == 2
    for node in nodes:
        assert rows[(node, "oci")].passed > 100
        assert rows[(node, "pipeline")].passed == rows[(node, "pipeline")].tests


def test_progress_is_shown_per_node_and_step(lab_run):
    run, _ = lab_run
    for step in ("connect", "facts", "stage", "suite oci"):
        assert f"] {step} done" in run.stderr


def test_the_cri_gate_fails_on_nodes_still_on_docker(lab_run, tmp_path):
    """Before migration the node's containerd runs Debian's default config: no CNI network and
    no sandbox image it can get offline. The gate must say so, not pass."""
    run = subprocess.run([sys.executable, "-m", "harness", "run", "--lab", LAB, "--suites", "cri",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=1800)
    assert run.returncode == 1, run.stderr[-2000:]
    failed = {case.name for suite in junit.read(tmp_path / "junit.xml") for case in suite
              if any(type(r).__name__ == "Failure" for r in case.result)}
    assert "test_status_network_ready" in failed
    assert any(name.startswith("test_sandbox_image") for name in failed), sorted(failed)
