#!/usr/bin/python3 -IS
"""An OCI runtime that breaks exactly one rule, to prove suites/oci notices.

Usage: OCI_FAULT=<fault> OCI_REAL_RUNTIME=/usr/sbin/runc broken_runtime.py <runtime args>
Everything else is passed to the real runtime unchanged (`--version` too, so the suite sees
the real name and version). The wrapper exec()s the runtime: the container's stdio must stay
the runtime's own, never a pipe of ours. It runs on the system python with -I -S so that
each runtime call costs milliseconds, not a virtualenv's start-up.
"""

import json
import os
import sys

GLOBAL_FLAGS_WITH_VALUE = {"--root", "--log", "--log-format", "--criu", "--rootless"}


def edit_config(config: dict, fault: str) -> None:
    """Faults applied to the bundle's config.json just before `create` reads it."""
    process = config.get("process") or {}
    linux = config.get("linux") or {}
    if fault == "drop-capabilities":
        process.pop("capabilities", None)
    elif fault == "writable-root":
        config["root"]["readonly"] = False
    elif fault == "drop-rlimits":
        process.pop("rlimits", None)
    elif fault == "unmasked-paths":
        linux["maskedPaths"] = []
    elif fault == "drop-poststop-hooks":
        (config.get("hooks") or {}).pop("poststop", None)
    elif fault == "drop-memory-limit":
        (linux.get("resources") or {}).pop("memory", None)
    elif fault == "drop-seccomp":
        linux.pop("seccomp", None)
    elif fault == "share-network":
        linux["namespaces"] = [n for n in linux.get("namespaces", []) if n["type"] != "network"]


def command_at(args: list[str]) -> int:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in GLOBAL_FLAGS_WITH_VALUE else 1
    return i


def bundle_of(args: list[str]) -> str:
    for i, arg in enumerate(args):
        if arg in ("--bundle", "-b"):
            return args[i + 1]
        if arg.startswith("--bundle="):
            return arg.split("=", 1)[1]
    return "."


def main() -> None:
    real = os.environ.get("OCI_REAL_RUNTIME", "/usr/sbin/runc")
    fault = os.environ.get("OCI_FAULT", "none")
    args = sys.argv[1:]
    at = command_at(args)
    command = args[at] if at < len(args) else ""
    if command == "create":
        path = os.path.join(bundle_of(args[at:]), "config.json")
        with open(path) as stream:
            config = json.load(stream)
        if fault == "no-start-with-hooks" and config.get("hooks"):
            sys.stderr.write("broken runtime: a container with hooks never starts\n")
            sys.exit(1)
        edit_config(config, fault)
        with open(path, "w") as stream:
            json.dump(config, stream)
    elif command == "delete" and fault == "force-delete":
        args.insert(at + 1, "--force")
    elif command == "state" and fault == "wrong-status":
        import subprocess  # only here: the wrapper's start-up time is paid on every call

        done = subprocess.run([real, *args], capture_output=True, text=True)
        if done.returncode == 0:
            state = json.loads(done.stdout)
            state["status"] = {"created": "running"}.get(state["status"], state["status"])
            done.stdout = json.dumps(state)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        sys.exit(done.returncode)
    os.execv(real, [real, *args])


if __name__ == "__main__":
    main()
