"""What the migration writes for the kubelet is read by the kubelet of that version: the lab's
files of a dockershim node, rewritten by the kubelet_runtime role for each version (flags up to
1.26, containerRuntimeEndpoint from 1.27, kubeadm's instance-config.yaml for 1.34), then the
real kubelet of that version, built from its module, started on them.

The kubelet parses its flags and loads and validates its config before it dials the runtime, so
one that names the intended socket in its error about that socket has taken everything. It
runs in a mount namespace with an empty /run (no runtime socket of this machine is reachable),
with its own root and certificate directories, without cgroups of its own, and against an API
server address on loopback where nothing listens: it ends by itself, having changed nothing."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.kube import build, node_config
from harness.migration import runner

pytestmark = [pytest.mark.long, pytest.mark.timeout(3600)]

SETTINGS = node_config.KubeletSettings(
    cgroup_driver="cgroupfs", cluster_dns="10.96.0.10", cluster_domain="cluster.local",
    pause_image="k8s.gcr.io/pause:3.6", cluster_cidr="10.244.0.0/16", dockershim=True)
NODE = node_config.NodeNetwork("node-1", "10.244.255.1", "10.244.1.0/24")
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""
# Host paths of the lab's config that this machine lacks: the kubelet makes its own serving
# certificate in --cert-dir instead, and client certificates are not checked before the runtime.
HOST_PATHS = ("tlsCertFile", "tlsPrivateKeyFile")


def kubelet(version: str) -> Path:
    return build.build(version).path("kubelet")


def rewrite(tmp_path: Path, version: str, *, kubeadm: str | None = None,
            annotated: bool = True) -> tuple[Path, str]:
    """The lab's kubelet files, rewritten by the kubelet_runtime role as for a kubelet of
    `version`; returns the kubelet directory and the endpoint it should name."""
    kubelet_dir = tmp_path / "kubelet"
    kubelet_dir.mkdir()
    (kubelet_dir / "config.yaml").write_text(node_config.kubelet_config(SETTINGS))
    (kubelet_dir / "kubeadm-flags.env").write_text(node_config.kubeadm_flags(SETTINGS, NODE))
    endpoint = f"unix://{tmp_path}/containerd.sock"
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"name": "the migration's kubelet settings",
                                     "hosts": "localhost", "gather_facts": False,
                                     "roles": ["kubelet_runtime"]}]))
    extravars = {
        "kubelet_dir": str(kubelet_dir), "containerd_endpoint": endpoint,
        "node": {"facts": {"kubelet": {"version": version, "kubeadm_version": kubeadm,
                                       "instance_config": None}},
                 "settings": {"container_log_max_size": None, "container_log_max_files": None}},
        "api": {"node": {"cri_socket": "/var/run/dockershim.sock" if annotated else None}},
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c",
         "local", str(play), "-e", json.dumps(extravars)],
        cwd=runner.PLAYBOOKS, capture_output=True, text=True, timeout=300,
        env={"ANSIBLE_CONFIG": str(runner.PLAYBOOKS / "ansible.cfg"), "PATH": "/usr/bin:/bin",
             "ANSIBLE_NOCOLOR": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return kubelet_dir, endpoint


def start(binary: Path, kubelet_dir: Path, tmp_path: Path) -> str:
    """Start `binary` on the files as kubeadm's drop-in does; what it said when it ended."""
    config = yaml.safe_load((kubelet_dir / "config.yaml").read_text())
    for key in HOST_PATHS:
        config.pop(key)
    config["authentication"]["x509"].pop("clientCAFile")
    run_config = tmp_path / "run-config.yaml"
    run_config.write_text(yaml.safe_dump(config))
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    env_line = (kubelet_dir / "kubeadm-flags.env").read_text().strip()
    flags = shlex.split(shlex.split(env_line.split("=", 1)[1])[0])
    argv = [str(binary), f"--kubeconfig={tmp_path / 'kubeconfig'}", f"--config={run_config}",
            f"--root-dir={tmp_path / 'root'}", f"--cert-dir={tmp_path / 'pki'}",
            "--cgroups-per-qos=false", "--enforce-node-allocatable=", *flags]
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           'mount -t tmpfs tmpfs /run && exec "$@"', "sh", *argv],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, "the kubelet kept running without a runtime"
    return done.stderr


def assert_took(said: str, endpoint: str) -> None:
    path = endpoint.removeprefix("unix://")
    last = [line for line in said.splitlines() if "failed to run Kubelet" in line]
    assert last and path in last[-1], said[-2500:]
    for refusal in ("unknown flag", "strict decoding error", "unknown field",
                    "failed to validate kubelet", "failed to load kubelet config"):
        assert refusal not in said, said[-2500:]


@pytest.mark.parametrize("version", ["1.24.17", "1.26.15", "1.27.8", "1.34.4"])
def test_the_kubelet_of_each_version_takes_the_endpoint_the_migration_writes(version, tmp_path):
    kubelet_dir, endpoint = rewrite(tmp_path, version)
    assert_took(start(kubelet(version), kubelet_dir, tmp_path), endpoint)


def test_kubeadm_1_34_gets_the_endpoint_in_its_instance_config_and_the_kubelet_takes_it(
        tmp_path):
    kubelet_dir, endpoint = rewrite(tmp_path, "1.34.4", kubeadm="v1.34.4", annotated=False)
    instance = yaml.safe_load((kubelet_dir / "instance-config.yaml").read_text())
    assert instance == {"containerRuntimeEndpoint": endpoint}
    assert "container-runtime" not in (kubelet_dir / "kubeadm-flags.env").read_text()
    assert_took(start(kubelet("1.34.4"), kubelet_dir, tmp_path), endpoint)


def test_the_flags_written_for_1_26_are_refused_by_the_1_27_kubelet(tmp_path):
    """The check can fail: --container-runtime is gone in 1.27."""
    kubelet_dir, _ = rewrite(tmp_path, "1.26.15")
    assert "unknown flag: --container-runtime" in start(kubelet("1.27.8"), kubelet_dir,
                                                        tmp_path)


def test_the_config_written_for_1_27_is_not_taken_by_the_1_26_kubelet(tmp_path):
    """The check can fail: 1.26 has no containerRuntimeEndpoint and dials something else."""
    kubelet_dir, endpoint = rewrite(tmp_path, "1.27.8")
    with pytest.raises(AssertionError):
        assert_took(start(kubelet("1.26.15"), kubelet_dir, tmp_path), endpoint)
