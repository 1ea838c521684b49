"""The kubelet flags playbooks/upgrade.yml removes for a target are exactly flags that target's
kubelet no longer knows: checked against the built binaries (`kubelet --FLAG=V --version`
answers "unknown flag" for a removed flag, the version for a known one, deprecated or not)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from harness.kube import build
from harness.migration import runner

DEFAULTS = runner.PLAYBOOKS / "roles" / "kubelet_upgrade" / "defaults" / "main.yml"
# A value each flag parses; the rest take "x".
VALUES = {"--network-plugin-mtu": "1500", "--image-pull-progress-deadline": "1m",
          "--experimental-check-node-capabilities-before-mount": "true",
          "--non-masquerade-cidr": "10.0.0.0/8", "--really-crash-for-testing": "false"}
# Flags the lab's and a migrated node's kubeadm-flags.env hold that 1.24 must keep accepting.
KEPT = ("--container-runtime", "--container-runtime-endpoint", "--node-ip",
        "--pod-infra-container-image")


def kubelet(version: str) -> Path:
    path = build.cache_root() / version / "bin" / "kubelet"
    if not path.exists():
        pytest.skip(f"Kubernetes {version} is not built (harness kube build --version {version})")
    return path


def accepts(binary: Path, flag: str) -> bool:
    done = subprocess.run([str(binary), f"{flag}={VALUES.get(flag, 'x')}", "--version"],
                          capture_output=True, text=True, timeout=60)
    if "unknown flag" in done.stderr:
        return False
    assert done.returncode == 0 and done.stdout.startswith("Kubernetes v"), done.stderr
    return True


def removed(minor: str) -> list[str]:
    return yaml.safe_load(DEFAULTS.read_text())["kubelet_removed_flags"][minor]


@pytest.mark.parametrize("flag", removed("1.24"))
def test_each_flag_removed_for_1_24_is_unknown_to_the_1_24_kubelet_and_known_to_1_23(flag):
    assert not accepts(kubelet("1.24.17"), flag)
    assert accepts(kubelet("1.23.17"), flag)


@pytest.mark.parametrize("flag", KEPT)
def test_the_flags_a_node_keeps_are_accepted_by_the_1_24_kubelet(flag):
    assert flag not in removed("1.24")
    assert accepts(kubelet("1.24.17"), flag)
