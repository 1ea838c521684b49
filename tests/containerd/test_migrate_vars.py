"""What `harness migrate` hands the playbook with and without --containerd."""

from __future__ import annotations

import pytest

from harness.containerd import build
from harness.errors import InputError
from harness.migration import phase


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_without_the_flag_the_packaged_containerd_and_config_version_2():
    extravars = phase.migrate_vars([1, 1], 0, "all", "1.37.0")
    assert extravars["containerd_bin_dir"] == ""
    assert extravars["containerd_config_version"] == 2


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_with_the_flag_the_build_and_config_version_3(containerd2):
    extravars = phase.migrate_vars([1, 1], 0, "all", "1.37.0", f"v{build.DEFAULT_VERSION}")
    assert extravars["containerd_bin_dir"] == str(containerd2.bin_dir)
    assert extravars["containerd_version"] == build.DEFAULT_VERSION
    assert extravars["containerd_config_version"] == 3


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_no_staging_turns_it_off_and_the_default_leaves_the_inventorys_choice():
    """--no-staging sets stage_images false; without it the variable is not passed at all, so
    an inventory's stage_images stands (extra vars would override it)."""
    assert phase.migrate_vars([1], 0, "all", "1.37.0", staging=False)["stage_images"] is False
    assert "stage_images" not in phase.migrate_vars([1], 0, "all", "1.37.0")


def test_an_unknown_version_names_the_flag_before_anything_is_built(monkeypatch):
    def no_build(*args, **kwargs):
        raise AssertionError("something was built before the versions were checked")

    monkeypatch.setattr(phase.crictl, "build", no_build)
    monkeypatch.setattr(build, "build", no_build)
    with pytest.raises(InputError, match=r"^--containerd 1\.7\.0: not a containerd version"):
        phase.migrate_vars([1], 0, "all", "1.37.0", "1.7.0")


def test_preflight_checks_the_build_it_would_move_onto_for_migrate_and_run_alike():
    """`harness preflight --containerd` and `harness run --containerd`'s preflight phase hand
    the playbook the same variables, and name the flag for a version it cannot build."""
    assert phase.preflight_vars(None, f"v{build.DEFAULT_VERSION}") == {
        "containerd_version": build.DEFAULT_VERSION, "containerd_config_version": 3}
    assert phase.preflight_vars("1.24.17") == {"kubernetes_target": "1.24.17"}
    with pytest.raises(InputError, match=r"^--containerd 1\.7\.0"):
        phase.preflight_vars(None, "1.7.0")
