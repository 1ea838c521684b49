"""A lab's record on disk: its slot (bridge and subnet), image and nodes, written before any
host object is created so that `lab down` and a repairing `lab up` can find everything.

Layout under state_root()/<lab>/: lab.json, id_ed25519[.pub] (the lab's user key),
ssh_config, known_hosts, inventory.yaml, and nodes/<node>/ (root overlay, docker and containerd
data, machine log)."""

from __future__ import annotations

import argparse
import fcntl
import json
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.errors import InputError
from harness.lab.network import MAX_SLOTS, LabNetwork, link_exists
from harness.lab.paths import state_root

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")
DEFAULT_LAB = "hl"
MAX_NODES = 20  # nodes in one lab
NAME_RULE = "1-8 lowercase letters or digits starting with a letter"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"--name: lab name {name!r} is not {NAME_RULE}",
                         hint=f"for example --name {DEFAULT_LAB}2")
    return name


def name_arg(value: str) -> str:
    """argparse type of `lab --name` and of every `--lab`: a lab's name, never a path (the
    name becomes a directory under the state root, a bridge and cgroup names)."""
    if not NAME_RE.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not {NAME_RULE}")
    return value


@dataclass
class NodeRecord:
    index: int
    name: str
    address: str
    cgroups: list[str] = field(default_factory=list)
    machine_pid: int | None = None


@dataclass
class LabRecord:
    name: str
    slot: int
    image: str = ""
    nodes: list[NodeRecord] = field(default_factory=list)

    @property
    def network(self) -> LabNetwork:
        return LabNetwork(self.name, self.slot)

    @property
    def dir(self) -> Path:
        return lab_dir(self.name)

    def node_dir(self, node: str) -> Path:
        return self.dir / "nodes" / node

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "lab.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(self.dir / "lab.json")


def lab_dir(name: str) -> Path:
    return state_root() / check_name(name)


def load(name: str) -> LabRecord | None:
    try:
        raw = json.loads((lab_dir(name) / "lab.json").read_text())
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise InputError(
            f"{lab_dir(name) / 'lab.json'} is not valid JSON ({err})",
            hint=f"run `harness lab down --name {name}` to clear the lab",
        ) from None
    raw["nodes"] = [NodeRecord(**n) for n in raw.get("nodes", [])]
    return LabRecord(**raw)


def all_labs() -> list[LabRecord]:
    root = state_root()
    if not root.is_dir():
        return []
    return [lab for d in sorted(root.iterdir()) if d.is_dir() and (lab := load(d.name))]


@contextmanager
def registry_lock():
    """Serializes lab creation and removal across processes (slots must not collide)."""
    state_root().mkdir(parents=True, exist_ok=True)
    with open(state_root() / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def claim(name: str) -> LabRecord:
    """The lab's record, creating it with the first free slot. Call under registry_lock()."""
    existing = load(name)
    if existing:
        return existing
    # A bridge of another state root (another user, a test's temporary root) also takes a slot.
    used = {lab.slot for lab in all_labs()} | {
        s for s in range(MAX_SLOTS) if link_exists(LabNetwork(name, s).bridge)
    }
    free = next((s for s in range(MAX_SLOTS) if s not in used), None)
    if free is None:
        raise InputError(
            f"all {MAX_SLOTS} lab slots are in use",
            hint="remove a lab with `harness lab down --name NAME`",
        )
    record = LabRecord(name=name, slot=free)
    record.save()
    return record
