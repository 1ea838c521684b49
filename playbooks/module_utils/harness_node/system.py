"""Fact: the node's identity and the kernel features the runtimes and the kubelet rely on.

Node-side (see harness_node): standard library only; the source is the probe run on a node."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass

APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"


@dataclass(frozen=True)
class SystemFacts:
    hostname: str
    kernel: str
    arch: str
    init: str  # the name of PID 1 (systemd on every node the playbooks manage)
    overlayfs: bool  # containerd's and Docker's default snapshotter / storage driver
    br_netfilter: bool  # bridged pod traffic visible to iptables (kube-proxy)
    ip_forward: bool  # the one sysctl the Kubernetes runtime page requires
    apparmor: bool  # AppArmor enabled: Localhost profiles can be loaded and enforced


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def probe() -> dict:
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "init": _read("/proc/1/comm"),
        "overlayfs": "overlay" in _read("/proc/filesystems"),
        "br_netfilter": os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        "ip_forward": _read("/proc/sys/net/ipv4/ip_forward") == "1",
        "apparmor": _read(APPARMOR_ENABLED) == "Y",
    }


def record(raw: dict) -> SystemFacts:
    return SystemFacts(**raw)


if __name__ == "__main__":
    print(json.dumps(probe()))
