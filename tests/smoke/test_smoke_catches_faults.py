"""The smoke suite must be able to fail: on one lab (`hs`), break the real thing a smoke test
guards on one node (or cluster-wide), run the affected tests, and check that exactly those
fail, on that node only, while the other node's tests pass. Each fault is mended afterwards.
Also: a run leaves no namespace behind, not even when interrupted with SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.daemons.registry import Registry, RegistryConfig
from harness.kube.cluster import ClusterRecord, process_runs
from harness.kube.controlplane import SERVICE_CIDR

from .conftest import (
    REPO,
    SUITE_ENV,
    faulty_default_runtime,
    node_ready,
    suite_argv,
    wait_for,
)

pytestmark = [pytest.mark.root, pytest.mark.slow, pytest.mark.timeout(900)]

REGISTRY_PORT = 5000  # the lab's Docker lists <gateway>:5000 as an insecure registry


def per_node(run, test: str, lab) -> tuple[str, str]:
    return tuple(run.of(f"{test}[{node.name}]") for node in lab.inventory.nodes)


def test_healthy_run_passes_and_removes_its_namespace(smoke_lab, run_suite):
    """Control: the tests the faults below target pass on the healthy lab, the pull tests
    skip without --registry (with the reason given), and the run's namespace is gone when the
    suite exits."""
    run = run_suite("-rs", "-k", "service_answers or cluster_dns or limits_and_security "
                    "or pod_runs or exec_runs or restart_policy_never or configmap or registry")
    pulls = {name for name in run.outcomes if name.startswith("test_image_pull")}
    assert len(pulls) == 4 and {run.of(name) for name in pulls} == {"skipped"}, run.outcomes
    assert "no registry given (--registry)" in run.output
    failed = {name: got for name, got in run.outcomes.items()
              if got != "passed" and name not in pulls}
    assert not failed, run.output[-3000:]
    assert len(run.outcomes) == 2 * 11 + 4, sorted(run.outcomes)
    wait_for("the namespace to go", lambda: smoke_lab.managed_namespaces() == [], timeout=30)


def test_network_faults_fail_the_service_and_dns_tests(smoke_lab, run_suite):
    """Two faults in one run. kube-proxy stopped on node 2 and its Service chains flushed:
    ClusterIP and NodePort from node 2's client fail, node 1's pass. CoreDNS (a host daemon
    of the lab) stopped with SIGSTOP: names resolve on no node, although node 1's ClusterIP
    still answers."""
    record = ClusterRecord.load(smoke_lab.name)
    dns_pid = record.pids["coredns"]
    assert process_runs(dns_pid, record.argv0["coredns"])
    # Without DNAT, packets to a ClusterIP would follow the node's default route off this
    # machine: the REJECT keeps them on the node (the network rule), and fails them fast.
    guard = f"FORWARD -d {SERVICE_CIDR} -j REJECT"
    smoke_lab.run(1, "systemctl stop kube-proxy && iptables -t nat -F KUBE-SERVICES && "
                  f"iptables -I {guard}")
    os.kill(dns_pid, signal.SIGSTOP)
    try:
        run = run_suite("-k", "service_answers or cluster_dns")
    finally:
        os.kill(dns_pid, signal.SIGCONT)
        smoke_lab.run(1, f"iptables -D {guard}; systemctl start kube-proxy")
    for test in ("test_service_answers_on_its_cluster_ip", "test_service_answers_on_the_node_port"):
        assert per_node(run, test, smoke_lab) == ("passed", "failed"), run.output[-3000:]
    assert per_node(run, "test_service_name_resolves_through_cluster_dns", smoke_lab) == \
        ("failed", "failed"), run.output[-3000:]


def test_runtime_ignoring_the_pod_spec_fails_the_limit_and_security_tests(smoke_lab, run_suite):
    """Docker's default runtime on node 2 drops the memory limit, the user, the capability
    drops and the read-only root from config.json: node 2's OOM and securityContext tests fail,
    node 1's pass."""
    with faulty_default_runtime(smoke_lab, 1):
        run = run_suite("-k", "limits_and_security")
    for test in ("test_memory_limit_overrun_is_reported_as_oom_killed",
                 "test_run_as_user_sets_the_uid",
                 "test_read_only_root_filesystem_refuses_writes",
                 "test_capabilities_are_dropped_and_added"):
        assert per_node(run, test, smoke_lab) == ("passed", "failed"), run.output[-3000:]


def test_stopped_kubelet_fails_the_pod_tests_of_that_node_only(smoke_lab, run_suite):
    """kubelet stopped on node 2 (still Ready for the API until the node monitor notices): the
    per-node pod tests of node 2 fail within the suite's start timeout, node 1's pass."""
    tests = ("test_pod_runs_and_its_logs_are_readable",
             "test_exec_runs_a_command_in_the_container",
             "test_restart_policy_never_leaves_a_failed_container_terminated",
             "test_configmap_keys_are_files")
    smoke_lab.run(1, "systemctl stop kubelet")
    try:
        run = run_suite("-k", " or ".join(tests))
    finally:
        smoke_lab.run(1, "systemctl start kubelet")
        wait_for("node 2 Ready again", lambda: node_ready(smoke_lab, 1))
    for test in tests:
        assert per_node(run, test, smoke_lab) == ("passed", "failed"), run.output[-3000:]


def test_wrong_registry_password_fails_the_pull_tests(smoke_lab, run_suite, tmp_path):
    """A registry with basic auth on the lab bridge: with the right password the private pull
    passes and a pull without the Secret is refused; with a wrong one the pull tests fail."""
    cfg = RegistryConfig(tmp_path / "registry", auth=("smoke", "right-password"),
                         host=smoke_lab.gateway, port=REGISTRY_PORT)
    with Registry(cfg) as registry:
        def pull_tests(password: str):
            return run_suite("-k", "registry", "--registry", registry.host,
                             "--registry-user", "smoke", "--registry-password", password)
        good, bad = pull_tests("right-password"), pull_tests("wrong-password")
    for test in ("test_image_pulls_from_a_private_registry_with_a_pull_secret",
                 "test_image_pull_without_the_pull_secret_is_refused"):
        assert per_node(good, test, smoke_lab) == ("passed", "passed"), good.output[-3000:]
        assert per_node(bad, test, smoke_lab) == ("failed", "failed"), bad.output[-3000:]
    assert "401 unauthorized" in bad.output


def test_strict_skips_fail_the_pull_tests_without_a_registry(smoke_lab, run_suite):
    """Every harness command runs the suite with --strict-skips, and its allowed-skips.yaml
    allows no skip: a run that could not check imagePullSecrets is not green."""
    run = run_suite("-k", "registry", "--strict-skips")
    test = "test_image_pulls_from_a_private_registry_with_a_pull_secret"
    # the test skips in its fixture: an error row once strict
    assert per_node(run, test, smoke_lab) == ("error", "error"), run.output[-3000:]
    assert "no entry of" in run.output and "no registry given" in run.output


def test_sigint_still_removes_the_namespace(smoke_lab):
    """Ctrl-C in the middle of a run: pytest tears the session fixtures down, so the run's
    namespace is deleted."""
    with tempfile.TemporaryDirectory(prefix="hs-junit-") as tmp:
        proc = subprocess.Popen(
            suite_argv(smoke_lab, Path(tmp) / "smoke.xml", "-k", "deletion_waits"),
            cwd=REPO, env=SUITE_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=_default_sigint)
        try:
            wait_for("the run's namespace", smoke_lab.managed_namespaces, timeout=60)
            wait_for("the run's pods", lambda: _pods_in(smoke_lab), timeout=30)
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=120)
        finally:
            proc.kill()
    assert "KeyboardInterrupt" in output, output[-2000:]
    wait_for("the namespace to go", lambda: smoke_lab.managed_namespaces() == [], timeout=60)


def _default_sigint() -> None:
    """A background shell starts its jobs with SIGINT ignored, and an ignored signal stays
    ignored across exec: give the suite the default, as a terminal's Ctrl-C finds it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _pods_in(lab) -> bool:
    from kubernetes import client

    core = client.CoreV1Api(lab.api)
    return any(core.list_namespaced_pod(ns).items for ns in lab.managed_namespaces())
