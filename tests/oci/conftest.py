"""Fixtures for the OCI area's tests: run suites/oci in a subprocess (as a user would) and
read its JUnit report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

REPO = Path(__file__).resolve().parents[2]
BROKEN_RUNTIME = Path(__file__).with_name("broken_runtime.py")
REAL_RUNC = "/usr/sbin/runc"


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    outcomes: dict[str, str]  # test name without the runtime id -> passed/failed/error/skipped
    output: str

    def failed(self) -> set[str]:
        return {name for name, outcome in self.outcomes.items() if outcome == "failed"}


def outcome_of(case) -> str:
    kinds = {type(result) for result in case.result}
    if Failure in kinds:
        return "failed"
    if Error in kinds:
        return "error"
    return "skipped" if Skipped in kinds else "passed"


def plain_name(name: str) -> str:
    """`test_x[runc-1.1.5-CapEff]` -> `test_x[CapEff]`; `test_y[runc-1.1.5]` -> `test_y`."""
    name = re.sub(r"(?<=\[)[a-z]+-\d+(?:\.\d+)*-?", "", name)
    return name.replace("[]", "")


@pytest.fixture
def run_suite(tmp_path):
    """Run `pytest suites/oci ARGS` as a user would; with `fault`, against the broken runtime
    (fault `none`: the same wrapper, breaking nothing)."""

    def run(
        *args: str, fault: str | None = None, path: str = "suites/oci", timeout: float = 240
    ) -> SuiteRun:
        report = tmp_path / f"junit-{fault or 'plain'}.xml"
        env = {**os.environ, "OCI_REAL_RUNTIME": REAL_RUNC, "OCI_FAULT": fault or "none"}
        runtime = ["--oci-runtime", str(BROKEN_RUNTIME)] if fault else []
        done = subprocess.run(
            [sys.executable, "-m", "pytest", path, "-p", "no:cacheprovider", "-q",
             f"--junitxml={report}", *runtime, *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        outcomes = {
            plain_name(case.name): outcome_of(case)
            for suite in JUnitXml.fromfile(str(report))
            for case in suite
        }
        return SuiteRun(done.returncode, outcomes, done.stdout[-4000:] + done.stderr[-2000:])

    return run
