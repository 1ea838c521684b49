"""The CRI suite must be able to fail: run it against private containerds with one fault each
and check that exactly the tests meant to catch that fault fail (and neighbours still pass)."""

import pytest

from harness.daemons.containerd import RuntimeHandler

from .conftest import faulty_runtime, run_suite

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_missing_cni_config_fails_network_ready_and_pod_networking(containerd_factory):
    """No CNI config: Status reports NetworkReady false, and pods cannot get a network."""
    containerd = containerd_factory(cni=False)
    run = run_suite(containerd.endpoint, "-k", "test_status or test_sandbox_reports_pod_ip "
                    "or test_pod_ip_is_reachable or test_port_mapping")
    assert run.of("test_status_network_ready") == "failed"
    assert run.of("test_status_runtime_ready") == "passed"
    assert run.of("test_sandbox_reports_pod_ip") in ("failed", "error")
    assert run.of("test_pod_ip_is_reachable_from_the_host") in ("failed", "error")
    assert run.of("test_port_mapping_with_host_port") in ("failed", "error")


def test_runtime_without_seccomp_fails_seccomp_tests(containerd_factory, tmp_path):
    """The runtime drops linux.seccomp from every container: RuntimeDefault and Localhost
    profiles are not enforced; the Unconfined expectations still hold."""
    containerd = containerd_factory(
        default_runtime_binary=lambda base: str(faulty_runtime(base, "no-seccomp")))
    run = run_suite(containerd.endpoint, "-k", "seccomp or sethostname or hostname")
    assert run.of("test_seccomp_runtime_default_filters") == "failed"
    assert run.of("test_seccomp_localhost_profile_is_enforced") == "failed"
    assert run.of("test_localhost_profile_blocks_sethostname_despite_sys_admin") == "failed"
    assert run.of("test_seccomp_unconfined") == "passed"
    assert run.of("test_seccomp_nil_profile_is_unconfined") == "passed"


def test_missing_sandbox_image_fails_the_sandbox_tests(containerd_factory):
    """sandbox_image names an image the node lacks (and cannot pull: its registry is a closed
    loopback port): the presence check and every RunPodSandbox fail."""
    containerd = containerd_factory(sandbox_image="127.0.0.1:1/hc-missing/pause:3.9")
    run = run_suite(containerd.endpoint, "-k", "sandbox_image or test_run_sandbox "
                    "or test_version")
    assert run.of("test_sandbox_image_is_present") == "failed"
    assert run.of("test_run_sandbox_is_ready") in ("failed", "error")
    assert run.of("test_run_sandbox_is_listed") in ("failed", "error")
    assert run.of("test_version_names_runtime_and_api") == "passed"


def test_handler_ignoring_readonly_rootfs_fails_the_readonly_test(containerd_factory):
    """A runtime handler whose binary rewrites root.readonly to false: with --runtime-handler
    the read-only rootfs test fails, the writable one passes."""
    containerd = containerd_factory(handlers=lambda base: (
        RuntimeHandler("broken", str(faulty_runtime(base, "rw-rootfs"))),))
    run = run_suite(containerd.endpoint, "--runtime-handler", "broken", "-k", "rootfs")
    assert run.of("test_readonly_rootfs_refuses_writes") == "failed"
    assert run.of("test_rootfs_is_writable_by_default") == "passed"


def test_readonly_test_passes_on_the_default_handler(containerd_factory):
    """Control for the fault above: the same containerd's default runc passes the test."""
    containerd = containerd_factory(handlers=lambda base: (
        RuntimeHandler("broken", str(faulty_runtime(base, "rw-rootfs"))),))
    run = run_suite(containerd.endpoint, "-k", "rootfs")
    assert run.of("test_readonly_rootfs_refuses_writes") == "passed"
