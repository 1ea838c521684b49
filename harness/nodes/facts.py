"""Node properties detected on the node itself (never assumed from the host or the provider):
kernel and the features runtimes and kubelet rely on, init, cgroup version, whether a negative
oom_score_adj is refused, and Docker's view (version, cgroup driver, default runtime)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from harness.errors import StepFailed
from harness.transport import Transport

# Runs with the node's python3 (every supported node has it: Ansible needs it too).
_PROBE = r'''
import json, os, platform, subprocess

def cgroup_version():
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        if fields[4] == "/sys/fs/cgroup":
            return 2 if fields[fields.index("-") + 1] == "cgroup2" else 1
    return 0

def negative_oom_refused():
    # Lowering needs CAP_SYS_RESOURCE and a sandbox that allows it; try in a child process.
    code = "import os; os.write(os.open('/proc/self/oom_score_adj', os.O_WRONLY), b'-1')"
    return subprocess.run(["python3", "-c", code], capture_output=True).returncode != 0

def kernel_features():
    def read(path):
        try:
            return open(path).read().strip()
        except OSError:
            return ""
    return {
        "overlayfs": "overlay" in read("/proc/filesystems"),
        "br_netfilter": os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        "ip_forward": read("/proc/sys/net/ipv4/ip_forward") == "1",
    }

def docker():
    try:
        out = subprocess.run(["docker", "info", "--format", "{{json .}}"], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if out.returncode != 0:
        return {}
    info = json.loads(out.stdout)
    return {"version": info.get("ServerVersion"), "cgroup_driver": info.get("CgroupDriver"),
            "default_runtime": info.get("DefaultRuntime"),
            "runtimes": sorted(info.get("Runtimes") or {})}

print(json.dumps({
    "hostname": platform.node(),
    "kernel": platform.release(),
    "arch": platform.machine(),
    "init": open("/proc/1/comm").read().strip(),
    "cgroup_version": cgroup_version(),
    "negative_oom_score_adj_refused": negative_oom_refused(),
    **kernel_features(),
    "docker": docker(),
}))
'''


@dataclass(frozen=True)
class NodeFacts:
    hostname: str
    kernel: str
    arch: str
    init: str
    cgroup_version: int
    negative_oom_score_adj_refused: bool
    overlayfs: bool  # containerd's and Docker's default snapshotter / storage driver
    br_netfilter: bool  # bridged pod traffic visible to iptables (kube-proxy)
    ip_forward: bool  # the one sysctl the Kubernetes runtime page requires
    docker_version: str | None = None
    docker_cgroup_driver: str | None = None
    docker_default_runtime: str | None = None
    docker_runtimes: tuple[str, ...] = ()


def gather(node: Transport) -> NodeFacts:
    """Probe the node behind `node` (one command; needs python3 there)."""
    result = node.run(["python3", "-"], input=_PROBE, timeout=60)
    if not result.ok:
        raise StepFailed(f"node {node.node_name}: probing node facts failed "
                         f"(exit {result.exit_code})",
                         hint=result.stderr.strip()[-300:] or "is python3 installed on the node?")
    raw = json.loads(result.stdout)
    docker = raw.pop("docker")
    return NodeFacts(
        **raw,
        docker_version=docker.get("version"),
        docker_cgroup_driver=docker.get("cgroup_driver"),
        docker_default_runtime=docker.get("default_runtime"),
        docker_runtimes=tuple(docker.get("runtimes", ())),
    )
