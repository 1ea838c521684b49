#!/usr/bin/env python3
"""A deliberately broken OCI runtime for the CRI suite's own tests: rewrites the bundle's
config.json on `create`/`run` to inject one fault, then execs runc (runc's stdio belongs to
the container, so it must be exec, not a child).

HC_FAULT (environment) picks the fault:
  rw-rootfs       root.readonly = false: the runtime ignores readonlyRootfs
  no-seccomp      linux.seccomp removed: the runtime applies no seccomp filter
  init-unconfined the container's own process ignores its security settings: config.json's
                  `process` runs as uid/gid 0 without additional gids, with containerd's default
                  capabilities, without noNewPrivileges or an AppArmor profile. Exec'd
                  processes keep theirs: `runc exec --process process.json` reads the
                  runtime's own copy of the process, not config.json.
"""

import json
import os
import shutil
import sys


def bundle_of(argv):
    for i, arg in enumerate(argv):
        if arg in ("--bundle", "-b") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--bundle="):
            return arg.split("=", 1)[1]
    return "."


# containerd's (and Docker's) default capabilities: what the process gets instead of the
# requested set.
DEFAULT_CAPS = [f"CAP_{name}" for name in (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")]


def unconfine(process):
    """The process's user, capabilities, no_new_privs and AppArmor profile as if none had been
    requested (kept: args, env, cwd, terminal, rlimits)."""
    process["user"] = {"uid": 0, "gid": 0}
    process["capabilities"] = {kind: list(DEFAULT_CAPS)
                               for kind in ("bounding", "effective", "permitted")}
    process.pop("noNewPrivileges", None)
    process.pop("apparmorProfile", None)


def inject(path, fault):
    with open(path) as f:
        spec = json.load(f)
    if fault == "rw-rootfs":
        spec.setdefault("root", {})["readonly"] = False
    elif fault == "no-seccomp":
        spec.get("linux", {}).pop("seccomp", None)
    elif fault == "init-unconfined":
        unconfine(spec.setdefault("process", {}))
    with open(path + ".tmp", "w") as f:
        json.dump(spec, f)
    os.replace(path + ".tmp", path)


def main():
    argv = sys.argv[1:]
    if "create" in argv or "run" in argv:
        inject(os.path.join(bundle_of(argv), "config.json"), os.environ["HC_FAULT"])
    runc = shutil.which("runc") or "/usr/sbin/runc"
    os.execv(runc, [runc, *argv])


if __name__ == "__main__":
    main()
