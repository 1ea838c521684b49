"""The order `harness migrate` works through the nodes: the canary batch, the batches named with
--batch, then the other nodes --batch-size at a time. The playbook gets the nodes in that order
(harness_nodes) and the batch sizes (harness_serial), which Ansible's `serial` follows."""

from __future__ import annotations

from harness.errors import InputError


def plan(nodes: list[str], canary: str, batch_size: int,
         named: list[str] = ()) -> list[list[str]]:
    """Batches of `nodes` (the run's nodes, in inventory order). `canary` is a count ("1": the
    first nodes no batch names) or comma-separated node names; each of `named` is one batch of
    comma-separated names. A node may be in one batch only."""
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1",
                         hint="the number of nodes migrated at once after the canary")
    batches: list[list[str]] = []
    where: dict[str, str] = {}

    def add(flag: str, value: str, names: list[str]) -> None:
        for name in names:
            if name not in nodes:
                raise InputError(f"{flag} {value}: {name!r} is not a node of this run",
                                 hint=f"nodes are: {', '.join(nodes)}")
            if name in where:
                raise InputError(f"{flag} {value}: node {name} is already in {where[name]}",
                                 hint="name each node in one batch only")
            where[name] = f"batch {len(batches) + 1} ({flag} {value})"
        batches.append(names)

    if canary.lstrip("-").isdigit():
        count = int(canary)
        if count < 0:
            raise InputError(f"--canary {canary}: must be 0 or more",
                             hint="a number of nodes, or node names separated by commas")
        if count:  # the first nodes that no --batch names
            in_batches = {n for value in named for n in _names(value)}
            add("--canary", canary, [n for n in nodes if n not in in_batches][:count])
    else:
        add("--canary", canary, _names(canary))
    for value in named:
        add("--batch", value, _names(value))
    rest = [n for n in nodes if n not in where]
    batches += [rest[i:i + batch_size] for i in range(0, len(rest), batch_size)]
    return batches


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]
