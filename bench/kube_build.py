"""Benchmark: building the Kubernetes binaries, cold and cached.

    .venv/bin/python bench/kube_build.py [--version 1.23.17] [--cold]

cached: `harness kube build` with the binaries already in ~/.cache/harness/kube (verifies the
checksums only). --cold: a build into a fresh cache dir with a fresh Go build cache (GOCACHE)
and the module cache kept (downloads excluded): every package compiles, so on 2 shared cores
it takes 15-25 minutes. Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def timed_build(version: str, env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "harness", "kube", "build", "--version", version],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    parser.add_argument("--cold", action="store_true", help="also time a build from nothing")
    args = parser.parse_args()
    result = {"version": args.version}
    timed_build(args.version, dict(os.environ))  # make sure the cache is filled
    result["cached_seconds"] = round(timed_build(args.version, dict(os.environ)), 2)
    if args.cold:
        scratch = tempfile.mkdtemp(prefix="hk-bench-")
        try:
            env = {**os.environ, "HARNESS_KUBE_CACHE": f"{scratch}/kube",
                   "GOCACHE": f"{scratch}/go-build"}
            result["cold_seconds"] = round(timed_build(args.version, env), 1)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
