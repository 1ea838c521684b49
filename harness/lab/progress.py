"""Progress lines on stderr, one per node and step, so a slow `lab up` shows where it is."""

import sys
import time

_START = time.monotonic()


def say(step: str, node: str = "lab") -> None:
    print(f"[{time.monotonic() - _START:6.1f}s] {node}: {step}", file=sys.stderr, flush=True)
