"""What preflight makes of a node's runtime versions: the kubelet needs CRI v1 and pod
networking needs CNI 1.0 plugins, so a node of an older Docker line (Debian 11: containerd
1.4.13, CNI plugins 0.9.0) is refused with the fix, unless the migration brings its own
containerd build (harness migrate --containerd). test_debian11_on_lab.py migrates such a node."""

from __future__ import annotations

import base64
import shutil

import pytest
from node_facts import docker_node_facts
from playbook_code import library_module, load

facts_module = library_module("node_runtime_facts")
HOST_CNI = "/usr/lib/cni"  # Debian's containernetworking-plugins, which setup installs


def debian11_facts() -> dict:
    facts = docker_node_facts({})
    facts["docker"]["version"] = "20.10.5+dfsg1"
    facts["containerd"]["version"] = "1.4.13~ds1"
    facts["cni"]["protocols"] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0"]
    return facts


def by_id(found: list[dict]) -> dict:
    return {f["id"]: f for f in found}


def test_a_packaged_containerd_older_than_1_6_4_blocks_the_node_and_names_both_fixes():
    found = by_id(facts_module.findings(debian11_facts()))
    assert found["containerd-version"]["severity"] == "error"
    message = found["containerd-version"]["message"]
    assert message.startswith("containerd 1.4.13~ds1: ")
    assert "install 1.6.4 or later" in message and "harness migrate --containerd" in message


def test_plugins_without_cni_1_0_block_the_node_naming_their_directory():
    found = by_id(facts_module.findings(debian11_facts()))
    assert found["cni-plugins"]["severity"] == "error"
    assert "/opt do not speak CNI 1.0.0" in found["cni-plugins"]["message"]


def test_the_migrations_own_containerd_build_is_checked_instead_of_the_package():
    facts = debian11_facts()
    facts["cni"]["protocols"].append("1.0.0")  # plugins upgraded
    found = by_id(facts_module.findings(facts, config_version=3, containerd_build="2.4.2"))
    assert "containerd-version" not in found
    assert not [f for f in found.values() if f["severity"] == "error"]
    assert "containerd 1.4.13~ds1 (replaced by the migration's build 2.4.2)" in \
        found["versions"]["message"]


def test_a_node_without_containerd_needs_none_when_the_migration_brings_it():
    facts = debian11_facts()
    facts["containerd"]["version"] = None
    assert "containerd-missing" in by_id(facts_module.findings(facts))
    assert "containerd-missing" not in by_id(
        facts_module.findings(facts, config_version=3, containerd_build="2.4.2"))


@pytest.mark.parametrize("loopback, protocols, words", [
    (False, [], "no loopback plugin in /opt"),
    (True, [], "/opt/loopback does not answer CNI's VERSION command"),
], ids=["missing", "not-answering"])
def test_a_loopback_plugin_that_is_missing_or_mute_blocks_the_node(loopback, protocols, words):
    facts = docker_node_facts({})
    facts["cni"].update(loopback=loopback, protocols=protocols)
    found = by_id(facts_module.findings(facts))
    assert found["cni-plugins"]["severity"] == "error" and words in found["cni-plugins"]["message"]


def test_the_plugins_versions_are_asked_as_the_cni_spec_says(tmp_path):
    """The host's own plugins (Debian 12: 1.1.1) answer the VERSION command; a plugin that
    cannot run (copied without its mode) answers nothing, and the module does not fail."""
    assert "1.0.0" in facts_module.cni_protocols(f"{HOST_CNI}/loopback")
    copied = tmp_path / "loopback"
    shutil.copyfile(f"{HOST_CNI}/loopback", copied)
    assert facts_module.cni_protocols(str(copied)) == []
    assert facts_module.cni_protocols(str(tmp_path / "missing")) == []


read_config = load("action_plugins/node_runtime_facts.py", "node_runtime_facts_action").parsed


def slurped(text: str) -> dict:
    return {"content": base64.b64encode(text.encode()).decode(), "encoding": "base64"}


@pytest.mark.parametrize("read, expected", [
    (slurped('version = 2\n[debug]\nlevel = "warn"\n'),
     ({"version": 2, "debug": {"level": "warn"}}, None)),
    ({"failed": True, "msg": "file not found: /etc/containerd/config.toml"}, ({}, None)),
    ({"failed": True, "msg": "file is not readable: /etc/containerd/config.toml"},
     ({}, "cannot be read: file is not readable: /etc/containerd/config.toml")),
], ids=["parsed", "no-file", "unreadable"])
def test_the_action_plugin_parses_config_toml_for_the_module(read, expected):
    """Nodes have no TOML parser (tomllib is 3.11+): the controller parses what slurp read."""
    assert read_config(read) == expected


def test_a_config_toml_that_is_not_toml_blocks_the_node_naming_the_error():
    config, error = read_config(slurped("version = 2\n[plugins\n"))
    assert config == {} and error.startswith("cannot be parsed: ")
    facts = debian11_facts()
    facts["containerd"]["config_error"] = error
    found = by_id(facts_module.findings(facts))["containerd-config-invalid"]
    assert found["severity"] == "error"
    assert found["message"].startswith("/etc/containerd/config.toml: cannot be parsed: ")


def test_a_node_already_on_containerd_is_not_held_to_the_kubelets_old_cni_directory():
    """Past the move the kubelet names no CNI directory; containerd's own config does, and
    migrate leaves such a node as it is."""
    facts = docker_node_facts({})
    facts["kubelet"]["runtime"] = "containerd"
    facts["cni"].update(loopback=False, protocols=[])
    assert "cni-plugins" not in by_id(facts_module.findings(facts))
