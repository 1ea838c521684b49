"""Files the lab bakes into the node image: the OCI runtime wrapper for nodes that refuse a
negative oom_score_adj, the boot-time fixes runtimes and kubelet need inside an nspawn
machine, and the sshd policy. They are part of the image recipe, so editing one rebuilds it."""

from dataclasses import dataclass
from pathlib import Path

from harness.daemons import oom_clamp_runtime


@dataclass(frozen=True)
class NodeFile:
    path: str
    content: str
    mode: int = 0o644


OOM_CLAMP_PATH = "/usr/local/sbin/runc-oom-clamp"
OOM_CLAMP_RUNTIME = "runc-oom-clamp"

# Docker calls the wrapper instead of runc; the one the private dockerd uses is the one shipped.
_OOM_CLAMP = Path(oom_clamp_runtime.__file__).read_text()

_NODE_FIXES = """#!/bin/sh
# Runs before every service at boot. systemd-nspawn mounts the cgroup v1 controllers read-only,
# so runtimes fail with "mkdir /sys/fs/cgroup/<ctl>/...: read-only file system"; a bind remount
# makes them writable (a plain remount says "busy"). A kubelet needs / shared for mount
# propagation into pods.
for ctl in /sys/fs/cgroup/*; do
  [ -L "$ctl" ] && continue
  mountpoint -q "$ctl" && mount -o remount,bind,rw "$ctl"
done
mount --make-rshared /
exit 0
"""

_NODE_FIXES_UNIT = """[Unit]
Description=Lab node fixes for container runtimes and kubelet (rw cgroups, shared /)
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target containerd.service docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hl-node-fixes

[Install]
WantedBy=sysinit.target
"""

_SSHD = """# Lab nodes: key-only root login (the lab's user key), no DNS lookups of clients.
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
"""

NODE_FILES = (
    NodeFile(OOM_CLAMP_PATH, _OOM_CLAMP, 0o755),
    NodeFile("/usr/local/sbin/hl-node-fixes", _NODE_FIXES, 0o755),
    NodeFile("/etc/systemd/system/hl-node-fixes.service", _NODE_FIXES_UNIT),
    NodeFile("/etc/ssh/sshd_config.d/harness.conf", _SSHD),
)

# Units enabled in the image: (unit, target it is wanted by).
ENABLED_UNITS = (("hl-node-fixes.service", "sysinit.target"),)
