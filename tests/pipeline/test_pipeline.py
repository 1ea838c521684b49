"""The main job over real SSH: staging the suites onto a node, running them there, and the
report's verdict, including a node that does not answer."""

import importlib.metadata as metadata
import platform

import pytest

from harness import junit, pipeline
from harness.daemons.process import free_tcp_port
from harness.errors import EXIT_OK, EXIT_UNREACHABLE
from harness.nodes import staging
from harness.providers.inventory import InventoryProvider
from harness.transport import open_transport

pytestmark = [pytest.mark.root, pytest.mark.slow]

# A few lifecycle tests keep the run short; the whole suite runs in tests/oci and suites/oci.
QUICK_OCI = ("-k", "test_kill_delivers_signal_to_running_process")


def cases(merged_path):
    return {(suite.name, case.name): case for suite in junit.read(merged_path) for case in suite}


def test_a_run_stages_the_suite_runs_it_on_the_node_and_reports_per_node(
        node_entry, write_inventory, tmp_path):
    inventory = write_inventory(node_entry("node-a"))
    opts = pipeline.RunOptions(out_dir=tmp_path / "out", phases=("oci",),
                               suite_args={"oci": QUICK_OCI})
    result = pipeline.run(InventoryProvider(inventory), opts)
    assert result.exit_code == EXIT_OK, junit.format_summary(result.summary)
    oci = {case.name: case for suite in junit.read(tmp_path / "out" / "junit.xml")
           for case in suite if suite.name == "node-a" and "oci" in case.classname}
    assert {name.split("[")[0] for name in oci} == {"test_kill_delivers_signal_to_running_process"}
    for name, case in oci.items():
        if "[runc-" in name:
            assert case.is_passed, (name, case.result)
        else:  # crun cannot create containers on this host's hybrid cgroups: skipped, saying so
            assert case.is_passed or "cannot create containers on this host" in \
                case.result[0].message, (name, case.result)
    steps = {name for (node, name) in cases(result.merged) if node == "node-a"}
    assert {"connect", "facts", "stage", "suite oci"} <= steps
    assert (tmp_path / "out" / "junit" / "junit-node-a-oci.xml").is_file()


def test_an_unreachable_node_is_exit_3_and_the_other_node_still_runs(
        node_entry, write_inventory, tmp_path):
    closed = free_tcp_port()
    inventory = write_inventory(node_entry("node-up"),
                                node_entry("node-down", port=closed))
    opts = pipeline.RunOptions(out_dir=tmp_path / "out", phases=("oci",),
                               suite_args={"oci": QUICK_OCI})
    result = pipeline.run(InventoryProvider(inventory), opts)
    assert result.exit_code == EXIT_UNREACHABLE
    found = cases(result.merged)
    assert found[("node-down", "connect")].result[0].type == junit.UNREACHABLE
    assert ("node-up", "facts") in found and not found[("node-up", "facts")].result


def test_staging_twice_copies_once(sshd, tmp_path):
    bundle = staging.build_bundle(tmp_path / "stage")
    with open_transport(sshd.inventory_node("node-s")) as node:
        first = staging.stage(node, bundle)
        node.run(["touch", f"{first.root}/marker"], check=True)
        second = staging.stage(node, bundle)
        assert second == first
        assert node.run(["test", "-f", f"{first.root}/marker"]).ok
        node.run(["rm", "-rf", first.root], check=True)


def test_the_bundle_is_the_same_file_for_the_same_inputs(tmp_path):
    assert staging.build_bundle(tmp_path / "a").name == staging.build_bundle(tmp_path / "b").name


def test_staging_removes_stages_of_other_versions_left_for_a_day(sshd, tmp_path):
    bundle = staging.build_bundle(tmp_path / "stage")
    stale, recent = (f"{staging.REMOTE_ROOT}/harness-stage-{name}" for name in ("old", "new"))
    with open_transport(sshd.inventory_node("node-s")) as node:
        node.run(f"rm -rf {staging.REMOTE_ROOT}/{bundle.stem} && mkdir -p {stale} {recent} && "
                 f"touch -d '2 days ago' {stale}", check=True)
        staging.stage(node, bundle)
        assert not node.run(["test", "-e", stale]).ok
        assert node.run(["test", "-d", recent]).ok
        node.run(["rm", "-rf", recent], check=True)


def test_the_wheels_staged_say_which_glibc_nodes_need():
    """Each compiled wheel's most lenient manylinux tag, the strictest over all: bcrypt's
    wheel here is manylinux_2_34 only, grpcio's 2_17."""
    machine, glibc = staging.compiled_needs(staging.distributions(staging.SUITE_DISTRIBUTIONS))
    assert machine == platform.machine()
    assert glibc == staging.compiled_needs([metadata.distribution("bcrypt")])[1] == (2, 34)
    assert staging.compiled_needs([metadata.distribution("grpcio")])[1] == (2, 17)
