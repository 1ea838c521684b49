"""A node whose kubelet reaches Docker through cri-dockerd is recognised and its cri-dockerd
stopped, disabled and brought back by a rollback, on a real systemd node of the lab.

cri-dockerd itself cannot be built here (no Go module of it is served): the node gets its two
units as Mirantis' packages install them, with a stand-in process behind the socket. What the
migration acts on, the units and the kubelet's files, is the real thing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from labs import plain_lab

from harness.migration import runner
from harness.transport import open_transport

LAB = "hcd"
CRI_DOCKERD = "unix:///var/run/cri-dockerd.sock"
UNITS = {
    "cri-docker.socket": """[Unit]
Description=CRI Docker Socket for the API
PartOf=cri-docker.service

[Socket]
ListenStream=%t/cri-dockerd.sock
SocketMode=0660
SocketUser=root

[Install]
WantedBy=sockets.target
""",
    "cri-docker.service": """[Unit]
Description=CRI Interface for Docker Application Container Engine (stand-in process)
After=network-online.target docker.service
Requires=cri-docker.socket

[Service]
ExecStart=/usr/bin/sleep infinity

[Install]
WantedBy=multi-user.target
""",
}
# A 1.24-1.26 node (flags) and a 1.27+ node (KubeletConfiguration), as kubeadm leaves them.
FLAGS_124 = (f'KUBELET_KUBEADM_ARGS="--container-runtime=remote --container-runtime-endpoint='
             f'{CRI_DOCKERD} --pod-infra-container-image=k8s.gcr.io/pause:3.6"\n')
FILES = {
    "flags-1.24": {"kubeadm-flags.env": FLAGS_124},
    "config-1.27": {"kubeadm-flags.env": 'KUBELET_KUBEADM_ARGS="--node-ip=10.251.0.11"\n',
                    "config.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                    "kind: KubeletConfiguration\ncgroupDriver: systemd\n"
                    f"containerRuntimeEndpoint: {CRI_DOCKERD}\n"},
}


@pytest.fixture(scope="module")
def node():
    """One bare lab node (systemd, Docker) with cri-dockerd's units enabled and running."""
    with plain_lab(LAB, 1) as lab:
        with open_transport(lab.nodes[0]) as t:
            for name, text in UNITS.items():
                t.run(f"cat > /etc/systemd/system/{name}", input=text, check=True)
            t.run("systemctl daemon-reload && systemctl enable --now cri-docker.socket "
                  "cri-docker.service && mkdir -p /var/lib/kubelet", check=True)
        yield lab


def ansible(lab, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / args[0]), "-i", str(lab.source), *args[1:]],
        cwd=runner.PLAYBOOKS, capture_output=True, text=True, timeout=300,
        env={"ANSIBLE_CONFIG": str(runner.PLAYBOOKS / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
             "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})


def node_facts(lab) -> dict:
    done = ansible(lab, "ansible", lab.nodes[0].name, "-m", "node_runtime_facts", "-o")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.split("=>", 1)[1])


def unit_states(lab) -> list[str]:
    with open_transport(lab.nodes[0]) as t:
        return t.run("systemctl is-enabled cri-docker.socket cri-docker.service; "
                     "systemctl is-active cri-docker.socket cri-docker.service").stdout.split()


def run_tasks(lab, tmp_path: Path, role: str, tasks: str, node_vars: dict) -> None:
    play = tmp_path / f"{role}.yml"
    play.write_text(yaml.safe_dump([{
        "name": f"{role} {tasks}", "hosts": "all", "gather_facts": False,
        "tasks": [{"name": "the role's tasks", "ansible.builtin.include_role": {
            "name": role, "tasks_from": tasks}}]}]))
    done = ansible(lab, "ansible-playbook", str(play), "-e", json.dumps({"node": node_vars}))
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize("shape", FILES)
def test_preflight_recognises_a_kubelet_on_cri_dockerd(node, shape):
    with open_transport(node.nodes[0]) as t:
        t.run("rm -f /var/lib/kubelet/kubeadm-flags.env /var/lib/kubelet/config.yaml",
              check=True)
        for path, text in FILES[shape].items():
            t.run(f"cat > /var/lib/kubelet/{path}", input=text, check=True)
    got = node_facts(node)
    assert got["facts"]["kubelet"]["runtime"] == "cri-dockerd"
    assert got["facts"]["kubelet"]["endpoint"] == CRI_DOCKERD
    assert got["facts"]["cri_dockerd"] == {"units": list(UNITS), "enabled": list(UNITS)}
    origin = [f for f in got["findings"] if f["id"] == "origin-cri-dockerd"]
    assert origin and "cri-docker.socket and cri-docker.service" in origin[0]["message"]
    assert not [f for f in got["findings"] if f["severity"] == "error"
                and f["id"] in ("unknown-runtime", "kubelet-missing")]


def test_migrate_stops_and_disables_cri_dockerd_and_rollback_brings_it_back(node, tmp_path):
    facts = node_facts(node)["facts"]
    assert unit_states(node) == ["enabled"] * 2 + ["active"] * 2
    run_tasks(node, tmp_path, "migrate", "stop_cri_dockerd.yml", {"facts": facts})
    assert unit_states(node) == ["disabled"] * 2 + ["inactive"] * 2
    run_tasks(node, tmp_path, "migrate", "stop_cri_dockerd.yml", {"facts": facts})  # again
    assert unit_states(node) == ["disabled"] * 2 + ["inactive"] * 2
    recorded = {**facts, "migration": {"values": {"cri_dockerd_enabled": list(UNITS)}}}
    run_tasks(node, tmp_path, "rollback", "start_cri_dockerd.yml", {"facts": recorded})
    assert unit_states(node) == ["enabled"] * 2 + ["active"] * 2
