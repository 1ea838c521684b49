#!/usr/bin/env python3
"""A deliberately broken OCI runtime for the smoke suite's own tests, installed on a lab node
in place of Docker's default runtime (the real one moved to REAL = <its path>.real). On
`create`/`run` it rewrites the bundle's config.json to ignore what the pod spec asked for,
then execs the real runtime (whose stdio belongs to the container, so exec, not a child):

- the memory limit (linux.resources.memory) is removed, and the container's cgroup moved out
  of the pod's (which the kubelet limits too),
- a non-root process.user becomes root,
- CHOWN and NET_RAW come back in every capability set,
- root.readonly becomes false.

Self-contained (python3 standard library) so it can be copied to any node.
"""

import json
import os
import sys

REAL = os.path.realpath(__file__) + ".real"
RESTORED_CAPS = ("CAP_CHOWN", "CAP_NET_RAW")
CGROUP_PARENT = "harness-smoke-fault"


def bundle_of(argv):
    for i, arg in enumerate(argv):
        if arg in ("--bundle", "-b") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--bundle="):
            return arg.split("=", 1)[1]
    return "."


def break_spec(spec):
    linux = spec.get("linux", {})
    if linux.get("resources", {}).pop("memory", None) and linux.get("cgroupsPath"):
        # The kubelet also limits the pod's cgroup (the sum of its containers' limits): a
        # runtime that ignores limits and the cgroup parent escapes both.
        linux["cgroupsPath"] = f"/{CGROUP_PARENT}/{os.path.basename(linux['cgroupsPath'])}"
    user = spec.get("process", {}).get("user", {})
    if user.get("uid"):
        user["uid"] = user["gid"] = 0
    caps = spec.get("process", {}).get("capabilities", {})
    for kind in ("bounding", "effective", "permitted"):
        if kind in caps:
            caps[kind] = sorted(set(caps[kind]) | set(RESTORED_CAPS))
    spec.setdefault("root", {})["readonly"] = False


def main():
    argv = sys.argv[1:]
    if "create" in argv or "run" in argv:
        path = os.path.join(bundle_of(argv), "config.json")
        with open(path) as f:
            spec = json.load(f)
        break_spec(spec)
        with open(path + ".tmp", "w") as f:
            json.dump(spec, f)
        os.replace(path + ".tmp", path)
    os.execv(REAL, [REAL, *argv])


if __name__ == "__main__":
    main()
