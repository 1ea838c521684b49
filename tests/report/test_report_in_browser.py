"""report.html in a real headless browser (Debian's chromium, driven by Playwright; Playwright's
own browser download is never used): the matrix and a failure are visible, a failing cell jumps
to its failure, the failure's artifact opens, a narrow window scrolls the matrix instead of the
page, print media drops the scroll boxes. A screenshot is kept under the test's tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from report_run import BROKEN, INJECTION, VERIFY_FAILURE

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason=f"{CHROMIUM} is absent: scripts/setup.sh installs "
                                "Debian's chromium package")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, where chromium refuses its setuid sandbox
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, run_dir):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((run_dir / "report.html").as_uri())
    yield page
    context.close()
    assert all(url.startswith("file://") for url in requests), requests


def cell(page, node: str, phase: str):
    return page.locator(f'td[data-node="{node}"][data-phase="{phase}"]')


def test_the_matrix_and_a_failure_are_visible_and_a_screenshot_is_kept(page, tmp_path):
    expect(page.locator("table.matrix")).to_be_visible()
    expect(cell(page, "worker-1", "verify")).to_contain_text("passed")
    expect(cell(page, BROKEN, "verify")).to_contain_text("failed")
    expect(cell(page, BROKEN, "cri")).to_contain_text("skipped")
    colours = {phase: cell(page, BROKEN, phase).evaluate(
        "e => getComputedStyle(e).backgroundColor") for phase in ("verify", "cri", "migrate")}
    assert len(set(colours.values())) == 3, colours  # failed, skipped, passed look different
    failure = page.locator("section.failure").filter(has_text="verify: check runtime")
    expect(failure.locator("pre.message")).to_contain_text(VERIFY_FAILURE)  # as text, escaped
    assert page.title() != "owned" and page.locator("script").count() == 0
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_clicking_a_failing_cell_jumps_to_its_failure(page):
    page.set_viewport_size({"width": 1100, "height": 500})
    target = cell(page, BROKEN, "verify").locator("a")
    anchor = target.get_attribute("href")
    failure = page.locator(f"section{anchor}")
    expect(failure).not_to_be_in_viewport()
    target.click()
    page.wait_for_function("expected => location.hash === expected", arg=anchor)
    expect(failure).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0
    expect(failure).to_contain_text("crictl info: connection refused")


def test_a_failures_artifact_opens(page):
    failure = page.locator("section.failure").filter(has_text="verify: check runtime")
    failure.locator("a.artifact").first.click()  # the task results; journals follow
    page.wait_for_url("**/ansible/verify/nodes/worker_2.json")
    expect(page.locator("body")).to_contain_text('"outcome": "failed"')
    expect(page.locator("body")).to_contain_text(INJECTION)  # the artifact's own JSON, raw


def test_a_narrow_window_scrolls_the_matrix_not_the_page(page, tmp_path):
    page.set_viewport_size({"width": 360, "height": 740})
    matrix_box = page.locator(".scroll:has(table.matrix)")
    assert matrix_box.evaluate("e => e.scrollWidth > e.clientWidth")  # the matrix scrolls
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # the page does not
    node_column = page.locator('table.matrix th[scope="row"]').first
    matrix_box.evaluate("e => e.scrollLeft = e.scrollWidth")
    expect(node_column).to_be_in_viewport()  # node names stay while scrolling the phases
    page.screenshot(path=str(tmp_path / "report-narrow.png"))
    print(f"screenshot: {tmp_path / 'report-narrow.png'}")


def test_print_shows_everything(page, tmp_path):
    page.emulate_media(media="print")
    assert page.locator("pre.detail").first.evaluate(
        "e => getComputedStyle(e).maxHeight") == "none"
    expect(page.locator("nav")).to_be_hidden()
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")


def test_the_page_opens_with_nothing_but_itself(browser, run_dir, tmp_path):
    """Copied alone somewhere else (a mail attachment), the page still renders: it needs no
    file beside it and no network."""
    alone = tmp_path / "report.html"
    shutil.copy(run_dir / "report.html", alone)
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(alone.as_uri())
    expect(cell(page, BROKEN, "verify")).to_contain_text("failed")
    context.close()


@pytest.mark.root
@pytest.mark.slow
def test_a_real_runs_page_leads_from_an_unreachable_node_to_why(browser, node_entry,
                                                                write_inventory, tmp_path):
    """`harness run`'s pipeline on two nodes over SSH, one behind a closed port: the page
    shows the reachable node's suite passing, the other's error, and its cell leads to the
    UNREACHABLE error."""
    from harness import pipeline
    from harness.daemons.process import free_tcp_port
    from harness.providers.inventory import InventoryProvider

    inventory = write_inventory(node_entry("node-up"), node_entry("node-down",
                                                                  port=free_tcp_port()))
    opts = pipeline.RunOptions(out_dir=tmp_path / "out", phases=("oci",), suite_args={
        "oci": ("-k", "test_readonly_root_rejects_writes")})
    pipeline.run(InventoryProvider(inventory), opts)
    context = browser.new_context(viewport={"width": 1000, "height": 600})
    page = context.new_page()
    page.goto((tmp_path / "out" / "report.html").as_uri())
    rows = page.locator('table.matrix th[scope="row"]').all_inner_texts()
    assert rows == ["node-down", "node-up", "inventory"]  # nodes by name, the provider last
    expect(cell(page, "node-up", "oci")).to_contain_text("passed")
    down = cell(page, "node-down", "provision")
    expect(down).to_contain_text("error")
    shot = tmp_path / "real-run.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    down.locator("a").click()
    failure = page.locator("section.failure").filter(has_text="node-down · provision · connect")
    expect(failure).to_be_in_viewport()
    expect(failure).to_contain_text("UNREACHABLE")
    context.close()
