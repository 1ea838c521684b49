"""Benchmark: the Go-module builds (Kubernetes, containerd 2.x, critest) cached, and cold when
asked, each against a baseline measured in the same invocation.

    .venv/bin/python bench/builds.py [--version 1.23.17] [--containerd 2.4.2] [--cold NAME]...
    HARNESS_BENCH_COLD=1 .venv/bin/python bench/builds.py    # every build cold as well

cached: the harness's build command with the binaries already cached (it verifies their
checksums), against the harness CLI answering --help (the interpreter and the CLI's imports,
what any command pays). Cold (--cold kubernetes|containerd|critest, or all of them with
HARNESS_BENCH_COLD=1): a build into a fresh cache dir with a fresh Go build cache (GOCACHE),
the module cache kept (downloads excluded), against the cached figure: every package compiles,
so on 2 shared cores Kubernetes takes 8-15 minutes. A cold figure not asked for is left out
and the details say so."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import results  # noqa: E402

BUILDS = ("kubernetes", "containerd", "critest")


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.monotonic()
    subprocess.run(argv, check=True, env=env or dict(os.environ), cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def harness(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness", *args]


def critest_build() -> list[str]:
    return [sys.executable, "-c", "from harness import critest; critest.build()"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.23.17")
    parser.add_argument("--containerd", default="2.4.2")
    parser.add_argument("--cold", action="append", choices=BUILDS, default=[],
                        help="also build this from nothing (repeatable)")
    args = parser.parse_args()
    cold_builds = BUILDS if os.environ.get("HARNESS_BENCH_COLD") == "1" else args.cold
    builds = {  # name -> (what is built, its command, the env var naming its cache dir)
        "kubernetes": (f"kubernetes {args.version}",
                       harness("kube", "build", "--version", args.version),
                       "HARNESS_KUBE_CACHE"),
        "containerd": (f"containerd {args.containerd}",
                       harness("containerd", "build", "--version", args.containerd),
                       "HARNESS_CONTAINERD_CACHE"),
        "critest": ("critest 1.37.0", critest_build(), "HARNESS_CRITEST_CACHE"),
    }
    cli = timed(harness("--help"))
    figures, details = [], []
    for name, (what, argv, cache_env) in builds.items():
        timed(argv)  # make sure the cache is filled
        cached = timed(argv)
        figures.append(results.Figure(f"{what} build, cached", round(cached, 2), "s",
                                      "harness --help", round(cli, 2),
                                      note="checksums of the cached binaries verified"))
        if name not in cold_builds:
            details.append(f"{what} build, cold: not measured (--cold {name})")
            continue
        scratch = tempfile.mkdtemp(prefix="hb-build-bench-")
        try:
            cold = timed(argv, {**os.environ, cache_env: f"{scratch}/cache",
                                "GOCACHE": f"{scratch}/go-build"})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        figures.append(results.Figure(f"{what} build, cold", round(cold, 1), "s",
                                      f"{what} build, cached", round(cached, 2),
                                      note="fresh GOCACHE; module downloads excluded"))
    entry = results.record("builds", figures, details=details)
    print("\n".join(f"{f['name']}: {f['value']} {f['unit']}" for f in entry["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
