"""A lock on each node a command changes, so that two runs never work on one node at once.

The lock is a file on the node (lock.json in the migration's state directory) naming its
holder: operator host, user, pid, start time and command. It is taken before anything changes
and removed on the way out, also after a failure or Ctrl-C. A lock whose holder is gone is
taken over: same operator host and the pid no longer runs, or older than MAX_AGE (a run killed
on another host leaves a lock nobody here can check). Taking and dropping happen under flock(1)
on the state directory, so two runs racing for a free or stale lock cannot both win."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from harness.errors import HarnessError, InputError, StepFailed
from harness.inventory import Node
from harness.transport import open_transport

LOCK_FILE = "lock.json"
# Older than this, a lock is stale whoever holds it: longer than any one run should take.
# HARNESS_LOCK_MAX_AGE (seconds) overrides it.
MAX_AGE = 24 * 3600
TAKEN, HELD = 0, 3
# argv: directory, then "take" with the sha256 of the content it may replace ("" for none), or
# "drop" with the sha256 of the content it may remove. Prints the lock in place when refused.
SCRIPT = r"""
dir=$1 mode=$2 expect=$3 file=$1/lock.json
mkdir -p -m 0700 "$dir" && exec 9<"$dir" && flock -w 30 9 || exit 2
now=$( [ -e "$file" ] && sha256sum "$file" | cut -c1-64 )
if [ "$mode" = drop ]; then
  [ "$now" = "$expect" ] && rm -f "$file"
  exit 0
fi
if [ -n "$now" ] && [ "$now" != "$expect" ]; then
  echo "$now"; cat "$file"; exit 3
fi
cat > "$file.tmp" && mv "$file.tmp" "$file"
"""


@dataclass(frozen=True)
class Holder:
    host: str
    user: str
    pid: int
    started: float  # epoch seconds
    command: str

    @classmethod
    def this_process(cls, command: str) -> Holder:
        return cls(socket.gethostname(), getpass.getuser(), os.getpid(), time.time(), command)

    @property
    def text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started))
        return f"`{self.command}` (pid {self.pid}, {self.user}@{self.host}, since {since})"

    def gone(self) -> bool:
        """True when the holder cannot still be running: its pid is gone from this operator
        host, or the lock is older than the maximum age."""
        if time.time() - self.started > max_age():
            return True
        return self.host == socket.gethostname() and not _pid_runs(self.pid)


class NodeLocked(InputError):
    """Another run holds the node: refused like bad input (exit 2), before anything changed."""


def max_age() -> float:
    return float(os.environ.get("HARNESS_LOCK_MAX_AGE", MAX_AGE))


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True


def _script(node: Node, directory: str, mode: str, expect: str, text: str = ""):
    with open_transport(node) as t:
        return t.run(["sh", "-c", SCRIPT, "harness-lock", directory, mode, expect],
                     input=text, timeout=60)


def acquire(node: Node, directory: str, me: Holder) -> None:
    """Take the node's lock for `me`, taking over a stale one; NodeLocked names a live
    holder."""
    expect = ""
    for _ in range(2):  # the second try replaces the stale lock seen in the first
        done = _script(node, directory, "take", expect, me.text)
        if done.exit_code == TAKEN:
            return
        path = f"{directory}/{LOCK_FILE}"
        if done.exit_code != HELD:
            raise StepFailed(f"node {node.name}: cannot take the lock {path}",
                             hint=(done.stderr.strip() or done.stdout.strip())[-300:])
        seen, _, content = done.stdout.partition("\n")
        try:
            holder = Holder(**json.loads(content))
        except (ValueError, TypeError):
            raise NodeLocked(f"node {node.name}: lock {path} is not one this harness wrote",
                             hint="remove it on the node if no other run is working there"
                             ) from None
        if not holder.gone():
            raise NodeLocked(f"node {node.name} is locked by {holder.describe()}",
                             hint=f"wait for that run to end (or remove {path} on the node if "
                             "it is gone)")
        expect = seen.strip()
    raise NodeLocked(f"node {node.name}: lock {path} changed hands while being taken over",
                     hint="another run took it: try again once it ends")


def release(node: Node, directory: str, me: Holder) -> None:
    """Remove the node's lock if it is still `me`'s (a stale-lock takeover may have replaced
    it)."""
    _script(node, directory, "drop", me.sha256)


@contextmanager
def held(nodes: list[Node], command: str, directory: Callable[[Node], str]) -> Iterator[Holder]:
    """Every node of `nodes` locked for this process while the block runs; each lock is in
    `directory(node)` and released on the way out (also on error or KeyboardInterrupt)."""
    me = Holder.this_process(command)
    taken: list[Node] = []
    try:
        for node in nodes:
            acquire(node, directory(node), me)
            taken.append(node)
        yield me
    finally:
        for node in reversed(taken):
            try:
                release(node, directory(node), me)
            except HarnessError as err:  # the others are still released; this one goes stale
                print(f"harness: node {node.name}: lock not released: {err}", file=sys.stderr)
