"""argparse types for the numeric flags: a whole count or a number of seconds, finite and in
its range. Anything else (a word, `nan`, `inf`, a negative or huge number) is a usage error
naming the flag (exit 2) before the command does anything."""

from __future__ import annotations

import argparse
import math

DAY = 86400
MAX_FORKS = 1000  # nodes worked on at once, or in one batch
MAX_WORKERS = 64  # pytest workers on one node
MAX_RETRIES = 100
MAX_TESTS = 10**9  # a skip budget beyond any run's test count


def _shown(text: str) -> str:
    return repr(text if len(text) <= 24 else f"{text[:20]}...")


def count(low: int, high: int):
    """A whole number from `low` to `high`."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:  # a word, a fraction, or more digits than int() takes
            raise argparse.ArgumentTypeError(
                f"{_shown(text)} is not a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not from {low} to {high}")
        return value
    return parse


def seconds(high: float = DAY):
    """A finite number of seconds, more than 0 and at most `high` (float() takes nan and inf)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_shown(text)} is not a number of seconds") \
                from None
        if not math.isfinite(value) or not 0 < value <= high:
            raise argparse.ArgumentTypeError(
                f"{_shown(text)} is not a number of seconds above 0 and at most {high:g}")
        return value
    return parse
