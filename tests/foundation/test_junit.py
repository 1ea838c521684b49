"""JUnit plumbing on REAL pytest output: per-node files, dot-free classnames, merge, counts, and
the exit code a CI job gets (0 passed, 1 failures/errors, 3 unreachable or timeout)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from harness import junit
from harness.errors import HarnessError, HarnessTimeout, StepFailed, UnreachableError
from harness.gate_policy import GatePolicy


def write_unreachable(out_dir: Path, node: str, suite: str, err: HarnessError) -> Path:
    """`suite` on `node` as the harness records a node it could not reach or that timed out:
    a step that raised `err`."""
    steps = junit.StepRecorder(node, suite)
    with contextlib.suppress(HarnessError), steps.step(f"{suite} on {node}"):
        raise err
    return steps.write(out_dir)


POLICY = GatePolicy()  # no skip budget

SAMPLE = '''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_passes(record_testsuite_property):
    record_testsuite_property("not_found_answer:test_passes", "NOT_FOUND: no such container")
    record_testsuite_property("registry_password", "s3cr3t-property")

def test_fails():
    assert 1 == 2

def test_errors(broken):
    pass

def test_skips():
    pytest.skip("not on this node")
'''


@pytest.fixture(scope="module")
def pytest_junit(tmp_path_factory) -> Path:
    """A pytest run with one pass, one failure, one error and one skip, as --junitxml."""
    work = tmp_path_factory.mktemp("hf-junit-sample")
    (work / "test_sample.py").write_text(SAMPLE)
    out = work / "raw.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-o", "addopts=", f"--junitxml={out}", "test_sample.py"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout
    return out


@pytest.fixture
def per_node(pytest_junit, tmp_path) -> Path:
    """The same run relabelled for two nodes, one named by an IP address."""
    out = tmp_path / "junit"
    junit.relabel_pytest_junit(pytest_junit, out, "10.0.0.1", "cri")
    junit.relabel_pytest_junit(pytest_junit, out, "worker-1.lab", "cri")
    return out


def test_one_file_per_node_and_suite(per_node):
    assert sorted(p.name for p in per_node.iterdir()) == [
        "junit-10_0_0_1-cri.xml", "junit-worker-1_lab-cri.xml"]


def test_suite_is_named_after_the_node(per_node, pytest_junit):
    (suite,) = JUnitXml.fromfile(str(per_node / "junit-10_0_0_1-cri.xml"))
    assert suite.name == "10.0.0.1"
    # The run's own suite properties (the CRI suite records NOT_FOUND answers) are kept.
    assert {p.name: p.value for p in suite.properties()} == {
        "node": "10.0.0.1", "suite": "cri",
        "not_found_answer:test_passes": "NOT_FOUND: no such container",
        "registry_password": "REDACTED"}  # and so in the source file too
    assert "s3cr3t-property" not in pytest_junit.read_text()


def test_classnames_have_no_dots(per_node):
    """Jenkins splits classnames at dots: node addresses and names must not be split."""
    classnames = {case.classname for path in per_node.iterdir()
                  for suite in JUnitXml.fromfile(str(path)) for case in suite}
    assert classnames == {"10_0_0_1__cri__test_sample", "worker-1_lab__cri__test_sample"}


def test_merge_counts_every_outcome(per_node, tmp_path):
    merged = junit.merge(junit.junit_files(per_node), tmp_path / "merged.xml")
    summary = junit.verify(JUnitXml.fromfile(str(tmp_path / "merged.xml")))
    assert [(s.node, s.suite, s.tests, s.passed, s.failures, s.errors, s.skipped)
            for s in summary.suites] == [("10.0.0.1", "cri", 4, 1, 1, 1, 1),
                                         ("worker-1.lab", "cri", 4, 1, 1, 1, 1)]
    assert (merged.tests, merged.failures, merged.errors, merged.skipped) == (8, 2, 2, 2)


def test_failures_map_to_exit_1(per_node):
    assert POLICY.exit_code(junit.verify(junit.merge(junit.junit_files(per_node)))) == 1


def test_an_unreachable_node_maps_to_exit_3(per_node):
    write_unreachable(per_node, "worker-2", "cri",
                            UnreachableError("node worker-2: cannot reach 10.0.0.2:22"))
    summary = junit.verify(junit.merge(junit.junit_files(per_node)))
    assert summary.suites[-1].unreachable == 1
    assert POLICY.exit_code(summary) == 3


def test_a_timeout_maps_to_exit_3(tmp_path):
    write_unreachable(tmp_path, "worker-2", "smoke", HarnessTimeout("deploy timed out"))
    (case,) = next(iter(junit.read(junit.junit_path(tmp_path, "worker-2", "smoke"))))
    assert case.result[0].type == junit.TIMEOUT
    assert POLICY.exit_code(junit.verify(junit.merge(
        [junit.junit_path(tmp_path, "worker-2", "smoke")]))) == 3


def test_all_passed_maps_to_exit_0(tmp_path):
    junit.write_suite(tmp_path, "worker-1", "smoke", [junit.CaseResult("nginx serves")])
    assert POLICY.exit_code(junit.verify(junit.merge(junit.junit_files(tmp_path)))) == 0


def test_a_suite_that_skipped_every_test_fails_the_gate(tmp_path):
    """A suite whose every test skipped checked nothing: the run is not green, and the summary
    says which suite on which node."""
    junit.write_suite(tmp_path, "worker-1", "cri", [junit.CaseResult("pulls", "skipped",
                                                                     message="no registry")])
    junit.write_suite(tmp_path, "worker-1", "oci", [junit.CaseResult("runs"),
                                                    junit.CaseResult("hooks", "skipped")])
    summary = junit.verify(junit.merge(junit.junit_files(tmp_path)))
    assert POLICY.exit_code(summary) == 1
    assert [(s.node, s.suite) for s in summary.all_skipped()] == [("worker-1", "cri")]
    assert POLICY.format(summary).endswith("FAILED: every test skipped in worker-1 cri")


def test_more_skips_than_max_skipped_fail_the_gate(tmp_path):
    junit.write_suite(tmp_path, "worker-1", "cri", [
        junit.CaseResult("runs"), *(junit.CaseResult(f"feature {i}", "skipped") for i in range(3))])
    summary = junit.verify(junit.merge(junit.junit_files(tmp_path)))
    assert [GatePolicy(n).exit_code(summary) for n in (None, 3, 2)] == [0, 0, 1]
    assert GatePolicy(2).format(summary).endswith(
        "FAILED: 3 tests skipped, more than --max-skipped 2")


def test_pipeline_steps_become_testcases(tmp_path):
    steps = junit.StepRecorder("10.0.0.3", "migration")
    with steps.step("drain"):
        pass
    with pytest.raises(StepFailed), steps.step("switch runtime"):
        raise StepFailed("containerd did not start")
    with pytest.raises(HarnessTimeout), steps.step("uncordon"):
        raise HarnessTimeout("node not Ready within 300s")
    steps.skip("smoke", "an earlier step failed")
    (suite,) = junit.read(steps.write(tmp_path))
    outcomes = {c.name: (c.classname, [(type(r).__name__, r.type) for r in c.result])
                for c in suite}
    assert outcomes == {
        "drain": ("10_0_0_3__migration", []),
        "switch runtime": ("10_0_0_3__migration", [("Failure", "failed")]),
        "uncordon": ("10_0_0_3__migration", [("Error", "TIMEOUT")]),
        "smoke": ("10_0_0_3__migration", [("Skipped", junit.STEP_SKIPPED)]),
    }


def test_cli_report_merges_prints_and_exits_with_the_mapped_code(harness, per_node, tmp_path):
    out = tmp_path / "junit.xml"  # in an existing directory: a missing one is refused
    proc = harness("report", "--junit-dir", per_node, "--out", out)
    assert proc.returncode == 1, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[0] == ["NODE", "SUITE", "TESTS", "PASSED", "FAILED", "ERRORS", "SKIPPED",
                       "STEPS", "SKIPPED", "XFAILED", "UNREACHABLE"]
    assert ["10.0.0.1", "cri", "4", "1", "1", "1", "1", "0", "0", "0"] in rows
    assert ["all", "-", "8", "2", "2", "2", "2", "0", "0", "0"] in rows
    assert JUnitXml.fromfile(str(out)).tests == 8


def test_cli_report_exit_3_when_a_node_was_unreachable(harness, per_node, tmp_path):
    write_unreachable(per_node, "worker-2", "cri", UnreachableError("gone"))
    proc = harness("report", "--junit-dir", per_node, "--out", tmp_path / "all.xml")
    assert proc.returncode == 3


def test_cli_report_on_an_empty_dir_is_an_input_error(harness_error, tmp_path):
    line = harness_error("report", "--junit-dir", tmp_path, "--out", tmp_path / "all.xml")
    assert f"no JUnit files (*.xml) in {tmp_path}" in line


def test_cli_report_names_a_file_that_is_not_junit(harness_error, tmp_path):
    (tmp_path / "junit-broken.xml").write_text("<html>")
    (tmp_path / "out").mkdir()
    line = harness_error("report", "--junit-dir", tmp_path, "--out", tmp_path / "out" / "a.xml")
    assert f"{tmp_path}/junit-broken.xml: not JUnit XML" in line


def test_suites_of_one_node_stay_apart_when_merged(tmp_path):
    """Same <testsuite name> (the node) for cri and oci: the merge must not fold them."""
    junit.write_suite(tmp_path, "worker-1", "cri", [junit.CaseResult("runtime ready")])
    junit.write_suite(tmp_path, "worker-1", "oci", [junit.CaseResult("hooks", "failed")])
    summary = junit.verify(junit.merge(junit.junit_files(tmp_path)))
    assert [(s.node, s.suite, s.tests, s.failures) for s in summary.suites] == [
        ("worker-1", "cri", 1, 0), ("worker-1", "oci", 1, 1)]
