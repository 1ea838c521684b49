"""Ctrl-C during a playbook run, in two steps, so that no node is cut off in the middle of a step
by an impatient key press:

- the first SIGINT asks for a stop between batches: the stop file it writes makes the playbooks
  that work in batches end the play before the next batch starts (their first task), while the
  nodes of the batch in flight finish;
- a second SIGINT stops Ansible at once (ansible-runner's cancel): the nodes in flight keep
  their recorded progress, and a rerun resumes them.

ansible-playbook runs in its own session (ansible-runner gives it a pty), so a terminal's Ctrl-C
reaches only the harness, which decides."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STOP_FILE = "stop-requested"


@dataclass
class Interrupts:
    stop_file: Path
    count: int = 0

    @property
    def cancelled(self) -> bool:
        """A second Ctrl-C: stop Ansible now."""
        return self.count >= 2


@contextmanager
def two_step_interrupt(private: Path, say: Callable[[str], None]) -> Iterator[Interrupts]:
    """Catch SIGINT while the block runs (main thread only: signals are delivered there)."""
    state = Interrupts(private / STOP_FILE)
    state.stop_file.unlink(missing_ok=True)

    def on_sigint(_signum, _frame) -> None:
        state.count += 1
        if state.count == 1:
            state.stop_file.write_text("interrupted\n")
            say("Ctrl-C: the nodes in flight finish their batch and no further batch starts "
                "(Ctrl-C again stops Ansible at once; a rerun resumes either way)")
        else:
            say("Ctrl-C again: stopping Ansible now; the nodes in flight keep their recorded "
                "progress")

    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
