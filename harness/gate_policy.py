"""What a green run means, decided in one place for every entry point: `harness run`,
`harness conformance` (here, on an inventory's nodes, and each cell of `--matrix`), `harness
smoke` and `harness report` all build a GatePolicy from the same flag and let it decide.

* Strict skips: every suite runs with --strict-skips, so a skip that the suite's
  allowed-skips.yaml does not allow for the runtime fails (a capability left untested).
* The all-skipped rule: a suite that ran tests and skipped every one checked nothing: it fails.
* The skip budget (--max-skipped N): more than N test skips fail the run. Only test skips spend
  it: a harness step not run (an Ansible task whose condition was false, a phase blocked by an
  earlier failure) and a strict xfail (a documented deviation failing as expected) are counted
  apart (harness.junit).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import flags, junit
from harness.errors import EXIT_FAILURES, EXIT_OK, EXIT_UNREACHABLE

STRICT_SKIPS = "--strict-skips"  # the suites' own flag (suites/*/conftest.py)


def add_flags(parser) -> None:
    parser.add_argument("--max-skipped", type=flags.count(0, flags.MAX_TESTS), default=None,
                        metavar="N",
                        help="fail when more than N tests were skipped (steps not run and "
                        "expected deviations do not count); default: no limit, but a suite "
                        "that skipped every test always fails, and so does any skip its "
                        "allowed-skips.yaml does not allow")


@dataclass(frozen=True)
class GatePolicy:
    max_skipped: int | None = None  # the skip budget; None: no limit

    @classmethod
    def from_args(cls, args) -> GatePolicy:
        """The policy of a command line that has add_flags' options (argparse checked them)."""
        return cls(args.max_skipped)

    @property
    def suite_args(self) -> tuple[str, ...]:
        """What every conformance and smoke suite is run with."""
        return (STRICT_SKIPS,)

    def problems(self, summary: junit.Summary) -> list[str]:
        """Why a run without a failing test still fails: what it left unchecked."""
        found = []
        empty = [f"{s.node} {s.suite}" for s in summary.all_skipped()]
        if empty:
            found.append(f"every test skipped in {', '.join(empty)}")
        skipped = summary.total().tests_skipped
        if self.max_skipped is not None and skipped > self.max_skipped:
            found.append(f"{skipped} tests skipped, more than --max-skipped {self.max_skipped}")
        return found

    def exit_code(self, summary: junit.Summary) -> int:
        """3 if a node was unreachable or timed out, else 1 on any failure or error or any
        problem above, else 0."""
        total = summary.total()
        if total.unreachable:
            return EXIT_UNREACHABLE
        if total.failures or total.errors or self.problems(summary):
            return EXIT_FAILURES
        return EXIT_OK

    def format(self, summary: junit.Summary) -> str:
        """The summary table and, under it, each problem as a FAILED line."""
        return "\n".join([junit.format_summary(summary),
                          *(f"FAILED: {p}" for p in self.problems(summary))])

    def verdict(self, merged) -> tuple[int, str]:
        """A merged JUnit judged: the exit code, and what a command prints for it (the
        summary, its problems, each failing test)."""
        summary = junit.verify(merged)
        failing = junit.format_failures(merged)
        return self.exit_code(summary), "\n".join(filter(None, [self.format(summary), failing]))


NO_BUDGET = GatePolicy()  # strict skips and the all-skipped rule, any number of skips
