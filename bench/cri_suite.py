"""Benchmark: the CRI suite (suites/cri) side by side with critest (cri-tools v1.37.0) on the
same private containerd in one invocation, serial and with -n 2.

    .venv/bin/python bench/cri_suite.py

A private containerd (bridge hc-crib0, 10.91.250.0/24, the fixture pause image) whose mirror
of critest's registries is a loopback registry holding its stand-in images (harness/critest.py)
serves both suites, one after the other. Figures (bench/results.py): our suite's wall time
against critest's with the same parallelism, serial and 2 processes (target: at most half),
-n 2 against serial, the whole suite with -n 2 against an empty pytest run of it (collection
alone; target under 60 s), and critest specs covered by a test of ours
(suites/cri/critest-coverage.yaml; target: every spec critest ran, and every spec at all).
The details list each run's counts and failures, and our ten slowest tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from junitparser import JUnitXml  # noqa: E402

from bench import results  # noqa: E402
from harness import critest, images  # noqa: E402
from harness.daemons.containerd import Containerd, ContainerdConfig  # noqa: E402
from harness.daemons.registry import Registry, RegistryConfig  # noqa: E402
from harness.images import load  # noqa: E402

COVERAGE = REPO / "suites" / "cri" / "critest-coverage.yaml"
TARGET_SECONDS = 60.0


def timed(argv: list[str], **kwargs) -> float:
    start = time.monotonic()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, **kwargs)
    return time.monotonic() - start


def our_suite(endpoint: str, junit: Path | None, *extra: str) -> float:
    report = [f"--junitxml={junit}"] if junit else []
    return timed([sys.executable, "-m", "pytest", "suites/cri", "-p", "no:cacheprovider", "-q",
                  "--cri-endpoint", endpoint, *report, *extra], cwd=REPO)


def cases(junit: Path) -> list:
    return [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]


def outcome(case) -> str:
    if case.is_skipped:
        return "skipped"
    return "failed" if case.result else "passed"


def counts(states: list[str]) -> str:
    return ", ".join(f"{states.count(s)} {s}" for s in ("passed", "failed", "skipped"))


def coverage(run: critest.Run, ours: set[str], mapping: dict) -> tuple[int, int, list[str]]:
    """(specs critest ran that a test of ours covers, specs critest ran, the uncovered ones):
    a spec is covered when the mapping names tests of ours and every one of them ran."""
    ran = [name for name, state in run.specs.items() if state in ("passed", "failed")]
    uncovered = [name for name in ran
                 if not mapping.get(name, {}).get("tests")
                 or not set(mapping[name]["tests"]) <= ours]
    return len(ran) - len(uncovered), len(ran), uncovered


def measure(endpoint: str, registry: Registry, tmp: Path) -> tuple[list, list[str]]:
    binary = critest.build()
    critest.push_stand_ins(registry.url)
    work = REPO / "reports" / "critest"  # kept: its logs and JSON reports show each failure
    critest_runs, critest_seconds = {}, {}
    for n in (1, 2):
        out = work / str(n)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.monotonic()
        critest_runs[n] = critest.run(binary, endpoint, out, out / "critest.log", parallel=n)
        critest_seconds[n] = time.monotonic() - started
    run = critest_runs[1]  # the serial run's specs are the ones reported and mapped
    serial_xml, parallel_xml = tmp / "serial.xml", tmp / "parallel.xml"
    empty = our_suite(endpoint, None, "--collect-only")
    serial = our_suite(endpoint, serial_xml)
    parallel = our_suite(endpoint, parallel_xml, "-n", "2", "--dist", "loadgroup")
    serial_cases, parallel_cases = cases(serial_xml), cases(parallel_xml)
    # file::test as the coverage file names them; a parametrized test by any case that ran.
    ran = {f"{c.classname.split('.')[-1]}.py::{c.name.split('[')[0]}" for c in serial_cases
           if not c.is_skipped}
    mapping = yaml.safe_load(COVERAGE.read_text())["specs"]
    covered, critest_ran, uncovered = coverage(run, ran, mapping)
    # Every Linux spec of critest, also those it skipped here (NRI, user namespaces, AppArmor
    # on this host): which have a test of ours at all. Its benchmarks are no checks.
    checks = {name: m for name, m in mapping.items() if "benchmark" not in name}
    mapped = sum(1 for m in checks.values() if m["tests"])
    figures = [
        results.Figure("CRI suite serial vs critest serial", round(serial, 1), "s",
                       "critest", round(critest_seconds[1], 1),
                       results.Target(0.5, of="ratio"),
                       note="same private containerd 1.6, one after the other"),
        results.Figure("CRI suite -n 2 vs critest -parallel 2", round(parallel, 1), "s",
                       "critest -parallel 2", round(critest_seconds[2], 1),
                       results.Target(0.5, of="ratio"), note="critest through the ginkgo CLI"),
        results.Figure("CRI suite -n 2 vs serial", round(parallel, 1), "s",
                       "CRI suite serial", round(serial, 1)),
        results.Figure("CRI suite -n 2 vs empty pytest", round(parallel, 1), "s",
                       "pytest --collect-only", round(empty, 1),
                       results.Target(TARGET_SECONDS)),
        results.Figure("critest specs covered by a CRI suite test", covered, "specs",
                       "critest specs run", critest_ran,
                       results.Target(1.0, of="ratio", at_most=False),
                       note=f"{len(uncovered)} uncovered (suites/cri/critest-coverage.yaml)"),
        results.Figure("critest specs with a CRI suite test, run here or not", mapped, "specs",
                       "critest specs (benchmarks left out)", len(checks),
                       results.Target(1.0, of="ratio", at_most=False),
                       note="the rest name why in the coverage file (containerd 1.6 lacks "
                            "the feature, or no test of its own)"),
    ]
    critest_failed = [name for name, state in run.specs.items() if state == "failed"]
    slowest = sorted(serial_cases, key=lambda c: c.time, reverse=True)[:10]
    details = [
        *(f"critest v{critest.DEFAULT_VERSION} {how}: {len(r.specs)} specs: "
          f"{counts(list(r.specs.values()))} in {critest_seconds[n]:.1f} s (exit "
          f"{r.returncode}; log and JSON report in reports/critest/{n}/)"
          for how, (n, r) in zip(("serial", "-parallel 2"), critest_runs.items(), strict=True)),
        f"CRI suite serial: {len(serial_cases)} tests: "
        f"{counts([outcome(c) for c in serial_cases])} in {serial:.1f} s",
        f"CRI suite -n 2: {counts([outcome(c) for c in parallel_cases])} in {parallel:.1f} s",
        *(f"CRI suite failed ({how}): {c.name}" for how, run_cases in
          (("serial", serial_cases), ("-n 2", parallel_cases))
          for c in run_cases if outcome(c) == "failed"),
        *(f"critest failed: {name}" for name in critest_failed),
        *(f"critest spec skipped here: {spec}: {why}" for spec, why in critest.SKIPPED.items()),
        *(["(critest >= 1.31 wants OK from idempotent stop/remove of a missing object; "
           "containerd 1.6 answers NOT_FOUND, which kubelet accepts and the CRI suite records "
           "as a property)"] if any("Idempotence" in name for name in critest_failed) else []),
        *(f"uncovered critest spec: {name}" for name in uncovered),
        "ten slowest CRI suite tests (serial): "
        + "; ".join(f"{c.name} {c.time:.1f} s" for c in slowest),
    ]
    return figures, details


def main() -> int:
    pause = images.build("pause")
    base = Path(tempfile.mkdtemp(prefix="hc-cri-bench-"))
    containerd = Containerd(ContainerdConfig(base_dir=base / "containerd", bridge="hc-crib0",
                                             subnet="10.91.250.0/24", sandbox_image=pause.ref,
                                             registry_config_dir=base / "certs.d"))
    registry = Registry(RegistryConfig(base_dir=base / "registry"))
    try:
        containerd.start()
        registry.start()
        critest.mirror_registries(registry, base / "certs.d")
        load.into_containerd(containerd.address, pause)
        figures, details = measure(containerd.endpoint, registry, base)
    finally:
        registry.stop()
        containerd.stop(purge=True)
        shutil.rmtree(base, ignore_errors=True)
    entry = results.record("cri_suite", figures, details=details)
    print("\n".join(entry["details"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
