"""Where a run's progress goes: one event per node and step (`[worker-1] migrate ...`).

In CI (CI set) or when stderr is not a terminal, each event is one plain line on stderr, so logs
and tests read them as they are. On a terminal, `board()` adds a live table (rich) under the
scrolling lines: a row per node with its latest step and how long it has been at it, which is
what a person watching a long migration wants to know at a glance.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()  # node jobs report from worker threads
_board: _Board | None = None


def progress(node: str, message: str) -> None:
    """Report one event of `node` (a node name, `cluster`, or several names joined by ", ")."""
    with _lock:
        if _board is not None:
            _board.event(node, message)
        else:
            print(f"[{node}] {message}", file=sys.stderr, flush=True)


def live_wanted() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def board() -> Iterator[None]:
    """A live per-node table on the terminal while the block runs; nothing elsewhere."""
    global _board
    if not live_wanted():
        yield
        return
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    state = _Board(console)
    with Live(state, console=console, refresh_per_second=4, transient=True):
        with _lock:
            _board = state
        try:
            yield
        finally:
            with _lock:
                _board = None


class _Board:
    """The live table's state; rich calls __rich__ on every refresh, so the times tick."""

    def __init__(self, console):
        self.console = console
        self.started = time.monotonic()
        self.rows: dict[str, tuple[str, float, int]] = {}  # node -> step, since, events

    def event(self, node: str, message: str) -> None:
        from rich.text import Text

        # The line scrolls above the table and stays in the terminal's history; messages are
        # text (test ids carry brackets), never rich markup.
        self.console.print(Text.assemble((f"[{node}]", "bold"), " ", message), soft_wrap=True)
        for name in node.split(", "):
            count = self.rows.get(name, ("", 0.0, 0))[2]
            self.rows[name] = (message, time.monotonic(), count + 1)

    def __rich__(self):
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        table = Table(title=f"harness run · {now - self.started:.0f}s", title_justify="left",
                      expand=False)
        table.add_column("node", no_wrap=True)
        table.add_column("step")
        table.add_column("for", justify="right", no_wrap=True)
        table.add_column("events", justify="right")
        for name, (step, since, count) in self.rows.items():
            style = "red" if any(w in step for w in ("failed", "stopped", "REGRESSION")) else ""
            table.add_row(Text(name), Text(step), f"{now - since:.0f}s", str(count), style=style)
        return table
