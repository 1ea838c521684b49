"""Errors the CLI turns into one-line messages and documented exit codes.

Exit codes: 0 all passed, 1 test or step failures, 2 usage or input errors,
3 unreachable node or timeout.
"""

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class HarnessError(Exception):
    """An error with a message fit to print on one line, and the exit code it maps to."""

    exit_code = EXIT_FAILURES

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message


class InputError(HarnessError):
    """Bad input: inventory, flags, configs, recipes. Names the file, field and remedy."""

    exit_code = EXIT_USAGE


class MissingToolError(InputError):
    """A binary or daemon the command needs is absent: say what to install or start."""


class UnreachableError(HarnessError):
    """A node or endpoint that cannot be reached."""

    exit_code = EXIT_UNREACHABLE


class HarnessTimeout(UnreachableError):
    """An operation that ran out of time; same exit code as unreachable."""


class StepFailed(HarnessError):
    """A step or test that ran and failed."""

    exit_code = EXIT_FAILURES
