"""A suite run as its tests see it: the outcome of each named test, read from the JUnit the
suite wrote (for the tests that run suites/cri and suites/smoke in a subprocess)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped


@dataclass
class SuiteRun:
    """Outcome per test name (`test_x[param]`, without module) of one suite run."""

    outcomes: dict[str, str]
    returncode: int
    output: str

    def of(self, name: str) -> str:
        return self.outcomes.get(name, "missing")

    def named(self, outcome: str) -> set[str]:
        return {name for name, got in self.outcomes.items() if got == outcome}


def read_junit(path: Path) -> dict[str, str]:
    outcomes = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            kinds = {type(r) for r in case.result}
            outcome = ("error" if Error in kinds else "failed" if Failure in kinds
                       else "skipped" if Skipped in kinds else "passed")
            if outcomes.get(case.name) in ("failed", "error"):
                continue  # a teardown error must not hide the call's failure
            outcomes[case.name] = outcome
    return outcomes
