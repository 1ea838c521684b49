#!/usr/bin/env python3
"""OCI runtime wrapper: clamp process.oomScoreAdj to >= 0 in the bundle, then exec runc.

Some nodes (rootless, some sandboxes, this lab host) refuse a negative oom_score_adj even to
root, and runc then fails with "can't get final child's PID from pipe: EOF". Docker and
dockershim ask for negative values (pause gets -998), so such nodes register this file as an
OCI runtime in daemon.json ("runtimes": {"oom-clamp": {"path": THIS}}, "default-runtime":
"oom-clamp"). It must exec runc rather than run it: runc's stdio belongs to the container.

Self-contained on purpose (python3 standard library only) so it can be copied to any node.
RUNC (environment) names the runc binary; default: runc on PATH, else /usr/sbin/runc.
"""

import json
import os
import shutil
import sys

COMMANDS_WITH_BUNDLE = ("create", "run")


def bundle_dir(argv: list[str]) -> str | None:
    """The --bundle/-b of a create or run command (default: the working directory)."""
    if not any(cmd in argv for cmd in COMMANDS_WITH_BUNDLE):
        return None
    for i, arg in enumerate(argv):
        if arg in ("--bundle", "-b") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--bundle="):
            return arg.split("=", 1)[1]
    return "."


def clamp(config_path: str) -> None:
    with open(config_path) as f:
        spec = json.load(f)
    process = spec.get("process") or {}
    if process.get("oomScoreAdj", 0) < 0:
        process["oomScoreAdj"] = 0
        tmp = config_path + ".oom-clamp"
        with open(tmp, "w") as f:
            json.dump(spec, f)
        os.replace(tmp, config_path)


def main() -> None:
    argv = sys.argv[1:]
    bundle = bundle_dir(argv)
    if bundle is not None:
        clamp(os.path.join(bundle, "config.json"))
    runc = os.environ.get("RUNC") or shutil.which("runc") or "/usr/sbin/runc"
    os.execv(runc, [runc, *argv])


if __name__ == "__main__":
    main()
