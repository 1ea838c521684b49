"""Files the lab bakes into the node image: the OCI runtime wrapper for nodes that refuse a
negative oom_score_adj, the boot-time fixes runtimes and kubelet need inside an nspawn
machine, and the sshd policy. They are part of the image recipe, so editing one rebuilds it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeFile:
    path: str
    content: str
    mode: int = 0o644


OOM_CLAMP_PATH = "/usr/local/sbin/runc-oom-clamp"
OOM_CLAMP_RUNTIME = "runc-oom-clamp"

# Docker (via containerd-shim-runc-v2) calls this instead of runc. It must exec runc rather than
# run it as a child: runc's stdio belongs to the container.
_OOM_CLAMP = '''#!/usr/bin/python3
"""OCI runtime wrapper: this node refuses a negative oom_score_adj, so raise a negative
process.oomScoreAdj to 0 in the bundle's config.json (or an exec's process file), then exec runc."""
import json
import os
import sys

RUNC = "/usr/bin/runc"


def option(args, long, short):
    for i, arg in enumerate(args):
        if arg in (long, short) and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(long + "="):
            return arg.split("=", 1)[1]
    return None


def clamp(path, in_process):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return
    process = doc.get("process") if in_process else doc
    if not isinstance(process, dict) or process.get("oomScoreAdj", 0) >= 0:
        return
    process["oomScoreAdj"] = 0
    tmp = path + ".oom-clamp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)


args = sys.argv[1:]
bundle = option(args, "--bundle", "-b")
if bundle is None and ("create" in args or "run" in args):
    bundle = "."
if bundle is not None:
    clamp(os.path.join(bundle, "config.json"), True)
process_file = option(args, "--process", "-p")
if process_file is not None:
    clamp(process_file, False)
os.execv(RUNC, [RUNC] + args)
'''

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
