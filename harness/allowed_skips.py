"""Skips a gate accepts, shipped per suite (`suites/<suite>/allowed-skips.yaml`): each entry
names the tests, the runtimes it holds for, words the skip's reason must carry, and why the
behaviour cannot be checked there. With `--strict-skips` every other skip is a failure: a
capability that should have been tested was not, and a green gate would hide it. The suites'
pytest plugins (suites/*/conftest.py) take both options from add_options and enforce them with
enforce_configured."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness import files
from harness.errors import InputError

FIELDS = ("test", "runtime", "message", "why")


@dataclass(frozen=True)
class AllowedSkip:
    test: str  # shell pattern on the test's name with parameters ("[" is literal, "*" any)
    runtime: str  # fnmatch pattern on "<runtime> <version>", e.g. "containerd 1.6.*"
    message: str  # a substring of the skip's reason
    why: str  # why this is no missing check: what the runtime or the host cannot do

    def allows(self, test: str, runtime: str | None, message: str) -> bool:
        """Whether this entry allows the skip; runtime None: on any runtime."""
        # "[" would open a character class: test ids carry parameters in brackets.
        return (fnmatch.fnmatchcase(test, self.test.replace("[", "[[]"))
                and (runtime is None or fnmatch.fnmatchcase(runtime, self.runtime))
                and self.message in message)


def load(path: Path) -> list[AllowedSkip]:
    try:
        entries = yaml.safe_load(files.read_text(path, "allowed-skips list")) or []
    except yaml.YAMLError as err:
        raise InputError(f"{path}: {err}", hint="fix the YAML") from err
    allowed = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or sorted(entry) != sorted(FIELDS) or not all(
                isinstance(entry[f], str) and entry[f] for f in FIELDS):
            raise InputError(f"{path}: entry {index + 1} needs exactly {', '.join(FIELDS)} "
                             "as non-empty strings", hint="see the file's header")
        allowed.append(AllowedSkip(**entry))
    return allowed


def add_options(group, default: Path) -> None:
    """A suite's --strict-skips and --allowed-skips (its own list by default)."""
    group.addoption("--strict-skips", action="store_true",
                    help="fail on a skip that allowed-skips.yaml does not allow for this "
                    "runtime (every harness command passes it: a capability left untested "
                    "fails the gate)")
    group.addoption("--allowed-skips", metavar="FILE", default=str(default),
                    help="the skips --strict-skips accepts (default: the suite's own list)")


def configure(config) -> None:
    """config.allowed_skips: the list --strict-skips enforces (None without it); a bad list is
    pytest's usage error, in one line."""
    config.allowed_skips = None
    if config.getoption("strict_skips", False):
        import pytest  # the suites' plugins only

        try:
            config.allowed_skips = load(Path(config.getoption("allowed_skips")))
        except InputError as err:
            raise pytest.UsageError(str(err)) from err


def enforce_configured(item, report, runtime: str | None) -> None:
    """enforce() with the list configure() loaded, if --strict-skips was given."""
    allowed = getattr(item.config, "allowed_skips", None)
    if allowed is not None:
        enforce(report, allowed, runtime, item.config.getoption("allowed_skips"))


def skip_reason(report) -> str | None:
    """The reason of a pytest report that is a plain skip (an xfail is a deviation listed
    elsewhere, never a skip here); None for any other outcome."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return None
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def enforce(report, allowed: list[AllowedSkip], runtime: str | None, source: str) -> None:
    """Turn `report` into a failure when it is a skip no entry of `source` allows for
    `runtime` (None: a suite of no one runtime, such as the smoke suite's cluster)."""
    reason = skip_reason(report)
    test = report.nodeid.rpartition("::")[2]
    if reason is None or any(entry.allows(test, runtime, reason) for entry in allowed):
        return
    report.outcome = "failed"
    report.longrepr = (f"skipped, and no entry of {source} allows this skip for "
                       f"{runtime or 'any runtime'}: "
                       f"{reason} (--strict-skips: a capability left untested fails the gate)")
