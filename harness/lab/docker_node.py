"""The "before" state of a lab node: Docker as its runtime, configured the way a production
Docker node typically is, with the fixture images loaded. containerd stays as Debian's package
leaves it (its /etc/containerd/config.toml untouched), which is what the migration starts from."""

from __future__ import annotations

import json

from harness import images
from harness.errors import StepFailed
from harness.facts import NodeFacts
from harness.images import BuiltImage
from harness.lab.network import LabNetwork
from harness.lab.node_files import OOM_CLAMP_PATH, OOM_CLAMP_RUNTIME
from harness.transport import Transport

FIXTURE_IMAGES = ("busybox", "pause", "web")
# Addresses on the lab bridge (the host's side) that a migrated containerd must keep reaching:
# nothing needs to listen there for Docker to start.
MIRROR_PORT = 5001
INSECURE_REGISTRY_PORT = 5000
TLS_REGISTRY_PORT = 5443
DOCKER_CERTS = "/etc/docker/certs.d"


def chosen_cgroup_driver(facts: NodeFacts) -> str:
    """The driver the lab configures Docker (and so the kubelet) with: a choice, not a fact.
    systemd where systemd manages a cgroup v2 hierarchy, as the kubelet documentation
    recommends; cgroupfs, Docker's default, on cgroup v1. Migration and preflight read the
    configured drivers from the node, never this."""
    v2_systemd = facts.cgroups.version == 2 and facts.system.init == "systemd"
    return "systemd" if v2_systemd else "cgroupfs"


def daemon_json(facts: NodeFacts, net: LabNetwork) -> dict:
    config = {
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"},
        "registry-mirrors": [f"http://{net.gateway}:{MIRROR_PORT}"],
        "insecure-registries": [f"{net.gateway}:{INSECURE_REGISTRY_PORT}"],
        "exec-opts": [f"native.cgroupdriver={chosen_cgroup_driver(facts)}"],
        "storage-driver": "overlay2",
    }
    if facts.oom.negative_refused:
        # Docker and dockershim ask for negative scores (pause: -998); runc fails on such a node.
        config["runtimes"] = {OOM_CLAMP_RUNTIME: {"path": OOM_CLAMP_PATH}}
        config["default-runtime"] = OOM_CLAMP_RUNTIME
    return config


def configure(node: Transport, facts: NodeFacts, net: LabNetwork) -> None:
    """Write daemon.json, restart Docker, enable it, and check it answers."""
    text = json.dumps(daemon_json(facts, net), indent=2) + "\n"
    node.run("mkdir -p /etc/docker && cat > /etc/docker/daemon.json", input=text, check=True)
    node.run("systemctl enable docker.service && systemctl restart docker.service",
             timeout=90, check=True)
    info = node.run(["docker", "info", "--format", "{{.DefaultRuntime}} {{.CgroupDriver}}"],
                    timeout=30)
    if not info.ok:
        raise StepFailed(f"node {node.node_name}: Docker does not answer after its restart",
                         hint=info.stderr.strip()[-300:])


def trust_registry_ca(node: Transport, registry: str, ca_pem: bytes) -> str:
    """Give the node's Docker the CA of `registry` (host:port) the way an organisation hands
    out its private CA: /etc/docker/certs.d/<registry>/ca.crt, read by Docker on each pull.
    Returns the file's path on the node."""
    path = f"{DOCKER_CERTS}/{registry}/ca.crt"
    node.run(f"mkdir -p {DOCKER_CERTS}/{registry} && cat > {path}", input=ca_pem.decode(),
             check=True)
    return path


def fixture_images() -> list[BuiltImage]:
    """The fixture images, built (or taken from the images cache) once per `lab up`."""
    return [images.build(name) for name in FIXTURE_IMAGES]


def load_fixtures(node: Transport, built: list[BuiltImage]) -> None:
    """Copy each image's docker-archive in and `docker load` it (the fixture images, or
    harness.kube.kubeadm_images.build_all's)."""
    for image in built:
        remote = f"/var/tmp/harness-{image.config_digest.split(':')[1]}.tar"  # names hold "/"
        node.put(image.docker_archive, remote)
        node.run(f"docker load -i {remote} && rm -f {remote}", timeout=120, check=True)
