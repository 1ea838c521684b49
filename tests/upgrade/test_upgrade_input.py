"""`harness upgrade` refuses what the version skew policy forbids before anything runs: a target
that is not pinned, a downgrade, a skip of a minor version. One line, exit 2, no traceback."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.kube import build, upgrade


@pytest.fixture
def more_releases(monkeypatch):
    """1.22 and 1.25 pinned too, so the skew rules are tested apart from what is built."""
    releases = {**build.RUNNABLE, "1.22.17": build.Release("1.22.17", build.GO_1_19),
                "1.25.16": build.Release("1.25.16", build.GO_1_19)}
    monkeypatch.setattr(build, "RUNNABLE", releases)


@pytest.mark.parametrize(("current", "target"), [
    ("1.23.17", "1.24.17"), ("v1.23.17", "1.24.17"), ("1.24.17", "1.24.17"),
    ("v1.24.17-dirty", "v1.24.17")])
def test_one_minor_up_or_the_same_version_is_allowed(current, target):
    assert upgrade.check_step(current, target).version == target.removeprefix("v")


def test_a_skipped_minor_version_is_refused_naming_the_next_one(more_releases):
    with pytest.raises(InputError, match=r"--to 1\.25\.16: skips a minor version") as err:
        upgrade.check_step("1.23.17", "1.25.16")
    assert "upgrade to 1.24 first" in str(err.value)


def test_a_downgrade_is_refused(more_releases):
    with pytest.raises(InputError, match=r"--to 1\.22\.17: older than the cluster's 1\.23\.17"):
        upgrade.check_step("1.23.17", "1.22.17")
    with pytest.raises(InputError, match="a downgrade is not supported"):
        upgrade.check_step("1.24.17", "1.23.17")


def test_a_version_that_is_not_pinned_is_refused_with_the_pinned_ones():
    with pytest.raises(InputError, match=r"--to 1\.24\.3: not a pinned Kubernetes version") as err:
        upgrade.check_step("1.23.17", "1.24.3")
    assert "1.23.17, 1.24.17" in str(err.value)


@pytest.mark.parametrize(("target", "says"), [
    ("1.25.0", "--to 1.25.0: not a pinned Kubernetes version"),
    ("1.22.17", "--to 1.22.17: not a pinned Kubernetes version"),
    ("latest", "--to latest: not a pinned Kubernetes version")])
def test_cli_refuses_a_target_it_cannot_build_in_one_line(harness_cli, tmp_path, target, says):
    """Checked before the inventory is read: no lab is needed."""
    done = harness_cli("upgrade", "--to", target, "--lab", "nolab", "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_cli_without_a_cluster_says_how_to_get_one(harness_cli, tmp_path):
    done = harness_cli("upgrade", "--to", "1.24.17", "--lab", "nolab", "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no lab 'nolab'" in done.stderr and "Traceback" not in done.stderr


def test_upgrade_is_a_phase_and_a_command():
    from harness import cli
    from harness.migration import runner

    assert "upgrade" in runner.PHASES
    assert (runner.PLAYBOOKS / "upgrade.yml").exists()
    assert "upgrade" in cli.COMMANDS
