"""One gate policy for every command: strict skips, the skip budget and the all-skipped rule.
Only test skips spend the budget: Ansible's conditional task skips, blocked pipeline phases and
strict xfails (documented deviations that failed as expected) are counted apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import junit, matrix
from harness.errors import EXIT_FAILURES, EXIT_OK
from harness.gate_policy import STRICT_SKIPS, GatePolicy
from harness.migration import runner

SAMPLE = '''
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("no such feature here")

@pytest.mark.xfail(strict=True, reason="deviates from the spec")
def test_known_deviation():
    assert False
'''


@pytest.fixture
def run_with_every_kind_of_skip(tmp_path) -> junit.Summary:
    """A real pytest run (a pass, a skip, a strict xfail) on node-1, Ansible's rows for a task
    whose condition was false, and a pipeline phase blocked on node-1."""
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    raw = tmp_path / "raw.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
                    "addopts=", f"--junitxml={raw}", "test_sample.py"], cwd=tmp_path,
                   capture_output=True, timeout=60, check=True)
    out = tmp_path / "junit"
    junit.relabel_pytest_junit(raw, out, "node-1", "oci")
    playbook = runner.PlaybookRun("migrate", 0, tmp_path, [
        runner.TaskResult("node-1", "stop kubelet", "changed", 1.0, {"changed": True}),
        runner.TaskResult("node-1", "remove dockershim flags", "skipped", 0.0, {
            "changed": False, "skip_reason": "Conditional result was False"})])
    runner.write_junit(playbook, out, {"node-1": "10.0.0.1"})
    steps = junit.StepRecorder("node-1", "pipeline")
    steps.skip("smoke-upgraded", "smoke-upgraded not run on node-1: upgrade failed there")
    steps.write(out)
    return junit.verify(junit.merge(junit.junit_files(out)))


def test_only_test_skips_spend_the_skip_budget(run_with_every_kind_of_skip):
    total = run_with_every_kind_of_skip.total()
    assert (total.skipped, total.tests_skipped, total.steps_skipped, total.xfailed) == (4, 1, 2, 1)
    assert GatePolicy(1).exit_code(run_with_every_kind_of_skip) == EXIT_OK
    assert GatePolicy(0).exit_code(run_with_every_kind_of_skip) == EXIT_FAILURES
    assert GatePolicy(0).format(run_with_every_kind_of_skip).endswith(
        "FAILED: 1 tests skipped, more than --max-skipped 0")


def test_the_summary_shows_each_kind_of_skip_apart(run_with_every_kind_of_skip):
    rows = [line.split() for line in junit.format_summary(run_with_every_kind_of_skip)
            .splitlines()]
    assert rows[-1] == ["all", "-", "6", "2", "0", "0", "1", "2", "1", "0"]


def test_every_suite_runs_with_strict_skips():
    assert GatePolicy().suite_args == GatePolicy(5).suite_args == (STRICT_SKIPS,)


@pytest.mark.parametrize("command", [
    ["run"], ["conformance"], ["conformance", "--matrix"], ["smoke"], ["report", "."]],
    ids=" ".join)
def test_every_command_takes_the_same_skip_budget_flag(harness_error, command):
    line = harness_error(*command, "--max-skipped", "-1")
    assert line.endswith("argument --max-skipped: '-1' is not from 0 to 1000000000 "
                         "(see --help)"), line


def cell_summary(tmp_path: Path, *outcomes: str) -> junit.Summary:
    path = junit.write_suite(tmp_path, "cell", "oci", [
        junit.CaseResult(f"test_{i}", outcome) for i, outcome in enumerate(outcomes)])
    return junit.verify(junit.read(path))


@pytest.mark.parametrize("outcomes, policy, ok", [
    (("passed", "skipped"), GatePolicy(), True),
    (("skipped", "skipped"), GatePolicy(), False),  # checked nothing
    (("passed", "skipped", "skipped"), GatePolicy(1), False),  # over the budget
    (("passed", "skipped"), GatePolicy(1), True),
])
def test_a_matrix_cell_passes_by_the_policy_alone(tmp_path, outcomes, policy, ok):
    cell = matrix.CELLS[-1]
    result = matrix.CellResult(cell, tmp_path / "x.xml", 0, 1.0, policy,
                               summary=cell_summary(tmp_path, *outcomes))
    assert result.ok is ok


def test_the_verdict_every_command_prints_names_each_failing_test(tmp_path):
    """smoke, report, conformance and run print one verdict: the summary, the policy's
    problems and each failing test, with the exit code that goes with it."""
    path = junit.write_suite(tmp_path, "node-1", "cri", [
        junit.CaseResult("test_ok", "passed"),
        junit.CaseResult("test_broken", "failed", message="assert 0")])
    code, text = GatePolicy().verdict(junit.read(path))
    assert code == EXIT_FAILURES
    summary = junit.format_summary(junit.verify(junit.read(path)))
    assert text.startswith(summary) and "test_broken" in text[len(summary):]
