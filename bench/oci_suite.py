"""Benchmark: the OCI suite (suites/oci) per runtime, runc and crun, in one invocation.

    .venv/bin/python bench/oci_suite.py [--runtime PATH]...

Default runtimes: /usr/sbin/runc, and crun through suites/oci/tools/crun-on-hybrid-cgroups
(crun 1.8.1 refuses this hybrid-cgroup host otherwise). Each runs the whole suite alone
(`--oci-runtime PATH`, so the image-spec checks, the same for both, are in both figures).
Figures: each runtime's wall time against the first runtime's, and tests per second against
the first's (the ratio over 1 is faster). Prints them."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from junitparser import JUnitXml  # noqa: E402

from bench import results  # noqa: E402

DEFAULT_RUNTIMES = ["/usr/sbin/runc", str(REPO / "suites/oci/tools/crun-on-hybrid-cgroups")]


def run_suite(runtime: str, junit: Path) -> dict:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "suites/oci", "-p", "no:cacheprovider",
                    "-q", "--oci-runtime", runtime, f"--junitxml={junit}"],
                   cwd=REPO, check=False, stdout=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    ran = [c for c in cases if not c.is_skipped]
    failed = [c for c in ran if c.result]
    return {"seconds": seconds, "tests": len(cases), "ran": len(ran), "failed": len(failed)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", action="append", help="an OCI runtime (repeatable)")
    args = parser.parse_args()
    runtimes = args.runtime or DEFAULT_RUNTIMES
    measured = {}
    with tempfile.TemporaryDirectory(prefix="hb-oci-bench-") as tmp:
        for n, runtime in enumerate(runtimes):
            measured[Path(runtime).name] = run_suite(runtime, Path(tmp) / f"{n}.xml")
    (base_name, base), *others = measured.items()
    figures, details = [], []
    for name, m in measured.items():
        details.append(f"OCI suite with {name}: {m['tests']} tests, {m['ran']} ran "
                       f"({m['failed']} failed), {m['seconds']:.1f} s")
    for name, m in others:
        figures += [
            results.Figure(f"OCI suite wall time, {name}", round(m["seconds"], 1), "s",
                           base_name, round(base["seconds"], 1)),
            results.Figure(f"OCI suite tests run per second, {name}",
                           round(m["ran"] / m["seconds"], 2), "tests/s", base_name,
                           round(base["ran"] / base["seconds"], 2),
                           note="tests that ran (skips excluded)"),
        ]
    entry = results.record("oci_suite", figures, details=details)
    print("\n".join(entry["details"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
