"""The JUnit a run writes (tests/report/report_run.py: the harness's own writers, real pytest
runs) as Jenkins' xUnit plugin and GitLab read it (dashboards.py): every file conforms to the
schema the plugin validates against, and GitLab shows one row per node, suite, test and step,
grouped by node with no dot from a hostname or address in a classname. Each check is also fed
a broken document and must go red."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dashboards import Rows, gitlab_rows, schema_errors
from report_run import BROKEN, CHOSEN, NODES, RESULTS, VERIFY_FAILURE

from harness import junit


def our_files(run_dir: Path) -> list[Path]:
    """What the harness itself writes: the per-node files and the merged one (junit/raw holds
    pytest's own files before they are relabelled)."""
    return [*sorted((run_dir / "junit").glob("*.xml")), run_dir / "junit.xml"]


def test_every_file_the_run_writes_conforms_to_the_xunit_schema(run_dir):
    files = our_files(run_dir)
    assert len(files) > 10
    for path in files:
        assert schema_errors(path) == [], path


@pytest.mark.parametrize("breakage", [
    ('<testcase name="', '<testcase file="suites/cri/test_x.py" name="'),  # GitLab's, not xUnit's
    ('<testsuite name="', '<testsuite tests="1" name="'),  # declared twice: not XML
    ("<testsuites ", '<testsuites skipped="3" '),  # junitparser's total, which xUnit refuses
    (' tests="', ' cases="'),  # the count xUnit needs is missing
    (' time="', ' time="1.23456" x="'),  # more than three decimals in a suite time
    ("<properties>", "<properties><value/>"),
], ids=["testcase file", "not XML", "testsuites skipped", "no tests", "suite time",
        "unknown element"])
def test_the_schema_check_rejects_what_xunit_rejects(run_dir, breakage):
    original = (run_dir / "junit.xml").read_bytes()
    old, new = breakage
    assert old.encode() in original
    broken = original.replace(old.encode(), new.encode(), 1)
    try:
        errors = schema_errors(broken)
    except Exception as err:  # noqa: BLE001 - not even XML: the plugin rejects it as well
        errors = [str(err)]
    assert errors


def gitlab_problems(read: Rows) -> list[str]:
    """What a GitLab reader would lose or show wrongly: dropped duplicate rows, classnames that
    a dot splits, or that do not start with the node of their suite."""
    problems = [f"dropped duplicate: {r.classname} {r.name}" for r in read.dropped]
    for row in read.rows:
        if "." in row.classname:
            problems.append(f"dot in classname {row.classname!r}")
        if not row.classname.startswith(f"{junit.identity(row.suite)}{junit.SEPARATOR}"):
            problems.append(f"classname {row.classname!r} not grouped under node {row.suite!r}")
    return problems


def test_gitlab_shows_every_testcase_as_one_row_grouped_by_node(run_dir):
    merged = gitlab_rows(run_dir / "junit.xml")
    assert gitlab_problems(merged) == []
    per_file = sum(len(gitlab_rows(p).rows) for p in (run_dir / "junit").glob("*.xml"))
    assert len(merged.rows) == per_file == junit.verify(junit.read(run_dir / "junit.xml")) \
        .total().tests


def test_gitlab_has_a_row_per_node_phase_step_and_test(run_dir):
    rows = {(r.classname, r.name): r for r in gitlab_rows(run_dir / "junit.xml").rows}
    for node in NODES:
        ident = junit.identity(node)
        for phase in CHOSEN:  # the pipeline's row of each phase; the suites' as "suite <name>"
            name = f"suite {phase}" if phase in ("cri", "oci") else phase
            owner = "cluster" if phase.startswith("smoke-") else ident
            assert (f"{owner}__pipeline", name) in rows, (node, phase)
        for phase in ("preflight", "migrate", "verify"):  # every playbook task on the node
            tasks = [name for name, _ in RESULTS.get(phase, [("gather state", None)])]
            for task in (*tasks, "optional step", "check runtime"):
                assert (f"{ident}__{phase}", f"{phase}: {task}") in rows
        for label in ("smoke-before", "smoke-after"):  # the same tests, once per smoke run
            for test in ("test_pod_runs_on_node", "test_private_image_pulls"):
                assert (f"{ident}__{label}__test_smoke_like", f"{test}[{node}]") in rows
    assert ("worker-1__cri__test_suite_like", "test_runtime_status_ready") in rows
    assert ("worker-1__oci__test_suite_like", "test_runtime_status_ready") in rows


def test_gitlab_reads_status_message_output_and_time(run_dir):
    rows = gitlab_rows(run_dir / "junit.xml").rows
    failed = next(r for r in rows if r.suite == BROKEN and r.name == "verify: check runtime")
    assert failed.status == "failed"
    assert failed.message.startswith(VERIFY_FAILURE)
    assert "connection refused" in failed.output  # the task result, as the failure's text
    skipped = next(r for r in rows if r.suite == BROKEN and r.name == "suite cri")
    assert skipped.status == "skipped" and "verify failed there" in skipped.message
    assert all(r.time >= 0 for r in rows)
    assert {r.status for r in rows} == {"success", "failed", "skipped"}


def test_the_gitlab_check_sees_a_lost_row_and_a_dotted_classname(run_dir):
    text = (run_dir / "junit.xml").read_text()
    case = re.search(r"<testcase [^>]*/>", text).group(0)
    doubled = text.replace(case, case + case, 1).encode()
    assert any(p.startswith("dropped duplicate") for p in gitlab_problems(gitlab_rows(doubled)))
    dotted = text.replace('classname="worker_2__', 'classname="worker.2__', 1).encode()
    assert any("dot in classname" in p for p in gitlab_problems(gitlab_rows(dotted)))
