"""suites/oci must fail on a runtime that breaks a rule: each fault of broken_runtime.py is
caught by the named suite tests, which pass when the same wrapper breaks nothing."""

import shutil

import pytest

pytestmark = [pytest.mark.root, pytest.mark.slow]

# fault -> (-k expression selecting the tests, the tests that must fail)
FAULTS = {
    "drop-capabilities": (
        "test_capabilities_are_applied",
        {"test_capabilities_are_applied[CapBnd]", "test_capabilities_are_applied[CapEff]",
         "test_capabilities_are_applied[CapPrm]"},
    ),
    "writable-root": ("test_readonly_root_rejects_writes", {"test_readonly_root_rejects_writes"}),
    "wrong-status": ("test_state_after_create_is_created", {"test_state_after_create_is_created"}),
    "drop-rlimits": ("test_rlimits_are_applied", {"test_rlimits_are_applied"}),
    "unmasked-paths": (
        "test_masked",
        {"test_masked_file_reads_empty", "test_masked_directory_is_empty"},
    ),
    "drop-poststop-hooks": (
        "test_poststop_hook_runs_at_delete or test_hook_gets_state_on_stdin",
        {"test_poststop_hook_runs_at_delete", "test_hook_gets_state_on_stdin[poststop]"},
    ),
    "force-delete": (
        "test_delete_of_running_container_is_an_error",
        {"test_delete_of_running_container_is_an_error"},
    ),
    "drop-memory-limit": (
        "test_resource_is_applied and memory",
        {"test_resource_is_applied[memory-limit]", "test_resource_is_applied[memory-swap]"},
    ),
    "drop-seccomp": (
        "test_seccomp",
        {"test_seccomp_filter_is_installed", "test_seccomp_errno_action_denies_syscall",
         "test_seccomp_errno_ret_is_returned"},
    ),
    "share-network": (
        "test_listed_namespace_is_new", {"test_listed_namespace_is_new[network]"}
    ),
}  # fmt: skip


def test_control_run_passes_every_targeted_test(run_suite):
    """The wrapper without a fault is runc: every test the faults target passes."""
    expression = " or ".join(f"({k})" for k, _ in FAULTS.values())
    run = run_suite("-k", expression, fault="none")
    targeted = set().union(*(must_fail for _, must_fail in FAULTS.values()))
    assert {name: run.outcomes.get(name) for name in targeted} == dict.fromkeys(targeted, "passed")
    assert run.exit_code == 0, run.output


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught(run_suite, fault):
    """Each broken rule makes exactly the tests that check it fail."""
    expression, must_fail = FAULTS[fault]
    run = run_suite("-k", expression, fault=fault)
    assert must_fail <= run.failed(), run.output
    assert run.exit_code == 1


CRUN_ON_V1_VIEW = "suites/oci/tools/crun-on-hybrid-cgroups"


def test_crun_runs_the_whole_suite_through_the_v1_view(run_suite):
    """crun 1.8.1 refuses this hybrid host; through the opt-in wrapper it runs every test,
    which pass or xfail with crun's recorded deviations: the driver parses crun's JSON."""
    if shutil.which("crun") is None:
        pytest.skip("crun is not installed")
    run = run_suite("--oci-runtime", CRUN_ON_V1_VIEW)
    assert run.exit_code == 0, run.output
    assert "passed" in run.outcomes.values()
