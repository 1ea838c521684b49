"""Benchmark: wall time and tests per second of the CRI suite (suites/cri), as a ratio to
baselines measured in the same invocation.

    .venv/bin/python bench/cri_suite.py [--cri-endpoint unix:///...] [--workers 2]

Without --cri-endpoint it starts a private containerd (bridge hc-crib0, 10.91.250.0/24) with
the fixture pause image and stops it afterwards. Baselines: an empty pytest run of the suite
(`--collect-only`: interpreter, plugins, collection) and the CRI Version round trip. The
target is the whole suite under 60 s on the lab machine. Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from junitparser import JUnitXml  # noqa: E402

from harness.cri.client import CriClient  # noqa: E402

TARGET_SECONDS = 60.0


def pytest_seconds(*args: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "suites/cri", "-p", "no:cacheprovider", "-q",
                    *args], cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def version_round_trip_ms(endpoint: str, calls: int = 200) -> float:
    client = CriClient(endpoint)
    start = time.monotonic()
    for _ in range(calls):
        client.version()
    return (time.monotonic() - start) / calls * 1000


def measure(endpoint: str, workers: int) -> dict:
    parallel = ["-n", str(workers), "--dist", "loadgroup"] if workers > 1 else []
    with tempfile.TemporaryDirectory(prefix="hc-cri-bench-") as tmp:
        junit = Path(tmp) / "cri.xml"
        empty = pytest_seconds("--collect-only", "--cri-endpoint", endpoint)
        suite = pytest_seconds("--cri-endpoint", endpoint, f"--junitxml={junit}", *parallel)
        cases = [case for s in JUnitXml.fromfile(str(junit)) for case in s]
    failed = sorted(c.name for c in cases if c.result and not c.is_skipped)
    return {
        "workers": workers,
        "suite_seconds": round(suite, 1),
        "tests": len(cases),
        "failed": failed,  # names: a benchmark of a failing suite is no benchmark
        "tests_per_second": round(len(cases) / suite, 2),
        "empty_pytest_seconds": round(empty, 2),
        "suite_to_empty_pytest_ratio": round(suite / empty, 1),
        "version_rpc_ms": round(version_round_trip_ms(endpoint), 3),
        "target_seconds": TARGET_SECONDS,
        "target_met": suite < TARGET_SECONDS,
        "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine
    }


def with_private_containerd(workers: int) -> dict:
    from harness import images
    from harness.daemons.containerd import Containerd, ContainerdConfig
    from harness.images import load

    pause = images.build("pause")
    base = Path(tempfile.mkdtemp(prefix="hc-cri-bench-cd-"))
    containerd = Containerd(ContainerdConfig(base_dir=base, bridge="hc-crib0",
                                             subnet="10.91.250.0/24", sandbox_image=pause.ref))
    try:
        containerd.start()
        load.into_containerd(containerd.address, pause)
        return measure(containerd.endpoint, workers)
    finally:
        containerd.stop(purge=True)
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cri-endpoint", help="measure against this endpoint instead")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.cri_endpoint:
        result = measure(args.cri_endpoint, args.workers)
    else:
        result = with_private_containerd(args.workers)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
