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
    assert run.of("test_first_process_runs_under_seccomp_filter[RuntimeDefault]") == "failed"
    assert run.of("test_first_process_runs_under_seccomp_filter[Localhost]") == "failed"
    assert run.of("test_first_process_runs_without_seccomp_filter[Unconfined]") == "passed"
    assert run.of("test_first_process_runs_without_seccomp_filter[nil]") == "passed"


# The container's own process (config.json's `process`) gets none of its security settings.
FIRST_PROCESS_FAILURES = {
    "test_first_process_runs_as_requested_ids[run_as_user]",
    "test_first_process_runs_as_requested_ids[run_as_username]",
    "test_first_process_runs_as_requested_ids[run_as_group]",
    "test_first_process_has_supplementary_groups[supplemental_groups]",
    "test_first_process_has_supplementary_groups[image_group_file]",
    "test_first_process_runs_as_image_user",
    "test_first_process_capability_sets[add-NET_ADMIN]",
    "test_first_process_capability_sets[drop-NET_RAW]",
    "test_first_process_capability_sets[add-ALL]",
    "test_first_process_has_no_capabilities_after_drop_all",
    "test_first_process_admin_capabilities_follow_privileged[privileged]",
    "test_first_process_no_new_privs_flag[set]",
}
# ExecSync'd processes keep them (runc exec reads the runtime's process.json, not config.json),
# and the first process's settings outside `process` (mounts, seccomp) are unchanged.
FIRST_PROCESS_NEIGHBOURS = {
    "test_run_as_user", "test_run_as_username", "test_run_as_group", "test_supplemental_groups",
    "test_supplemental_groups_from_image_group_file",
    "test_image_user_is_used_without_security_context", "test_added_capability_is_granted",
    "test_dropped_capability_is_removed", "test_add_all_capabilities",
    "test_drop_all_capabilities", "test_privileged_container_may_add_bridge",
    "test_unprivileged_container_may_not_add_bridge", "test_no_new_privs_blocks_setuid",
    "test_without_no_new_privs_setuid_works",
    "test_first_process_admin_capabilities_follow_privileged[unprivileged]",
    "test_first_process_no_new_privs_flag[unset]",
    "test_first_process_runs_under_seccomp_filter[RuntimeDefault]",
    "test_first_process_runs_without_seccomp_filter[Unconfined]",
    "test_first_process_rootfs_is_writable_by_default",
    "test_first_process_refuses_writes_to_read_only_path[readonly_rootfs]",
    "test_first_process_sees_masked_path_empty[file]",
}


def test_runtime_unconfining_the_first_process_fails_only_first_process_tests(
        containerd_factory):
    """The default runtime's binary runs the container's own process as uid/gid 0 with
    containerd's default capabilities and without no_new_privs (it rewrites config.json's
    `process` at create); exec'd processes keep the requested settings. Of the security tests
    exactly the first-process checks of user, groups, capabilities and no_new_privs fail; the
    ExecSync checks of the same settings pass."""
    containerd = containerd_factory(
        default_runtime_binary=lambda base: str(faulty_runtime(base, "init-unconfined")))
    run = run_suite(containerd.endpoint, "-k", "test_security")
    assert run.named("failed") | run.named("error") == FIRST_PROCESS_FAILURES, run.output[-3000:]
    assert {name: run.of(name) for name in FIRST_PROCESS_NEIGHBOURS} == dict.fromkeys(
        FIRST_PROCESS_NEIGHBOURS, "passed")


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
    assert run.of("test_first_process_refuses_writes_to_read_only_path[readonly_rootfs]") == (
        "failed")
    assert run.of("test_first_process_rootfs_is_writable_by_default") == "passed"


def test_readonly_test_passes_on_the_default_handler(containerd_factory):
    """Control for the fault above: the same containerd's default runc passes the test."""
    containerd = containerd_factory(handlers=lambda base: (
        RuntimeHandler("broken", str(faulty_runtime(base, "rw-rootfs"))),))
    run = run_suite(containerd.endpoint, "-k", "rootfs")
    assert run.of("test_readonly_rootfs_refuses_writes") == "passed"
    assert run.of("test_first_process_refuses_writes_to_read_only_path[readonly_rootfs]") == (
        "passed")
