"""A run's plan: which nodes of which inventory, in which batches, under which gate policy, with
the cluster checked, before anything runs. Every command that works on nodes parses its flags
into one (from_args), and the pipeline builds one over its provider's nodes (build); what runs
below takes it as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import files
from harness.errors import InputError
from harness.gate_policy import GatePolicy
from harness.inventory import Inventory, Node, load_inventory, load_inventory_or_none
from harness.lab import state
from harness.migration import cluster_check

# Orders a run's nodes into batches (harness.migration.batches); the default is one batch.
Order = Callable[[list[str]], list[list[str]]]
DEFAULT_POLICY = GatePolicy()  # frozen: one shared default


@dataclass(frozen=True)
class RunPlan:
    inventory: Inventory  # its cluster's kubeconfig checked and set
    batches: tuple[tuple[str, ...], ...]  # the run's nodes in order; the canary's batch first
    out: Path  # checked: JUnit, Ansible artifacts, results
    policy: GatePolicy = DEFAULT_POLICY
    subset: bool = False  # --node chose some of the inventory's nodes

    @property
    def nodes(self) -> list[str]:
        return [n for batch in self.batches for n in batch]

    @property
    def limit(self) -> tuple[str, ...]:
        """The nodes to limit a playbook to: () when the run is every node of the inventory."""
        return tuple(self.nodes) if self.subset else ()

    def targets(self) -> list[Node]:
        return [self.inventory.node(n) for n in self.nodes]


def build(inventory: Inventory, out: Path, nodes: list[str] | None = None,
          policy: GatePolicy = DEFAULT_POLICY, *, order: Order | None = None,
          cluster: bool = True, target: str | None = None, flag: str = "--to") -> RunPlan:
    """The plan over `nodes` (names of `inventory`; None: all) in `order`'s batches; with
    `cluster`, the inventory's kubeconfig must reach the cluster that holds them, whose kubelets
    can go to `target` if one is given (`flag` names where it came from)."""
    for name in nodes or ():
        inventory.node(name)  # an unknown name is an input error naming the inventory
    chosen = [n.name for n in inventory.nodes if nodes is None or n.name in nodes]
    batches = order(chosen) if order else [chosen]
    if cluster:
        cluster_check.check(inventory, chosen, target, flag)
    return RunPlan(inventory, tuple(tuple(b) for b in batches), out, policy,
                   subset=nodes is not None)


def from_args(args, *, order: Order | None = None, cluster: bool = True,
              target: str | None = None, flag: str = "--to",
              policy: GatePolicy = DEFAULT_POLICY) -> RunPlan:
    """The plan of a command line with phase.add_arguments' flags: -i (else $HARNESS_INVENTORY,
    else the lab's inventory), --kubeconfig, --node, --out; each checked in that order."""
    files.output_dir(args.out, "--out")
    return build(inventory_of(args), args.out, list(args.node) or None, policy, order=order,
                 cluster=cluster, target=target, flag=flag)


def inventory_of(args) -> Inventory:
    """The inventory that -i, $HARNESS_INVENTORY or --lab names, with its cluster's kubeconfig
    (--kubeconfig, else the inventory's) checked and set."""
    found = load_inventory_or_none(args.inventory)
    if found is None:
        path = state.lab_dir(args.lab) / "inventory.yaml"
        if not path.exists():
            raise InputError(f"no inventory given and no lab {args.lab!r} ({path} is missing)",
                             hint="pass -i FILE, or run `harness lab up --kubernetes 1.23.17`")
        found = load_inventory(path)
    kubeconfig = args.kubeconfig or found.cluster.kubeconfig
    if kubeconfig is None:
        raise InputError(f"{found.source}: no kubeconfig for the cluster",
                         hint="set kubeconfig under all.vars (or cluster:), or pass --kubeconfig")
    found.cluster.kubeconfig = files.kubeconfig(kubeconfig)
    return found
