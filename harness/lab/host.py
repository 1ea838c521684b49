"""Running host commands for the lab: one place that turns a failure into StepFailed with the
command and the tail of its output, and a missing binary into MissingToolError."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessTimeout, MissingToolError, StepFailed


def run(
    argv: Sequence[str],
    *,
    log: Path | None = None,
    check: bool = True,
    timeout: float | None = 120,
) -> subprocess.CompletedProcess:
    """Run argv; output goes to `log` (appended) when given, else is captured."""
    try:
        if log is None:
            result = subprocess.run(
                list(argv), capture_output=True, text=True, timeout=timeout
            )
        else:
            with open(log, "a") as out:
                out.write(f"$ {' '.join(argv)}\n")
                out.flush()
                result = subprocess.run(
                    list(argv), stdout=out, stderr=subprocess.STDOUT, text=True,
                    timeout=timeout,
                )
    except FileNotFoundError as err:
        raise MissingToolError(f"{argv[0]} not found", hint="run scripts/setup.sh") from err
    except subprocess.TimeoutExpired:
        raise HarnessTimeout(f"`{' '.join(argv)}` did not finish within {timeout:.0f}s",
                             hint=f"its log is {log}" if log else None) from None
    if check and result.returncode != 0:
        detail = _tail(log) if log else (result.stderr or result.stdout).strip()[-400:]
        raise StepFailed(
            f"`{' '.join(argv)}` exited with code {result.returncode}",
            hint=f"{detail}" + (f" (full log: {log})" if log else ""),
        )
    return result


def _tail(log: Path, lines: int = 5) -> str:
    text = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:])
