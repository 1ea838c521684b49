"""Fact: whether the kernel refuses a negative oom_score_adj even to root (see the lab notes),
and why. Runtimes then need restrict_oom_score_adj (containerd) or a clamping wrapper (Docker).

Node-side (see harness_node): standard library only; the source is the probe run on a node."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

# os.write, not open().write: a buffered write's error is lost when the file closes at exit.
_TRY_NEGATIVE = (
    "import os; fd = os.open('/proc/self/oom_score_adj', os.O_WRONLY); os.write(fd, b'-1')"
)


@dataclass(frozen=True)
class OomFacts:
    negative_refusal: str | None  # why a negative oom_score_adj is refused; None if allowed

    @property
    def negative_refused(self) -> bool:
        return self.negative_refusal is not None


def probe() -> dict:
    """Try -1 in a child (never in this process: it could not be undone)."""
    child = subprocess.run([sys.executable, "-c", _TRY_NEGATIVE], capture_output=True,
                           text=True, timeout=10)
    if child.returncode == 0:
        return {"negative_refusal": None}
    last = (child.stderr.strip().splitlines() or ["refused"])[-1]
    return {"negative_refusal": "this host refuses a negative /proc/self/oom_score_adj even "
                                f"for root ({last})"}


def record(raw: dict) -> OomFacts:
    return OomFacts(**raw)


if __name__ == "__main__":
    print(json.dumps(probe()))
