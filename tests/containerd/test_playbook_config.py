"""The migration's containerd config comes from the same renderer: the playbooks' filters turn
a node's settings (node_runtime_facts) into config.toml and check the dump with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from playbook_code import PLAYBOOKS, library_module, load

from harness import crictl
from harness.containerd import config

NODE_SETTINGS = {  # what node_runtime_facts derives on a lab node, away from the defaults
    "endpoint": "unix:///run/containerd/containerd.sock",
    "sandbox_image": "k8s.gcr.io/pause:3.6",
    "systemd_cgroup": True,
    "cni_bin_dir": "/usr/lib/cni",
    "cni_conf_dir": "/etc/cni/lab.d",
    "restrict_oom_score_adj": True,
    # Docker's runc, a daemon.json runtime with runtimeArgs --root, a shim of its own, and the
    # default under dockershim's handler name (node_runtime_facts.runtime_handlers)
    "runtimes": [
        {"name": "runc", "runtime_type": "io.containerd.runc.v2", "binary": "runc",
         "options": {}},
        {"name": "crun", "runtime_type": "io.containerd.runc.v2", "binary": "/usr/bin/crun",
         "options": {"Root": "/run/crun-k8s"}},
        {"name": "sandboxed", "runtime_type": "io.containerd.sandboxed.v1", "binary": None,
         "options": {"ConfigPath": "/etc/sandboxed.toml"}},
        {"name": "docker", "runtime_type": "io.containerd.runc.v2", "binary": "/usr/bin/crun",
         "options": {"Root": "/run/crun-k8s"}},
    ],
    "default_runtime": "crun",
    "base_runtime_spec": "/etc/containerd/base-runtime-spec.json",  # from default-ulimits
    "containerd_config_version": 2,
    "disabled_plugins": ["io.containerd.snapshotter.v1.aufs"],  # the node's own, less the CRI
    "kept_config": {},
}


filters = load("filter_plugins/harness_rendering.py", "harness_rendering_filters")


def dump(containerd: str, text: str, tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    out = subprocess.run([containerd, "--config", str(path), "config", "dump"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def rendered_by_ansible(expression: str, variables: dict) -> str:
    """`expression` rendered by ansible itself in the playbooks' directory (its filters, its
    tagged values), as a task would."""
    ansible = Path(sys.executable).parent / "ansible"
    out = subprocess.run(
        [str(ansible), "localhost", "-c", "local", "-m", "ansible.builtin.debug",
         "-a", f"msg={expression}", "-e", json.dumps(variables)],
        cwd=PLAYBOOKS, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.split("=>", 1)[1])["msg"]


def test_ansible_loads_the_filter_and_renders_with_this_tree():
    rendered = rendered_by_ansible('{{ s | containerd_config(3, "managed") }}',
                                   {"s": NODE_SETTINGS})
    assert rendered == "# managed\n" + config.render(config.from_node(NODE_SETTINGS), 3)


def test_ansible_renders_crictl_yaml_through_the_harness_writer():
    """As the migrate role writes /etc/crictl.yaml: Ansible's own (tagged) values in."""
    endpoint = "unix:///run/containerd/containerd.sock"
    assert rendered_by_ansible("{{ e | crictl_config(t) }}", {"e": endpoint, "t": 30}) == \
        crictl.crictl_yaml(endpoint, 30)


@pytest.mark.slow
def test_the_node_config_version_2_is_taken_by_containerd_16(tmp_path):
    containerd = shutil.which("containerd")
    if not containerd:
        pytest.skip("no packaged containerd (apt-get install containerd)")
    out = dump(containerd, filters.containerd_config(NODE_SETTINGS, 2, "managed"), tmp_path)
    assert filters.containerd_config_dropped(out, NODE_SETTINGS) == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_node_config_version_3_is_taken_by_containerd_2(containerd2, tmp_path):
    out = dump(str(containerd2.path("containerd")),
               filters.containerd_config(NODE_SETTINGS, "3"), tmp_path)
    assert filters.containerd_config_dropped(out, NODE_SETTINGS) == []
    assert 'sandbox = "k8s.gcr.io/pause:3.6"' in out.replace("'", '"')


def test_each_registry_of_dockers_settings_gets_its_hosts_toml_from_the_one_writer():
    """A Hub mirror, an insecure registry and one with a CA and a client certificate in
    Docker's certs.d, as node_runtime_facts derives them, rendered by the filter the role uses
    (harness/containerd/config.py's hosts_toml, which the harness's own registries use too):
    false and empty keys are left out, as containerd's docs/hosts.md writes them."""
    facts = library_module("node_runtime_facts")
    registries = facts.registry_hosts(
        {"registry-mirrors": ["http://mirror:5000/"], "insecure-registries": ["plain:5000"]},
        {"tls:5000": {"ca": ["ca.crt"], "client": [("client.cert", "client.key")]}})
    rendered = {r["registry"]: filters.containerd_hosts_toml(r, "managed") for r in registries}
    assert all(text.startswith("# managed\n") for text in rendered.values())
    certs = "/etc/containerd/certs.d/tls:5000"
    assert {name: tomllib.loads(text) for name, text in rendered.items()} == {
        "docker.io": {"server": "https://registry-1.docker.io", "host": {
            "http://mirror:5000": {"capabilities": ["pull", "resolve"]}}},
        "plain:5000": {"server": "http://plain:5000", "host": {
            "http://plain:5000": {"capabilities": ["pull", "resolve", "push"],
                                  "skip_verify": True}}},
        "tls:5000": {"server": "https://tls:5000", "host": {
            "https://tls:5000": {"capabilities": ["pull", "resolve", "push"],
                                 "ca": [f"{certs}/ca.crt"],
                                 "client": [[f"{certs}/client.cert", f"{certs}/client.key"]]}}}}
