"""report.html from a run's JUnit (tests/report/report_run.py makes it with the harness's own
writers): the matrix, a failure's detail behind its cell's link, escaping, no network
resource, and `harness report DIR` rebuilding the same page."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys

import pytest
from report_page import read_page
from report_run import BROKEN, INJECTION, NODES, VERIFY_FAILURE, VERSIONS, make_run

from harness import junit
from harness.gate_policy import GatePolicy
from harness.pipeline import PHASES
from harness.report import html as report_html
from harness.report import model, task_results

PHASE_ORDER = ["provision", "preflight", "smoke-before", "migrate", "verify", "cri", "oci",
               "smoke-after"]


@pytest.fixture(scope="module")
def page_text(run_dir):
    return (run_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(run_dir):
    return read_page(run_dir / "report.html")


def test_the_run_writes_report_html_beside_the_merged_junit(run_dir):
    assert (run_dir / "junit.xml").is_file()
    assert (run_dir / "report.html").stat().st_size > 0


def test_the_matrix_has_a_row_per_node_and_the_phases_in_pipeline_order(page):
    assert page.columns == PHASE_ORDER
    rows = list(dict.fromkeys(node for node, _ in page.cells))
    assert rows == [*NODES, "cluster", "report-lab"]


def test_each_cell_is_coloured_by_its_outcome(page):
    status = {key: cell["status"] for key, cell in page.cells.items()}
    for phase in ("preflight", "migrate", "verify", "cri", "oci", "smoke-after"):
        assert status[("worker-1", phase)] == "pass", phase
    assert status[(BROKEN, "verify")] == "fail"
    # verify failed there, so the suites were blocked: skipped rows naming verify
    assert status[(BROKEN, "cri")] == status[(BROKEN, "oci")] == "skipped"
    assert "verify failed there" in page.cells[(BROKEN, "cri")]["title"]
    assert status[(BROKEN, "smoke-after")] == "fail"  # its regression
    assert status[("cluster", "smoke-before")] == "pass"
    assert status[("cluster", "migrate")] == "absent"
    assert status[("report-lab", "provision")] == "pass"


def test_a_cell_shows_its_counts(page):
    # 3 tasks (one skipped) and the pipeline's verify row; the failing task fails that row too
    assert "1 passed, 2 failed, 1 skipped" in page.cells[(BROKEN, "verify")]["title"]


def test_a_failing_cell_links_to_its_failure_and_the_failure_holds_message_and_detail(
        page, page_text):
    link = page.cells[(BROKEN, "verify")]["link"]
    assert link.startswith("#failure-") and link[1:] in page.ids
    section = re.search(rf'<section[^>]*id="{re.escape(link[1:])}".*?</section>', page_text,
                        re.S).group(0)
    assert VERIFY_FAILURE in html.unescape(section)
    assert "crictl info: connection refused" in section  # the task result, in the detail
    assert "verify: check runtime" in section
    assert 'href="ansible/verify/nodes/worker_2.json"' in section
    passing = page.cells[("worker-1", "verify")]
    assert passing["link"] == ""


def test_every_failure_and_error_has_an_entry(run_dir, page_text):
    failing = junit.failures(junit.read(run_dir / "junit.xml"))
    # verify on worker.2 (its task and its pipeline row), its smoke test, its regression row,
    # and the cluster's smoke-after row naming it
    assert len(failing) == 5
    assert page_text.count('<section class="failure') == len(failing)
    assert "test_private_image_pulls[worker.2]" in page_text


def test_markup_in_a_message_is_text_not_markup(page_text):
    assert "<script" not in page_text.lower()
    assert INJECTION in html.unescape(page_text)


def test_the_page_loads_nothing_from_a_network(page, page_text):
    for tag, attributes in page.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        for name in ("src", "href", "action", "data"):
            assert not attributes.get(name, "").lower().startswith(("http:", "https:", "//")), \
                (tag, attributes)
    assert not re.search(r"url\(|@import", page_text)
    assert "http://" not in page_text and "https://" not in page_text


def test_each_node_shows_its_runtime_and_kubelet_before_and_after(page_text):
    change = f"{VERSIONS['runtime before']} → {VERSIONS['runtime after']}"
    assert page_text.count(html.escape(change)) == len(NODES)
    assert "kernel: 6.1.0-test" in page_text
    assert "not_found_answer" not in page_text  # a suite's own property is not a node fact


def test_artifact_links_point_at_files_of_the_run(run_dir, page):
    links = [a["href"] for tag, a in page.tags if tag == "a" and not a["href"].startswith("#")]
    assert links
    for href in links:
        assert (run_dir / href).is_file(), href


def test_durations_and_the_slowest_tests(run_dir):
    view = model.build(junit.read(run_dir / "junit.xml"), PHASES, run_dir)
    assert [t.column for t in view.times] == PHASE_ORDER
    assert len(view.slowest) == model.SLOWEST
    assert [c.time for c in view.slowest] == sorted((c.time for c in view.slowest), reverse=True)
    assert all(c.suite != model.PIPELINE for c in view.slowest)
    cri = next(t for t in view.times if t.column == "cri")
    assert cri.wall is not None and cri.wall >= 0.3  # the suite's slow test ran inside it


def test_the_smoke_runs_are_compared(run_dir, page_text):
    view = model.build(junit.read(run_dir / "junit.xml"), PHASES, run_dir)
    assert view.smoke_labels == ["smoke-before", "smoke-after"]
    assert [(c.node, c.test, c.outcomes) for c in view.smoke_changes] == [
        (BROKEN, f"test_private_image_pulls[{BROKEN}]", ("passed", "failed"))]
    regressed = {r.node: r.outcome for r in view.regressions}
    assert regressed == {"worker-1": "passed", BROKEN: "failed", "cluster": "passed"}


def test_the_page_is_made_for_narrow_windows_and_print(page_text):
    assert 'name="viewport"' in page_text
    assert "@media print" in page_text and "@media (max-width" in page_text
    assert 'class="scroll"' in page_text


def test_phase_columns_follow_the_suite_and_the_pipeline_row():
    assert model.column_of("verify", "any task", PHASES) == "verify"
    assert model.column_of("smoke-after regressions", "no regressions", PHASES) == "smoke-after"
    assert model.column_of("pipeline", "migrate", PHASES) == "migrate"
    assert model.column_of("pipeline", "suite cri", PHASES) == "cri"
    assert model.column_of("pipeline", "stop kubelet for the CRI suite", PHASES) == "cri"
    assert model.column_of("pipeline", "connect", PHASES) == "provision"
    assert model.column_of("conformance steps", "stage", PHASES) == "conformance steps"


def test_durations_read_at_a_glance():
    assert [report_html.duration(s) for s in (4.24, 185, 3725)] == ["4.2s", "3m 05s", "1h 02m"]


def _without_render_line(text: str) -> str:
    return re.sub(r'<p class="muted">From .*?</p>', "", text, flags=re.S)


def test_harness_report_dir_rebuilds_the_same_page(run_dir, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(run_dir, copy)
    (copy / "report.html").unlink()
    (copy / "junit.xml").unlink()
    done = subprocess.run([sys.executable, "-m", "harness", "report", str(copy)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # the run had failures
    assert f"report: {copy / 'report.html'}" in done.stdout
    assert (copy / "junit.xml").is_file()
    assert _without_render_line((copy / "report.html").read_text()) == \
        _without_render_line((run_dir / "report.html").read_text())


def test_harness_report_with_junit_dir_and_out_writes_the_page_beside_out(run_dir, tmp_path):
    out = tmp_path / "merged" / "all.xml"
    out.parent.mkdir()  # a missing directory is refused, never made
    done = subprocess.run([sys.executable, "-m", "harness", "report", "--junit-dir",
                           str(run_dir / "junit"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert read_page(out.parent / "report.html").cells[(BROKEN, "verify")]["status"] == "fail"


def test_harness_report_without_a_dir_or_files_is_a_usage_error():
    done = subprocess.run([sys.executable, "-m", "harness", "report"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "name a run's out dir" in done.stderr and "Traceback" not in done.stderr


def test_a_run_that_passed_says_so(tmp_path):
    out = tmp_path / "green"
    junit.write_suite(out / "junit", "node-a", "oci", [junit.CaseResult("test_x", time=0.2)])
    report_html.write(junit.merge(junit.junit_files(out / "junit")), out / "report.html",
                      str(out / "junit"), PHASES)
    page = read_page(out / "report.html")
    assert page.cells == {("node-a", "oci"): {"status": "pass", "link": "",
                                              "title": "node-a · oci: 1 passed"}}
    assert "<title>Node migration report — passed</title>" in (out / "report.html").read_text()


def test_make_run_is_deterministic_in_shape(tmp_path):
    """Two runs of the same inputs give the same matrix (the page does not depend on file
    order or timing)."""
    make_run(tmp_path / "a")
    make_run(tmp_path / "b")
    a, b = read_page(tmp_path / "a" / "report.html"), read_page(tmp_path / "b" / "report.html")
    assert {k: v["status"] for k, v in a.cells.items()} == \
        {k: v["status"] for k, v in b.cells.items()}


def test_an_unreachable_node_keeps_its_place_among_the_nodes(tmp_path):
    """A node that never got past `connect` has only provision-column rows, like the provider;
    it is still a node row, and the provider's row comes last."""
    from harness.errors import UnreachableError

    provider = junit.StepRecorder("lab", "pipeline")
    with provider.step("provision"):
        pass
    provider.write(tmp_path)
    reachable, unreachable = (junit.StepRecorder(n, "pipeline") for n in ("node-a", "node-z"))
    with reachable.step("connect"):
        pass
    with pytest.raises(UnreachableError), unreachable.step("connect"):
        raise UnreachableError("node-z: no answer on port 22")
    reachable.write(tmp_path)
    unreachable.write(tmp_path)
    view = model.build(junit.merge(junit.junit_files(tmp_path)), PHASES)
    assert view.nodes == ["node-a", "node-z", "lab"]
    assert view.cell("node-z", "provision").status == "error"
    assert view.failures[0].kind == junit.UNREACHABLE
    provision = view.times[0]
    assert provision.column == "provision" and provision.wall is not None


def test_a_page_that_cannot_be_written_costs_the_run_nothing(tmp_path, capsys):
    from harness import pipeline

    junit.write_suite(tmp_path / "junit", "node-a", "oci", [junit.CaseResult("test_x")])
    (tmp_path / "report.html").mkdir()  # in the way of the page
    result = pipeline.report(tmp_path / "junit", tmp_path / "junit.xml")
    assert result.exit_code == 0 and result.merged.is_file()
    err = capsys.readouterr().err
    assert "report.html not written (IsADirectoryError" in err
    assert f"harness report {tmp_path}" in err


def test_harness_report_on_a_junit_dir_says_to_pass_the_run_dir(run_dir):
    done = subprocess.run([sys.executable, "-m", "harness", "report", str(run_dir / "junit")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"harness report: {run_dir / 'junit'} holds JUnit files but no junit/ directory: pass "
        f"the run's out dir (the one holding junit/), or --junit-dir {run_dir / 'junit'} --out "
        "FILE"]


def test_preflight_findings_show_what_cannot_be_carried_over(run_dir, page_text):
    """The node's findings and the API's (a pod on Docker's socket, a refusing budget), as
    `harness preflight` lists them."""
    view = model.build(junit.read(run_dir / "junit.xml"), PHASES, run_dir)
    assert [n.name for n in view.preflight] == list(NODES)
    first = view.preflight[0].findings
    assert [(f.severity, f.id) for f in first] == [("error", "docker-socket-user"),
                                                   ("error", "drain-blocked"),
                                                   ("warning", "daemon-json:bip"),
                                                   ("info", "daemon-json:exec-opts")]
    assert "default/agent (/var/run/docker.sock)" in html.unescape(page_text)
    assert "bip is not carried over: <pods get the CNI's network>" in html.unescape(page_text)
    assert "<pods get" not in page_text


def test_each_nodes_carry_over_is_a_runbook_beside_the_page_and_linked(run_dir, page_text):
    """Every setting found on the node and what became of it, one Markdown table per node in
    carry-over/, linked from the preflight section with its count of dropped settings."""
    for node in NODES:
        runbook = (run_dir / "carry-over" / f"{junit.identity(node)}.md").read_text()
        assert runbook.splitlines()[4:] == [
            "| /etc/docker/daemon.json | `runtimes.nvidia` | translated | containerd runtime "
            "handler nvidia (io.containerd.runc.v2) |",
            "| /etc/docker/daemon.json | `data-root` | dropped | containerd keeps its own root "
            "\\| move it by hand |",
            "| kubelet | `--node-ip` | kept | unchanged |"]
        assert f'<a href="carry-over/{junit.identity(node)}.md">{node}</a> (3 settings, 1 ' \
            "dropped)" in page_text


def test_the_image_copy_shows_counts_bytes_and_the_drained_part(run_dir, page_text):
    """Staging and the delta after the drain together: what was copied, what containerd held
    before, and how much of the copy's time the node was drained for."""
    view = model.build(junit.read(run_dir / "junit.xml"), PHASES, run_dir)
    copies = {n.name: n.image_copy for n in view.image_copies}
    assert copies == dict.fromkeys(NODES, task_results.ImageCopy(2, 1, (), 2871296, 0.75, 0.21))
    assert page_text.count(">2.7 MiB<") == len(NODES)


def test_sizes_read_at_a_glance():
    assert [report_html.size(n) for n in (512, 2871296, 5 * 1024**3)] == [
        "512 B", "2.7 MiB", "5.0 GiB"]


def test_the_header_counts_test_skips_apart_from_steps_not_run(page_text):
    """report_run's BROKEN node: a task skipped on its condition and its suites blocked."""
    assert re.search(r"0 tests skipped, [1-9]\d* steps not run,\s+0 expected deviations",
                     page_text), page_text[:3000]


def test_the_verdict_is_the_runs_with_its_skip_budget(tmp_path):
    junit.write_suite(tmp_path / "junit", "node-a", "oci", [
        junit.CaseResult("test_x"), junit.CaseResult("test_y", "skipped", message="no crun")])
    xml = junit.merge(junit.junit_files(tmp_path / "junit"))
    for budget, verdict in ((None, "passed"), (0, "failed")):
        page = report_html.write(xml, tmp_path / f"report-{budget}.html", "here", PHASES,
                                  GatePolicy(budget))
        assert f"<title>Node migration report — {verdict}</title>" in page.read_text(), budget
