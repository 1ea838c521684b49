"""What node_runtime_facts makes of daemon.json's runtimes and ulimits. Every runtime Docker
offers becomes a containerd CRI runtime handler of the same name, and one that cannot be
carried blocks the node: a GPU or sandbox runtime dropped silently would take the node's GPUs
or isolation with it. default-ulimits become the base runtime spec's rlimits. The lab tests
(test_migration_on_lab.py) run pods under the carried handlers and limits."""

from __future__ import annotations

import pytest
from node_facts import docker_node_facts as node_facts
from playbook_code import library_module

facts_module = library_module("node_runtime_facts")
RUNC = "io.containerd.runc.v2"


def handlers(daemon_json: dict, systemd: bool = False) -> tuple[dict, str, dict]:
    found, default, refused = facts_module.runtime_handlers(daemon_json, systemd)
    return {h["name"]: h for h in found}, default, refused


def test_a_node_without_runtimes_gets_runc_and_dockershims_handler_name():
    found, default, refused = handlers({})
    assert default == "runc" and refused == {}
    assert found["runc"] == {"name": "runc", "runtime_type": RUNC, "binary": "runc",
                             "options": {}}
    assert found["docker"] == {**found["runc"], "name": "docker"}


def test_every_daemon_json_runtime_is_a_handler_of_the_same_name():
    """A GPU runtime by path, crun with runc's --root and --criu, a Kata shim by runtimeType
    (Docker 23+), and a non-runc default that the `docker` handler follows."""
    found, default, refused = handlers({
        "default-runtime": "crun",
        "runtimes": {
            "nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []},
            "crun": {"path": "/usr/bin/crun",
                     "runtimeArgs": ["--root", "/run/crun-k8s", "--criu=/usr/sbin/criu"]},
            "kata": {"runtimeType": "io.containerd.kata.v2",
                     "options": {"ConfigPath": "/etc/kata/configuration.toml"}},
            "runc-bin": {"runtimeType": RUNC, "options": {"BinaryName": "/opt/runc"}},
        }})
    assert refused == {}
    assert default == "crun"
    assert sorted(found) == ["crun", "docker", "kata", "nvidia", "runc", "runc-bin"]
    assert found["nvidia"] == {"name": "nvidia", "runtime_type": RUNC,
                               "binary": "nvidia-container-runtime", "options": {}}
    assert found["crun"]["options"] == {"Root": "/run/crun-k8s", "CriuPath": "/usr/sbin/criu"}
    assert found["kata"] == {"name": "kata", "runtime_type": "io.containerd.kata.v2",
                             "binary": None,
                             "options": {"ConfigPath": "/etc/kata/configuration.toml"}}
    assert found["runc-bin"]["binary"] == "/opt/runc"
    assert found["docker"] == {**found["crun"], "name": "docker"}


def test_systemd_cgroup_args_that_agree_with_the_kubelet_are_carried():
    found, _, refused = handlers({"runtimes": {
        "sd": {"path": "/usr/sbin/runc", "runtimeArgs": ["--systemd-cgroup"]},
        "shim": {"runtimeType": RUNC, "options": {"SystemdCgroup": True}}}}, systemd=True)
    assert refused == {} and found["sd"]["options"] == found["shim"]["options"] == {}


# Each way a daemon.json runtime cannot become a containerd handler, and words its reason has.
REFUSED = [
    ("not-an-object", {"runtimes": {"x": "/usr/bin/x"}}, "not an object"),
    ("no-path", {"runtimes": {"x": {"runtimeArgs": []}}}, "neither path"),
    ("unknown-key", {"runtimes": {"x": {"path": "/x", "env": ["A=1"]}}}, "keys ['env', 'path']"),
    ("shim-and-path", {"runtimes": {"x": {"runtimeType": RUNC, "path": "/x"}}}, "neither path"),
    ("unknown-arg", {"runtimes": {"x": {"path": "/x", "runtimeArgs": ["--debug"]}}},
     "runtimeArgs --debug"),
    ("arg-without-value", {"runtimes": {"x": {"path": "/x", "runtimeArgs": ["--root"]}}},
     "runtimeArgs --root"),
    ("systemd-on-cgroupfs", {"runtimes": {"x": {"path": "/x",
                                                "runtimeArgs": ["--systemd-cgroup"]}}},
     "cgroupDriver is cgroupfs"),
    ("shim-cgroup-mismatch", {"runtimes": {"x": {"runtimeType": RUNC,
                                                 "options": {"SystemdCgroup": True}}}},
     "SystemdCgroup differs"),
    ("default-names-nothing", {"default-runtime": "x"}, "names no runtime"),
]


@pytest.mark.parametrize("daemon_json,words", [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_a_runtime_that_cannot_be_carried_is_refused_with_its_reason(daemon_json, words):
    found, _, refused = handlers(daemon_json)
    assert list(refused) == ["x"] and words in refused["x"], refused
    assert "x" not in found


def test_preflight_says_what_each_runtime_becomes_and_blocks_on_one_it_cannot_carry():
    findings = {f["id"]: f for f in facts_module.findings(node_facts({
        "default-runtime": "crun",
        "runtimes": {"crun": {"path": "/usr/bin/crun"},
                     "gpu": {"path": "/usr/bin/gpu", "runtimeArgs": ["--log-level", "debug"]}}}))}
    crun = findings["runtime:crun"]
    assert crun["severity"] == "info"
    assert crun["message"] == ("/etc/docker/daemon.json runtime crun -> containerd runtime "
                               f"handler crun ({RUNC}, binary /usr/bin/crun), the default")
    assert findings["runtime:docker"]["severity"] == "info"
    gpu = findings["runtime:gpu"]
    assert gpu["severity"] == "error" and "--log-level" in gpu["message"]
    assert "daemon-json:runtimes" not in findings and "daemon-json:default-runtime" not in findings


def test_default_ulimits_become_oci_rlimits_with_unlimited_as_the_largest_value():
    limits, why = facts_module.rlimits({"default-ulimits": {
        "nofile": {"Name": "nofile", "Soft": 4096, "Hard": 8192},
        "core": {"Name": "core", "Soft": -1, "Hard": -1}}})
    assert why == ""
    assert limits == [{"type": "RLIMIT_CORE", "hard": 2**64 - 1, "soft": 2**64 - 1},
                      {"type": "RLIMIT_NOFILE", "hard": 8192, "soft": 4096}]


@pytest.mark.parametrize("ulimits", [{"files": {"Soft": 1, "Hard": 1}},
                                     {"nofile": {"Soft": "1024", "Hard": 2048}},
                                     {"nofile": {"Hard": 2048}},
                                     {"nofile": 1024},
                                     {"nproc": {"Soft": -2, "Hard": 10}}],
                         ids=["unknown-name", "string", "no-soft", "not-an-object",
                              "below-minus-1"])
def test_default_ulimits_that_cannot_be_carried_block_the_node(ulimits):
    limits, why = facts_module.rlimits({"default-ulimits": ulimits})
    assert limits == [] and "default-ulimits" in why
    findings = {f["id"]: f for f in facts_module.findings(node_facts({"default-ulimits": ulimits}))}
    assert findings["daemon-json:default-ulimits"]["severity"] == "error"


def test_the_carry_over_names_every_setting_found_and_what_became_of_it(tmp_path, monkeypatch):
    """Every daemon.json key, docker.service drop-in line and kubelet flag is one row with its
    fate: the runbook an operator keeps."""
    dropins = tmp_path / "docker.service.d"
    dropins.mkdir()
    (dropins / "proxy.conf").write_text('[Service]\nEnvironment="HTTPS_PROXY=http://p:3128"\n')
    (dropins / "limits.conf").write_text("[Service]\n# why\nLimitNOFILE=65536\n")
    monkeypatch.setattr(facts_module, "DOCKER_DROPINS", str(dropins))
    rows = facts_module.carry_over(node_facts({
        "default-runtime": "crun", "data-root": "/data/docker", "bip": "172.30.0.1/16",
        "runtimes": {"crun": {"path": "/usr/bin/crun"}, "gpu": {"path": "/g", "env": []}},
        "default-ulimits": {"nofile": {"Soft": 1, "Hard": 2}}, "log-opts": {"max-size": "1m"},
        "features": {"buildkit": True}}))
    fates = {(r["source"].rsplit("/", 1)[-1], r["item"]): r["fate"] for r in rows}
    assert fates == {
        ("daemon.json", "runtimes.crun"): "translated",
        ("daemon.json", "runtimes.gpu"): "dropped",
        ("daemon.json", "default-runtime"): "translated",
        ("daemon.json", "bip"): "dropped",
        ("daemon.json", "data-root"): "dropped",
        ("daemon.json", "default-ulimits"): "translated",
        ("daemon.json", "features"): "dropped",
        ("daemon.json", "log-opts"): "translated",
        ("limits.conf", "LimitNOFILE=65536"): "dropped",
        ("proxy.conf", 'Environment="HTTPS_PROXY=http://p:3128"'): "carried",
        ("kubelet", "--network-plugin"): "dropped",
        ("kubelet", "--pod-infra-container-image"): "kept",
        ("kubelet", "--container-runtime"): "translated",
        ("kubelet", "--node-ip"): "kept",
    }
    gpu = next(r for r in rows if r["item"] == "runtimes.gpu")
    assert "keys ['env', 'path']" in gpu["detail"]


@pytest.mark.parametrize("own,kubelet_runtime,expected", [
    ({"version": 2, "debug": {"level": "warn"}}, "dockershim", "containerd-config-kept"),
    ({"disabled_plugins": ["cri"]}, "dockershim", "containerd-config-replaced"),  # docker-ce's
    ({"version": 2}, "containerd", None),  # left as it is
    ({}, "dockershim", None),
], ids=["same-version", "version-1", "already-containerd", "no-file"])
def test_the_nodes_own_containerd_config_is_kept_or_named_as_replaced(own, kubelet_runtime,
                                                                      expected):
    facts = node_facts({})
    facts["kubelet"]["runtime"] = kubelet_runtime
    facts["containerd"].update(config=own, config_version=own.get("version", 1))
    ids = {f["id"] for f in facts_module.findings(facts, config_version=2)}
    named = ids & {"containerd-config-kept", "containerd-config-replaced"}
    assert named == ({expected} if expected else set())
    kept = facts_module.settings(facts, "unix:///run/containerd/containerd.sock",
                                 2)["kept_config"]
    assert kept == (own if own.get("version") == 2 else {})
