"""The one command line every suite runs with, wherever it runs: `harness run`'s node suites
(staged on the node), `harness conformance` (here, or staged on inventory nodes), the
conformance matrix's cells and the smoke suite.

    python -m pytest <suites>/<suite> --rootdir=<suites>/.. -p no:cacheprovider -q
        --junitxml=FILE <the gate policy's suite args> <the caller's args>

The rootdir keeps test ids, and so the JUnit classnames dashboards group by, `suites/<suite>/
...` from a checkout, a wheel and a node's stage alike; the gate policy's args (strict skips)
are never left out, so every launch is judged the same way."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import PurePath

from harness import paths
from harness.gate_policy import GatePolicy


def argv(suite: str, junit: str | PurePath, policy: GatePolicy, args: Iterable[str] = (), *,
         python: str = sys.executable, suites_dir: str | PurePath | None = None) -> list[str]:
    """The command for suites/<suite> (`suites_dir`: where the suites are, default this
    machine's shipped copy; a relative one is taken from the command's working directory)."""
    where = PurePath(suites_dir) if suites_dir is not None else paths.shipped("suites")
    return [python, "-m", "pytest", str(where / suite), f"--rootdir={where.parent}",
            "-p", "no:cacheprovider", "-q", f"--junitxml={junit}", *policy.suite_args, *args]
