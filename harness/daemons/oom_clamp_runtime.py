#!/usr/bin/env python3
"""OCI runtime wrapper: clamp process.oomScoreAdj to >= 0, then exec runc.

Some nodes (rootless, some sandboxes, this lab host) refuse a negative oom_score_adj even to
root, and runc then fails with "can't get final child's PID from pipe: EOF". Docker and
dockershim ask for negative values (pause gets -998), so such nodes register this file as an
OCI runtime in daemon.json ("runtimes": {"oom-clamp": {"path": THIS}}, "default-runtime":
"oom-clamp"). It rewrites the bundle's config.json (`create`, `run`) or the process file
(`exec --process`), and must exec runc rather than run it: runc's stdio belongs to the
container.

Self-contained on purpose (python3 standard library only) so it can be copied to any node
(harness.daemons.dockerd.install_clamp_runtime does that locally).
RUNC (environment) names the runc binary; default: runc on PATH, else /usr/sbin/runc.
"""

import json
import os
import shutil
import sys


def option(argv, long, short):
    for i, arg in enumerate(argv):
        if arg in (long, short) and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(long + "="):
            return arg.split("=", 1)[1]
    return None


def clamp(path, process_key):
    """Raise a negative oomScoreAdj to 0 in the JSON file at `path` (under `process_key`)."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return  # runc reports a missing or broken file itself
    process = doc.get(process_key) if process_key else doc
    if not isinstance(process, dict) or process.get("oomScoreAdj", 0) >= 0:
        return
    process["oomScoreAdj"] = 0
    tmp = path + ".oom-clamp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)


def main():
    argv = sys.argv[1:]
    if "create" in argv or "run" in argv:
        clamp(os.path.join(option(argv, "--bundle", "-b") or ".", "config.json"), "process")
    if "exec" in argv and option(argv, "--process", "-p"):
        clamp(option(argv, "--process", "-p"), None)
    runc = os.environ.get("RUNC") or shutil.which("runc") or "/usr/sbin/runc"
    os.execv(runc, [runc, *argv])


if __name__ == "__main__":
    main()
