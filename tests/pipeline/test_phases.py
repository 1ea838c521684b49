"""The pipeline's bookkeeping, without nodes: which phases run, what a failed phase blocks and
how that shows in the report, and how two smoke runs are compared."""

import subprocess
import sys
from pathlib import Path

import pytest

from harness import junit, pipeline, smoke
from harness.errors import InputError
from harness.inventory import Cluster, Inventory, Node


def inventory(*names: str) -> Inventory:
    return Inventory([Node(name=n, host=f"10.0.0.{i}") for i, n in enumerate(names, 1)],
                     Cluster(), None)


def test_the_default_phases_are_all_but_the_upgrade():
    assert pipeline.parse_phases(None, None) == pipeline.DEFAULT_PHASES
    assert "upgrade" not in pipeline.DEFAULT_PHASES
    assert pipeline.parse_phases(None, "1.24.17") == pipeline.PHASES


def test_phases_come_in_pipeline_order_and_aliases_expand():
    assert pipeline.parse_phases("oci,verify,smoke", None) == (
        "smoke-before", "verify", "oci", "smoke-after", "smoke-upgraded")
    assert pipeline.parse_phases("suites", None) == ("cri", "oci")


@pytest.mark.parametrize("text, upgrade_to, words", [
    ("verify,deploy", None, "unknown phase 'deploy'"),
    ("upgrade", None, "--upgrade-to"),
])
def test_bad_phases_are_input_errors(text, upgrade_to, words):
    with pytest.raises(InputError, match=words):
        pipeline.parse_phases(text, upgrade_to)


def outcomes(junit_dir: Path) -> dict[tuple[str, str, str], str]:
    """(node, suite, test) -> outcome over every JUnit file written."""
    found = {}
    for path in junit_dir.glob("*.xml"):
        for suite in junit.read(path):
            props = {p.name: p.value for p in suite.properties()}
            for case in suite:
                found[(suite.name, props["suite"], case.name)] = smoke.outcome(case)
    return found


def test_the_pipelines_migration_is_harness_migrates_with_its_defaults(monkeypatch, tmp_path):
    """One migrate driver (issue 26): the pipeline hands phase.migrate the plan that `harness
    migrate` builds from its own defaults for the same nodes, and locks them as `run`."""
    from harness.commands import migrate as migrate_command
    from harness.migration import phase, run_plan
    from harness.migration.runner import PlaybookRun

    calls = []
    monkeypatch.setattr(phase, "migrate", lambda plan, how, check=False, command="":
                        calls.append((plan.batches, how, check, command))
                        or PlaybookRun("migrate", 0, tmp_path / "ansible" / "migrate"))
    monkeypatch.setattr(run_plan.cluster_check, "check", lambda *args: None)
    inv = inventory("a", "b", "c")
    monkeypatch.setattr(run_plan, "inventory_of", lambda args: inv)
    pipeline.playbook_phase(inv, "migrate", ["a", "b", "c"], pipeline.RunOptions(tmp_path))
    parser = migrate_command.register(
        __import__("argparse").ArgumentParser().add_subparsers(dest="command"))
    migrate_command.run(parser.parse_args(["--out", str(tmp_path)]))
    (ran, how, _, as_run), (by_command, how_command, check, _) = calls
    assert (ran, how) == (by_command, how_command) and ran == (("a",), ("b",), ("c",))
    assert (check, as_run) == (False, "run (migrate)")
    pipeline.playbook_phase(inv, "migrate", ["a"], pipeline.RunOptions(
        tmp_path, containerd_version="2.4.2"))  # harness run --containerd 2.4.2
    migrate_command.run(parser.parse_args(["--out", str(tmp_path), "--node", "a",
                                           "--containerd", "2.4.2"]))
    (ran, how, *_), (by_command, how_command, *_) = calls[2:]
    assert (ran, how) == (by_command, how_command) and how.containerd_version == "2.4.2"


def test_a_node_that_failed_a_phase_gets_skipped_rows_for_what_needed_it(tmp_path):
    gate = pipeline.Gate(inventory("a", "b"), tmp_path, pipeline.DEFAULT_PHASES)
    ran_on = {}

    def phase(name, passed):
        def action(nodes):
            ran_on[name] = list(nodes)
            return pipeline.PhaseResult(frozenset(passed))
        return action

    gate.run("migrate", phase("migrate", {"a"}))  # b failed (or was never reached)
    gate.run("verify", phase("verify", {"a"}))
    gate.run("smoke-after", phase("smoke-after", {"a", "b"}))
    gate.run_nodes(("cri", "oci"), lambda suites, nodes: ran_on.setdefault("suites", nodes))
    gate.write()
    assert ran_on == {"migrate": ["a", "b"], "verify": ["a"], "suites": ["a"]}
    rows = outcomes(tmp_path)
    assert rows[("b", "pipeline", "verify")] == "skipped"
    assert rows[("b", "pipeline", "suite cri")] == "skipped"
    assert rows[("a", "pipeline", "verify")] == "passed"
    assert rows[("b", "pipeline", "migrate")] == "failed"
    # A cluster-wide phase does not run on a half-migrated cluster, and says why on every row.
    assert rows[("cluster", "pipeline", "smoke-after")] == "skipped"
    assert message(tmp_path, "b", "verify") == "verify not run on b: migrate failed there"


def message(junit_dir: Path, node: str, test: str) -> str:
    return next(case.result[0].message for s in junit.read(junit.junit_path(junit_dir, node,
                                                                            "pipeline"))
                for case in s if case.name == test)


def test_a_phase_is_a_failed_pipeline_row_on_every_node_it_failed_on(tmp_path):
    """Not only on the first: each node's row is its own verdict, and a cluster phase's one
    row names every node it failed on."""
    gate = pipeline.Gate(inventory("a", "b", "c"), tmp_path, pipeline.DEFAULT_PHASES)
    gate.run("smoke-before", lambda nodes: pipeline.PhaseResult(frozenset({"a"})))
    gate.run("preflight", lambda nodes: pipeline.PhaseResult(frozenset({"b"})))
    gate.write()
    rows = outcomes(tmp_path)
    assert [rows[(n, "pipeline", "preflight")] for n in "abc"] == ["failed", "passed", "failed"]
    assert message(tmp_path, "c", "preflight") == "preflight failed on c: see its preflight rows"
    assert rows[("cluster", "pipeline", "smoke-before")] == "failed"
    assert message(tmp_path, "cluster", "smoke-before").startswith("smoke-before failed on b, c")


def test_a_phase_that_breaks_is_an_error_row_and_blocks_what_needs_it(tmp_path):
    gate = pipeline.Gate(inventory("a"), tmp_path, pipeline.DEFAULT_PHASES)

    def broken(nodes):
        raise InputError("no playbook")

    assert gate.run("preflight", broken) is None
    gate.run("migrate", lambda nodes: pytest.fail("migrate ran after preflight broke"))
    gate.write()
    rows = outcomes(tmp_path)
    assert rows[("a", "pipeline", "preflight")] == "error"
    assert rows[("a", "pipeline", "migrate")] == "skipped"


def test_phases_not_chosen_are_neither_run_nor_reported(tmp_path):
    gate = pipeline.Gate(inventory("a"), tmp_path, ("verify",))
    assert gate.run("migrate", lambda nodes: pytest.fail("not chosen")) is None
    gate.run("verify", lambda nodes: pipeline.PhaseResult(frozenset(nodes)))
    gate.write()
    assert set(outcomes(tmp_path)) == {("a", "pipeline", "verify")}


def pytest_junit(path: Path, cases: dict[str, str]) -> Path:
    """A pytest-style JUnit file: test name -> passed | failed."""
    body = "".join(
        f'<testcase classname="suites.smoke.test_pods" name="{name}" time="0.1">'
        + ('<failure message="boom">trace</failure>' if result == "failed" else "")
        + "</testcase>" for name, result in cases.items())
    path.write_text(f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}'
                    "</testsuite></testsuites>")
    return path


def test_smoke_junit_is_split_per_node_by_the_parameter_id(tmp_path):
    raw = pytest_junit(tmp_path / "raw.xml", {"test_runs[a]": "passed", "test_runs[b]": "failed",
                                              "test_dns_resolves": "passed"})
    files = junit.split_pytest_junit_by_node(raw, tmp_path / "out", "smoke-before",
                                             {"a": "10.0.0.1", "b": "10.0.0.2"}, smoke.CLUSTER)
    assert set(files) == {"a", "b", smoke.CLUSTER}
    rows = outcomes(tmp_path / "out")
    assert rows == {("a", "smoke-before", "test_runs[a]"): "passed",
                    ("b", "smoke-before", "test_runs[b]"): "failed",
                    ("cluster", "smoke-before", "test_dns_resolves"): "passed"}


def test_a_test_that_passed_before_and_fails_after_is_a_regression(tmp_path):
    hosts = {"a": "10.0.0.1", "b": "10.0.0.2"}

    def run(label, cases):
        raw = pytest_junit(tmp_path / f"{label}.xml", cases)
        files = junit.split_pytest_junit_by_node(raw, tmp_path / "out", label, hosts,
                                                 smoke.CLUSTER)
        return smoke.SmokeRun(label, files, 0)

    before = run("smoke-before", {"test_runs[a]": "passed", "test_runs[b]": "failed",
                                  "test_dns": "passed"})
    after = run("smoke-after", {"test_runs[a]": "failed", "test_runs[b]": "failed",
                                "test_dns": "passed"})
    assert smoke.write_regressions(tmp_path / "out", before, after, hosts) == {
        "a": ["test_runs[a]"]}  # b failed before too: not a regression
    rows = outcomes(tmp_path / "out")
    name = "no regressions from smoke-before to smoke-after"
    assert rows[("a", "smoke-after regressions", name)] == "failed"
    assert rows[("b", "smoke-after regressions", name)] == "passed"


@pytest.mark.parametrize("args, words", [
    (("--forks", "0"), "error: argument --forks: '0' is not from 1 to 1000"),
    (("--phases", "nope"), "--phases: unknown phase 'nope'"),
    (("--upgrade-to", "1.99.1"), "--upgrade-to 1.99.1: not a pinned Kubernetes version"),
    (("--phases", "upgrade"), "--phases upgrade needs --upgrade-to VERSION"),
    (("--containerd", "2.0.99"), "--containerd 2.0.99: not a containerd version this harness"),
])
def test_bad_run_flags_are_one_line_and_exit_2_before_anything_runs(args, words):
    done = subprocess.run([sys.executable, "-m", "harness", "run", *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"harness run: {words}")
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_inventory_without_a_cluster_is_refused_for_phases_that_need_one(tmp_path):
    inventory = tmp_path / "nodes.yaml"
    inventory.write_text("nodes:\n  - name: a\n    host: 127.0.0.1\n")
    done = subprocess.run([sys.executable, "-m", "harness", "run", "-i", str(inventory),
                           "--phases", "verify,oci"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"harness run: {inventory}: no kubeconfig for the cluster, which verify need: set "
        "kubeconfig under all.vars, pass --kubeconfig, or choose --phases cri,oci"]


@pytest.mark.parametrize("flag", [("--kubeadm",), ("--lab", "hl"), ("--nodes", "3"),
                                  ("--kubernetes", "1.23.17")], ids=lambda f: f[0])
def test_lab_flags_with_an_inventory_are_refused(tmp_path, flag):
    """They make the lab and its cluster; an inventory's nodes and cluster are already there."""
    inventory = tmp_path / "nodes.yaml"
    inventory.write_text("nodes:\n  - name: a\n    host: 127.0.0.1\n")
    done = subprocess.run([sys.executable, "-m", "harness", "run", "-i", str(inventory),
                           *flag], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"harness run: {flag[0]}: for the local lab only; the inventory names the nodes and "
        f"their cluster: leave it out with -i {inventory}"]


def test_a_provider_without_a_cluster_is_an_input_error_not_a_green_run(tmp_path):
    """Through the API too: no phase runs, and the caller gets the input error (exit 2)."""
    from harness.providers.inventory import InventoryProvider

    inventory = tmp_path / "nodes.yaml"
    inventory.write_text("nodes:\n  - name: a\n    host: 127.0.0.1\n")
    with pytest.raises(InputError, match="no kubeconfig for the cluster"):
        pipeline.run(InventoryProvider(inventory),
                     pipeline.RunOptions(tmp_path / "out", phases=("verify",)))
    assert outcomes(tmp_path / "out" / "junit") == {
        ("inventory", "pipeline", "provision"): "error"}
