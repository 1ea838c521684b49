"""Control run: on a healthy private containerd (CNI, seccomp, sandbox image, a registry CA it
trusts) the whole CRI suite passes or skips with a reason, in parallel, with JUnit output; the
restart check passes when allowed."""

import pytest
from outcomes import read_junit

from harness import matrix
from harness.gate_policy import GatePolicy

from .conftest import run_suite

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.mark.parametrize("cell", matrix.CELLS, ids=lambda cell: cell.name)
def test_each_cell_of_the_conformance_matrix_passes(cell, tmp_path):
    """The cells of `harness conformance --matrix`: every test passes, and every skip is one
    the suite's allowed-skips.yaml allows for that runtime (--strict-skips); in the CRI cells
    the TLS pull runs because the runtime trusts the registry's CA."""
    result = matrix.run_cell(cell, tmp_path, GatePolicy())
    assert result.ok, result.output[-3000:]
    assert result.counts.failures == result.counts.errors == 0
    assert result.counts.passed > 100
    if cell.suite == "cri":
        run = read_junit(result.junit_file)
        assert run["test_pull_from_tls_registry_with_ca"] == "passed"
        assert run["test_restart_keeps_sandboxes_and_containers"] == "skipped"


def test_restart_check_passes_when_allowed(containerd_factory, restart_command):
    """--allow-runtime-restart with a restart command: sandboxes and containers survive."""
    containerd = containerd_factory()
    run = run_suite(containerd.endpoint, "-k", "restart", "--allow-runtime-restart",
                    "--runtime-restart-command", restart_command(containerd))
    assert run.of("test_restart_keeps_sandboxes_and_containers") == "passed", run.output[-3000:]


def test_network_tests_pass_on_a_pod_network_wider_than_a_24(containerd_factory):
    """containerd's usual pod network is a /16 (10.88.0.0/16): once pod IPs pass .255 the
    gateway is not the pod IP's first three octets plus .1. Pods here start in 10.94.3.x, the
    bridge is 10.94.0.1."""
    containerd = containerd_factory(subnet="10.94.0.0/16", range_start="10.94.3.10")
    run = run_suite(containerd.endpoint, "-k", "test_network")
    assert run.returncode == 0, run.output[-3000:]
    assert run.of("test_port_mapping_with_host_port") == "passed"
